"""A journal back to a plan that restores the before-state (pure).

Every action the journal shows as started (its write may have happened) is inverted, last first:
a Set is Set back to the journalled before-values of the properties it touched, a New becomes a
Remove, a Remove becomes a New with every setting of the removed connector. The result is an
ordinary plan (purpose "rollback") with preconditions (the forward action's target), a digest to
approve, and the same apply path, journal included. An unblock cannot be undone and is noted; so
is a revocation of sign-in sessions, while a block of sign-in is undone by allowing it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import assert_never

from driftguard import containment
from driftguard.errors import ApplyError
from driftguard.journal import JournalState
from driftguard.jsontype import Json
from driftguard.model import Connector
from driftguard.normalize import NormalizeError, connector_from_record
from driftguard.plan import create_parameters, make_action
from driftguard.planfile import from_document, parse_time
from driftguard.planmodel import (
    ABSENT,
    ENABLED,
    GRAPH_UPDATE,
    SESSIONS_FROM,
    Action,
    ActionKind,
    Plan,
    json_value,
)

ROLLBACK_VALIDITY = timedelta(days=7)


def rollback_plan(state: JournalState) -> Plan:
    forward = from_document(state.header.get("plan"), f"{state.path} (plan in the header)")
    if state.header.get("dry_run"):
        raise ApplyError(f"{state.path} is the journal of a dry run: nothing to roll back")
    statuses = state.last_status()
    actions: list[_Inverse] = []
    notes: list[str] = []
    for action in reversed(forward.actions):
        if action.id not in statuses:
            continue
        known, before = state.first_before(action.id)
        if not known:
            continue
        inverse = _inverse(action, before, state.last_after(action.id), notes)
        if inverse is not None:
            actions.append(inverse)
    times = [str(e["at"]) for e in state.entries if e.get("at")]
    created = parse_time(max(times)) if times else forward.created_at
    built = tuple(
        make_action(f"{n:03d}-{kind.value}", kind, forward.tenant, name, guid, cmdlet, params, pre)
        for n, (kind, name, guid, cmdlet, params, pre) in enumerate(actions, start=1)
    )
    return Plan(
        tenant=forward.tenant,
        tenant_id=forward.tenant_id,
        baseline_commit=forward.baseline_commit,
        snapshot_digest=None,
        created_at=created,
        expires_at=created + ROLLBACK_VALIDITY,
        actions=built,
        force=False,
        remove_unknown=forward.remove_unknown,
        notes=tuple(notes),
        purpose="rollback",
    )


_Inverse = tuple[ActionKind, str, str | None, str, dict[str, Json], dict[str, Json] | str]
"""kind, connector, Guid, cmdlet, parameters, precondition of an inverse action."""


def _before(record: Json, action: Action) -> Connector:
    """The journalled before-state of ``action``'s connector, in canonical form."""
    try:
        if not isinstance(record, Mapping):
            raise TypeError(f"a record is a JSON object, not {type(record).__name__}")
        return connector_from_record(record)
    except (NormalizeError, AttributeError, TypeError) as exc:
        raise ApplyError(
            f"journal: before-state of {action.connector!r} unreadable: {exc}"
        ) from exc


def _inverse(action: Action, before: Json, after: Json, notes: list[str]) -> _Inverse | None:
    forward_target = {k: v for k, v in action.parameters.items() if k != "Identity"}
    match action.kind:
        case ActionKind.DISABLE | ActionKind.REVERT | ActionKind.RESTORE:
            if before is None:
                return None
            old = {k: json_value(v) for k, v in _before(before, action).settings.items()}
            params = {"Identity": action.parameters["Identity"]}
            params.update({k: old[k] for k in forward_target})
            return (
                ActionKind.RESTORE,
                action.connector,
                action.guid,
                "Set-InboundConnector",
                params,
                forward_target,
            )
        case ActionKind.CREATE:
            guid = (
                str(after["Guid"]).lower()
                if isinstance(after, Mapping) and after.get("Guid")
                else None
            )
            return (
                ActionKind.REMOVE,
                action.connector,
                guid,
                "Remove-InboundConnector",
                {"Identity": guid or action.connector},
                forward_target,
            )
        case ActionKind.REMOVE:
            if before is None:
                return None
            conn = _before(before, action)
            notes.append(f"{conn.name!r} is recreated with a new Guid (was {conn.guid})")
            return (
                ActionKind.CREATE,
                conn.name,
                None,
                "New-InboundConnector",
                create_parameters(conn),
                ABSENT,
            )
        case ActionKind.UNBLOCK:
            notes.append(f"{action.id} ({action.cmdlet}) cannot be undone by driftguard")
            return None
        case ActionKind.REVOKE:
            notes.append(
                f"{action.id} revoked the sign-in sessions of {action.connector!r}: that cannot "
                "be undone (the user signs in again)"
            )
            return None
        case ActionKind.BLOCK:
            if not isinstance(after, Mapping):
                notes.append(f"{action.id}: the state of {action.connector!r} after it is unknown")
                return None
            user_id = action.guid or ""
            return (
                ActionKind.ENABLE,
                action.connector,
                user_id,
                GRAPH_UPDATE,
                containment.parameters(ActionKind.ENABLE, user_id),
                {ENABLED: after.get(ENABLED), SESSIONS_FROM: after.get(SESSIONS_FROM)},
            )
        case ActionKind.ENABLE:
            notes.append(
                f"{action.id} allowed {action.connector!r} to sign in again; block it again with "
                "'driftguard respond --block-sign-in'"
            )
            return None
        case _ as unreachable:
            assert_never(unreachable)
