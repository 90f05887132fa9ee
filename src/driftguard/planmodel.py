"""The plan as data: its actions and how their JSON-form values compare with live ones.

Shared by the planner (plan.py), the plan file (planfile.py), apply, rollback and the safety
checks, none of which needs the planner itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final, assert_never
from urllib.parse import quote

from driftguard import pwsh
from driftguard.jsontype import Json
from driftguard.properties import BY_NAME, Kind, Value

if TYPE_CHECKING:
    from driftguard.tenantstate import TenantState

PLAN_VERSION: Final = 3
"""2: what a person reads is rendered from the parameters (no stored summary or PowerShell text),
and a revert plan records the baseline digest and the whole live state it was made from.
3: containment actions on the user accounts that made the changes (revoke sessions, block or
re-enable sign-in through Microsoft Graph), and which credential each action needs."""
ABSENT: Final = "absent"
"""The precondition of a New: no live connector with that name (or pinned Guid) exists."""


class ActionKind(StrEnum):
    DISABLE = "disable"  # Set-InboundConnector -Enabled $false on an unknown connector
    REMOVE = "remove"  # Remove-InboundConnector (unknown connector, --remove-unknown)
    REVERT = "revert"  # Set-InboundConnector with the drifted properties' baseline values
    CREATE = "create"  # New-InboundConnector for a missing connector
    UNBLOCK = "unblock"  # Remove-BlockedConnector
    RESTORE = "restore"  # rollback: Set back to the journalled before-state
    REVOKE = "revoke"  # Graph POST /users/{id}/revokeSignInSessions (containment)
    BLOCK = "block"  # Graph PATCH /users/{id} accountEnabled false (containment, --block-sign-in)
    ENABLE = "enable"  # rollback of a block: PATCH /users/{id} accountEnabled true

    @property
    def on_account(self) -> bool:
        """Whether the action acts on a user account (Graph), not on a connector (Exchange)."""
        return self in ACCOUNT_KINDS


ACCOUNT_KINDS: Final = frozenset({ActionKind.REVOKE, ActionKind.BLOCK, ActionKind.ENABLE})
GRAPH_REVOKE: Final = "revokeSignInSessions"
GRAPH_UPDATE: Final = "updateUser"
SESSIONS_FROM: Final = "signInSessionsValidFromDateTime"
ENABLED: Final = "accountEnabled"


@dataclass(frozen=True)
class Action:
    """One planned write. A connector action names its connector (``connector``, ``guid``) and
    carries cmdlet parameters; an account action (``kind.on_account``) names the user by UPN in
    ``connector`` and by object id in ``guid``, and carries the Graph operation's parameters
    (``UserId``, and ``accountEnabled`` for an update); its precondition is the user's recorded
    ``accountEnabled`` and ``signInSessionsValidFromDateTime``."""

    id: str
    kind: ActionKind
    tenant: str
    connector: str
    guid: str | None
    cmdlet: str
    parameters: Mapping[str, Json]  # JSON-ready, canonical values; Identity by Guid when known
    precondition: Mapping[str, Json] | str  # {property: expected live value} or ABSENT

    @property
    def expects_absent(self) -> bool:
        return self.precondition == ABSENT

    @property
    def powershell(self) -> str:
        """The PowerShell line a human would type, rendered from the parameters every time."""
        return pwsh.command_line(self.cmdlet, self.parameters)

    @property
    def credential(self) -> str:
        """The tenant.yaml credential the write needs: ``write`` (Exchange) or ``graph_write``."""
        return "graph_write" if self.kind.on_account else "write"

    @property
    def command(self) -> str:
        """What runs, for a reviewer: the PowerShell line of a connector action, the Graph
        request of an account action; rendered from the parameters every time."""
        if not self.kind.on_account:
            return self.powershell
        path = "/v1.0/users/" + quote(str(self.parameters.get("UserId", "")), safe="")
        if self.cmdlet == GRAPH_REVOKE:
            return f"POST {path}/revokeSignInSessions"
        body = {k: v for k, v in self.parameters.items() if k != "UserId"}
        return f"PATCH {path} " + json.dumps(body, sort_keys=True, ensure_ascii=True)

    @property
    def summary(self) -> str:
        """One sentence for a reviewer, rendered from kind, parameters and precondition."""
        name = repr(self.connector)
        match self.kind:
            case ActionKind.DISABLE:
                return (
                    f"Disable unknown connector {name}: it is in no baseline file "
                    "(disabled, not removed, so the evidence stays)."
                )
            case ActionKind.REMOVE:
                return f"Remove connector {name}."
            case ActionKind.REVERT | ActionKind.RESTORE:
                verb = "Revert" if self.kind is ActionKind.REVERT else "Restore"
                pre = self.precondition if isinstance(self.precondition, Mapping) else {}
                settings = {p: v for p, v in self.parameters.items() if p != "Identity"}
                changes = [describe(p, pre.get(p), v) for p, v in settings.items()]
                return f"{verb} {name}: " + "; ".join(changes) + "."
            case ActionKind.CREATE:
                return f"Create connector {name} with {len(self.parameters)} settings."
            case ActionKind.UNBLOCK:
                return (
                    f"Unblock {name}, restricted by the service, once its live state is exactly "
                    "its baseline (unblocking can take up to an hour)."
                )
            case ActionKind.REVOKE:
                return (
                    f"Revoke every sign-in session and refresh token of user {name} "
                    f"({self.guid}): they must sign in again (cannot be undone)."
                )
            case ActionKind.BLOCK:
                return f"Block sign-in of user {name} ({self.guid}): accountEnabled -> false."
            case ActionKind.ENABLE:
                return f"Allow sign-in of user {name} ({self.guid}) again: accountEnabled -> true."
            case _ as unreachable:
                assert_never(unreachable)


@dataclass(frozen=True)
class Plan:
    tenant: str
    tenant_id: str
    baseline_commit: str | None
    snapshot_digest: str | None
    created_at: datetime
    expires_at: datetime
    actions: tuple[Action, ...]
    force: bool = False
    remove_unknown: bool = False
    block_sign_in: bool = False  # containment blocks sign-in too (not only revokes sessions)
    notes: tuple[str, ...] = ()
    purpose: str = "revert"  # "revert" (from a diff) or "rollback" (from a journal)
    plan_version: int = PLAN_VERSION
    baseline_digest: str | None = None  # of the tenant's baseline the plan was derived from
    live: TenantState | None = None  # the whole live state it was made from (revert plans)


def json_value(value: Json) -> Json:
    """A canonical value (or a JSON one) as JSON: tuples become lists."""
    return list(value) if isinstance(value, tuple) else value


def same_value(prop_name: str, expected: Json, actual: Value) -> bool:
    """Compare a JSON-form expected value with a canonical live value, by the property's kind."""
    prop = BY_NAME.get(prop_name)
    actual_json = json_value(actual)
    if prop is not None and prop.kind is Kind.NAME:
        return (
            isinstance(expected, str)
            and isinstance(actual, str)
            and (expected.casefold() == actual.casefold())
        )
    return bool(expected == actual_json)


def show_value(value: Json) -> str:
    """A value for a message: lists comma-separated in brackets, booleans lower-case."""
    shown = json_value(value)
    if isinstance(shown, list):
        return "[" + ", ".join(str(v) for v in shown) + "]"
    if shown is None:
        return "(empty)"
    return str(shown).lower() if isinstance(shown, bool) else repr(shown)


def describe(prop_name: str, current: Json, target: Json) -> str:
    """One property's change for a reviewer: list members removed and added, or old -> new."""
    now, then = json_value(current), json_value(target)
    if isinstance(now, list) and isinstance(then, list):
        parts = []
        removed = [v for v in now if v not in set(then)]
        added = [v for v in then if v not in set(now)]
        if removed:
            parts.append("remove " + ", ".join(str(v) for v in removed))
        if added:
            parts.append("add " + ", ".join(str(v) for v in added))
        return f"{prop_name} {' and '.join(parts) or 'reset'}"
    return f"{prop_name} {show_value(now)} -> {show_value(then)}"
