"""The cmdlets InvokeCommand can run, one module per cmdlet family, found by a registry.

A module registers its handlers with :func:`cmdlet`::

    @cmdlet("Get-BlockedConnector")
    def get_blocked(tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext)
        -> list[dict[str, Any]]: ...

A handler returns the records of the ``value`` array or raises :class:`SimCmdletError`, which the
app turns into the service's error body. ``write=True`` marks cmdlets that change something: they
need a token carrying a write role (Exchange Administrator), else 403. Every module of this package
is imported by :func:`load_all`, so adding a family is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftguard.sim.state import SimState, TenantState


@dataclass(frozen=True)
class CmdletContext:
    """Who runs the cmdlet, from where, and when (audit records are made from it)."""

    sim: SimState
    now: datetime
    user: str  # UserId of audit records: a UPN, or the app's display name for app-only tokens
    app_id: str | None = None
    client_ip: str = "127.0.0.1"
    can_write: bool = True
    external_access: bool = False
    result_size_default: int = 1000
    warnings: list[str] = field(default_factory=list)  # handlers append @adminapi.warnings here
    # Paging: a handler that returned only part of the result sets "more" here; the app then adds
    # an @odata.nextLink (which, like the real service's, cannot be followed).
    extras: dict[str, Any] = field(default_factory=dict)


class SimCmdletError(Exception):
    """A cmdlet failure in the service's shape: ``|<exception type>|<text>`` in details."""

    def __init__(
        self,
        message: str,
        *,
        exception_type: str = "Microsoft.Exchange.Configuration.Tasks.TaskException",
        status: int = 400,
        code: str = "BadRequest",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exception_type = exception_type
        self.status = status
        self.code = code

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": "Invalid Operation",
                "details": [{"message": f"|{self.exception_type}|{self.message}"}],
                "innererror": {
                    "message": self.message,
                    "type": self.exception_type,
                    "internalexception": {"message": self.message, "type": self.exception_type},
                },
            }
        }


BINDING = "System.Management.Automation.ParameterBindingException"
TRANSFORMATION = "System.Management.Automation.ParameterBindingArgumentTransformationException"


def unknown_parameter(key: str) -> SimCmdletError:
    """The service's error for a parameter the cmdlet does not have."""
    return SimCmdletError(
        f"A parameter cannot be found that matches parameter name '{key}'.",
        exception_type=BINDING,
    )


def missing_parameters(names: Sequence[str]) -> SimCmdletError:
    """The service's error for mandatory parameters left out, ``names`` in the order given."""
    return SimCmdletError(
        "Cannot process command because of one or more missing mandatory parameters: "
        + " ".join(names)
        + ".",
        exception_type=BINDING,
    )


Handler = Callable[["TenantState", Mapping[str, Any], CmdletContext], list[dict[str, Any]]]


@dataclass(frozen=True)
class Cmdlet:
    name: str
    handler: Handler
    write: bool


CMDLETS: dict[str, Cmdlet] = {}


def cmdlet(name: str, *, write: bool = False) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the implementation of cmdlet ``name`` (case-insensitive)."""

    def register(handler: Handler) -> Handler:
        CMDLETS[name.lower()] = Cmdlet(name, handler, write)
        return handler

    return register


def find(name: str) -> Cmdlet | None:
    load_all()
    return CMDLETS.get(name.lower())


_loaded = False


def load_all() -> None:
    """Import every module of this package once, so each registers its cmdlets and routes."""
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def parameter(parameters: Mapping[str, Any], name: str) -> Any:
    """A parameter by name, case-insensitively (PowerShell parameter names are)."""
    lowered = name.lower()
    for key, value in parameters.items():
        if key.lower() == lowered:
            return value
    return None
