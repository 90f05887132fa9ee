"""Has the tenant moved since the plan was made? The whole live state against the recorded one.

Pure. Every live connector, the set of connectors and (when it was recorded) the blocked list are
compared with the state the plan recorded. A connector an action touches may be in the state the
plan saw (not written yet) or exactly in the action's target state (written, by this run or an
interrupted one); an action the journal calls done must be at its target. Anything else is a
change since the plan, named connector by connector, property by property.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import assert_never

from driftguard.planmodel import Action, ActionKind, json_value
from driftguard.properties import BY_NAME, COMPARED
from driftguard.tenantstate import BlockedEntry, ConnectorState, TenantState


def tenant_changes(
    recorded: TenantState, live: TenantState, actions: Sequence[Action], done: Collection[str]
) -> list[str]:
    """What differs between ``live`` and what the plan allows, given the actions done."""
    problems: list[str] = []
    claimed: set[int] = set()
    index = _Index(live.connectors)
    touched = _Touched(actions)
    for seen in recorded.connectors:
        now = index.claim(seen, claimed)
        action = touched.get(seen)
        problems += _connector_changes(seen, now, action, action is not None and action.id in done)
    for action in (a for a in actions if a.kind is ActionKind.CREATE):
        name = str(action.parameters.get("Name", action.connector))
        created = index.claim_name(name, claimed)
        if created is None:
            if action.id in done:
                problems.append(_undone(_label(name), action.id, "it does not exist"))
            continue
        diffs = created_settings(action, created).differences(created, "the plan creates")
        if diffs:
            problems.append(
                f"{_label(name)} exists now; the plan expected it absent ({'; '.join(diffs)})"
            )
    for i, s in enumerate(live.connectors):
        if i not in claimed:
            problems.append(f"{_label(s.name)} ({s.guid}) is new since the plan was made")
    if recorded.blocked is not None:
        problems += _blocked_changes(recorded.blocked, live.blocked, actions, done)
    return problems


def created_settings(action: Action, now: ConnectorState) -> ConnectorState:
    """The connector New-InboundConnector makes: service defaults, then the action's parameters.

    Properties driftguard does not know are the service's business on a new connector: taken
    from ``now``, the live connector of that name.
    """
    defaults = {p: json_value(BY_NAME[p].default) for p in COMPARED}
    made = ConnectorState(action.connector, now.guid, defaults, now.unknown)
    return made.with_settings(action.parameters)


class _Index:
    """Live connectors by Guid and by case-folded Name, in read order."""

    def __init__(self, states: Sequence[ConnectorState]) -> None:
        self.states = states
        self.by_guid: dict[str, list[int]] = {}
        self.by_name: dict[str, list[int]] = {}
        for i, s in enumerate(states):
            if s.guid:
                self.by_guid.setdefault(s.guid, []).append(i)
            self.by_name.setdefault(s.name.casefold(), []).append(i)

    def claim(self, seen: ConnectorState, claimed: set[int]) -> ConnectorState | None:
        """The live connector the recorded one is: same Guid, or same Name when it had none."""
        if seen.guid:
            return self._first(self.by_guid.get(seen.guid, []), claimed)
        return self.claim_name(seen.name, claimed)

    def claim_name(self, name: str, claimed: set[int]) -> ConnectorState | None:
        return self._first(self.by_name.get(name.casefold(), []), claimed)

    def _first(self, candidates: list[int], claimed: set[int]) -> ConnectorState | None:
        for i in candidates:
            if i not in claimed:
                claimed.add(i)
                return self.states[i]
        return None


class _Touched:
    """The Set or Remove the plan makes on a connector (one per connector), by Guid or Name."""

    def __init__(self, actions: Sequence[Action]) -> None:
        self.by_guid: dict[str, Action] = {}
        self.by_name: dict[str, Action] = {}
        for a in actions:
            if a.kind in (ActionKind.CREATE, ActionKind.UNBLOCK) or a.kind.on_account:
                continue
            if a.guid:
                self.by_guid.setdefault(a.guid.lower(), a)
            else:
                self.by_name.setdefault(a.connector.casefold(), a)

    def get(self, seen: ConnectorState) -> Action | None:
        hit = self.by_guid.get(seen.guid) if seen.guid else None
        return hit or self.by_name.get(seen.name.casefold())


def _connector_changes(
    seen: ConnectorState, now: ConnectorState | None, action: Action | None, done: bool
) -> list[str]:
    label = _label(seen.name)
    if now is None:
        removed = action is not None and action.kind is ActionKind.REMOVE
        return [] if removed else [f"{label} ({seen.guid}) was removed since the plan was made"]
    if action is None:
        return [f"{label}: {d}" for d in seen.differences(now)]
    match action.kind:
        case ActionKind.REMOVE:
            if done:
                return [_undone(label, action.id, "it still exists")]
        case ActionKind.DISABLE | ActionKind.REVERT | ActionKind.RESTORE:
            at_target = seen.with_settings(action.parameters).differences(now, "its target is")
            if not at_target:
                return []
            if done:
                return [_undone(label, action.id, d) for d in at_target]
        case (
            ActionKind.CREATE
            | ActionKind.UNBLOCK
            | ActionKind.REVOKE
            | ActionKind.BLOCK
            | ActionKind.ENABLE
        ):  # pragma: no cover - not indexed as touching
            raise AssertionError(f"{action.id} does not touch an existing connector's settings")
        case _ as unreachable:
            assert_never(unreachable)
    return [f"{label}: {d}" for d in seen.differences(now)]


def _blocked_changes(
    seen: Sequence[BlockedEntry],
    now: Sequence[BlockedEntry] | None,
    actions: Sequence[Action],
    done: Collection[str],
) -> list[str]:
    if now is None:
        return ["the blocked connectors were not read"]
    unblocks = [a for a in actions if a.kind is ActionKind.UNBLOCK]
    problems: list[str] = []
    for entry in now:
        unblock = _unblock_for(unblocks, entry)
        if unblock is not None and unblock.id in done:
            problems.append(_undone(_label(entry.label), unblock.id, "it is blocked"))
        elif entry not in seen:
            problems.append(f"{_label(entry.label)} was blocked since the plan was made")
    for entry in seen:
        if entry not in now and _unblock_for(unblocks, entry) is None:
            problems.append(f"{_label(entry.label)} was unblocked since the plan was made")
    return problems


def _unblock_for(unblocks: Sequence[Action], entry: BlockedEntry) -> Action | None:
    for a in unblocks:
        if {k.casefold() for k in (a.guid, a.connector) if k} & entry.keys:
            return a
    return None


def _undone(label: str, action_id: str, what: str) -> str:
    return (
        f"{label}: {action_id} is journalled as done, but {what} "
        "(undone since, or the journal is not genuine)"
    )


def _label(name: str) -> str:
    return f"connector {name!r}"
