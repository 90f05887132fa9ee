"""The plan as data: its actions and how their JSON-form values compare with live ones.

Shared by the planner (plan.py), the plan file (planfile.py), apply, rollback and the safety
checks, none of which needs the planner itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from driftguard.properties import BY_NAME, Kind, Value

PLAN_VERSION: Final = 1
ABSENT: Final = "absent"
"""The precondition of a New: no live connector with that name (or pinned Guid) exists."""


class ActionKind(StrEnum):
    DISABLE = "disable"  # Set-InboundConnector -Enabled $false on an unknown connector
    REMOVE = "remove"  # Remove-InboundConnector (unknown connector, --remove-unknown)
    REVERT = "revert"  # Set-InboundConnector with the drifted properties' baseline values
    CREATE = "create"  # New-InboundConnector for a missing connector
    UNBLOCK = "unblock"  # Remove-BlockedConnector
    RESTORE = "restore"  # rollback: Set back to the journalled before-state


@dataclass(frozen=True)
class Action:
    id: str
    kind: ActionKind
    tenant: str
    connector: str
    guid: str | None
    cmdlet: str
    parameters: Mapping[str, Any]  # JSON-ready, canonical values; Identity by Guid when known
    precondition: Mapping[str, Any] | str  # {property: expected live value} or ABSENT
    summary: str
    powershell: str

    @property
    def expects_absent(self) -> bool:
        return self.precondition == ABSENT


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
    notes: tuple[str, ...] = ()
    purpose: str = "revert"  # "revert" (from a diff) or "rollback" (from a journal)
    plan_version: int = PLAN_VERSION


def json_value(value: Value) -> Any:
    """A canonical value as JSON: tuples become lists."""
    return list(value) if isinstance(value, tuple) else value


def same_value(prop_name: str, expected: Any, actual: Value) -> bool:
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
