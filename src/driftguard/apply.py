"""Applying a reviewed plan: approval, derivation, the stale-plan check, journal, verify, resume.

Nothing is written unless every check passes first: the approval names this plan's digest, the
plan has not expired, it is for this tenant, its actions are exactly what the baseline gives
against the live state the plan recorded (derive.py), and a fresh read of the WHOLE live state
(every connector, the set of connectors, the blocked list) matches that recorded state, each
connector an action touches being either as the plan saw it or exactly at the action's target
(freshness.py). On ``resume`` the same read verifies every action the journal calls done: it must
be at its target, or the run is refused (an undone action is a new change to look at, not one to
repeat blindly). A connector is unblocked only if, on a read right before the unblock, its live
state is exactly its baseline. Each action is journalled before and after its write, re-read and
verified. ``dry_run`` runs this same path with the write step swapped for a recorder.

Account actions (containment, ``respond``) go through Microsoft Graph: before the first write every
user the plan acts on is read again and must be as the plan recorded it (on resume, or moved to the
target by an action the journal shows as started); each is journalled with the user's state before
and after, and verified by reading the user back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, assert_never

from driftguard import containment
from driftguard.derive import check_derivation
from driftguard.diff import drift_for
from driftguard.errors import DriftguardError, PlanError
from driftguard.freshness import tenant_changes
from driftguard.investigate.blocked import get_blocked
from driftguard.journal import Journal, JournalState
from driftguard.jsontype import Json
from driftguard.model import Connector, FindingKind, IgnoreEntry, TenantBaseline, TenantConfig
from driftguard.normalize import NormalizeError, connector_from_record
from driftguard.planfile import DIGEST_PREFIX, format_time, plan_digest
from driftguard.planmodel import ABSENT, Action, ActionKind, Plan, same_value, show_value
from driftguard.tenantstate import BlockedEntry, ConnectorState, TenantState

if TYPE_CHECKING:
    from driftguard.live.graphusers import UserReader, UserWriter


class Invoker(Protocol):
    def invoke(
        self, cmdlet: str, parameters: Mapping[str, Json] | None = None
    ) -> list[dict[str, Any]]: ...  # records as the service sent them


class Outcome(StrEnum):
    APPLIED = "applied"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class ActionResult:
    action: Action
    outcome: Outcome
    verified: bool
    message: str


@dataclass(frozen=True)
class ApplyResult:
    plan_digest: str
    results: tuple[ActionResult, ...]
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if any(r.outcome is Outcome.FAILED for r in self.results) else 0


@dataclass
class Recorder:
    """The write step of a dry run: remembers each call, changes nothing."""

    calls: list[tuple[str, dict[str, Json]]] = field(default_factory=list)

    def invoke(
        self, cmdlet: str, parameters: Mapping[str, Json] | None = None
    ) -> list[dict[str, Any]]:
        self.calls.append((cmdlet, dict(parameters or {})))
        return []

    def written(self, live: Live) -> Live:
        """``live`` as the recorded Set calls would have left it: what the next step of a dry
        run must see, so a dry run judges an unblock as the real run will."""
        connectors = []
        for conn in live.connectors:
            state = ConnectorState.of(conn)
            keys = {conn.name.casefold(), conn.guid or ""}
            for cmdlet, params in self.calls:
                identity = str(params.get("Identity", "")).casefold()
                if cmdlet == "Set-InboundConnector" and identity in keys:
                    state = state.with_settings(params)
            connectors.append(replace(conn, name=state.name, settings=state.connector().settings))
        return replace(live, connectors=tuple(connectors))


# --------------------------------------------------------------------------- checks


def normalise_digest(text: str) -> str:
    value = text.strip().lower()
    return value if value.startswith(DIGEST_PREFIX) else DIGEST_PREFIX + value


def check_approval(digest: str, approve: str | None) -> None:
    if not approve:
        raise PlanError(
            "the plan is not approved",
            hint=f"review it, then run again with --approve {digest}",
        )
    if normalise_digest(approve) != digest:
        raise PlanError(
            "the approval does not match this plan's digest (it changed since it was reviewed, "
            "or the approval is for another plan)",
            hint=f"this plan's digest is {digest}; review the plan before approving it",
        )


def check_not_expired(plan: Plan, now: datetime) -> None:
    if now >= plan.expires_at:
        raise PlanError(
            f"the plan expired at {format_time(plan.expires_at)}",
            hint="make a new plan: the live state may have moved on",
        )


def check_tenant(plan: Plan, tenant: TenantConfig) -> None:
    if plan.tenant_id.lower() != tenant.tenant_id.lower():
        raise PlanError(
            f"the plan is for tenant_id {plan.tenant_id}, but tenant {tenant.name!r} in the "
            f"baseline is {tenant.tenant_id}",
            hint="apply a plan only to the tenant it was made for",
        )


# --------------------------------------------------------------------------- live state


@dataclass(frozen=True)
class Live:
    """A fresh read: raw records (for the journal), the same in canonical form, the blocked list."""

    records: tuple[Mapping[str, Json], ...]
    connectors: tuple[Connector, ...]
    blocked: tuple[BlockedEntry, ...] | None = None

    def find(self, action: Action) -> Connector | None:
        i = self._index(action)
        return None if i is None else self.connectors[i]

    def record(self, action: Action) -> Mapping[str, Json] | None:
        i = self._index(action)
        return None if i is None else self.records[i]

    def _index(self, action: Action) -> int | None:
        if action.guid:
            return self._by_guid.get(action.guid.lower())
        return self._by_name.get(str(action.parameters.get("Name") or action.connector).casefold())

    @cached_property
    def _by_guid(self) -> dict[str, int]:
        """Where each Guid stands in the read (first wins); canonical Guids are lower-case."""
        return {c.guid: i for i, c in reversed(list(enumerate(self.connectors))) if c.guid}

    @cached_property
    def _by_name(self) -> dict[str, int]:
        return {c.name.casefold(): i for i, c in reversed(list(enumerate(self.connectors)))}

    def state(self) -> TenantState:
        return TenantState.of(self.connectors, self.blocked)


def read_live(reader: Invoker, *, blocked: bool) -> Live:
    """Every inbound connector (each must normalise) and, when asked, the blocked list."""
    records = tuple(reader.invoke("Get-InboundConnector", {"ResultSize": "Unlimited"}))
    connectors = []
    for record in records:
        try:
            connectors.append(connector_from_record(record))
        except NormalizeError as exc:
            raise PlanError(f"connector {record.get('Name')!r} cannot be read: {exc}") from exc
    rows: tuple[BlockedEntry, ...] | None = None
    if blocked:
        rows = tuple(BlockedEntry(b.connector_id, b.name) for b in get_blocked(reader))
    return Live(records, tuple(connectors), rows)


def _needs_blocked(plan: Plan) -> bool:
    recorded = plan.live is not None and plan.live.blocked is not None
    return recorded or any(a.kind is ActionKind.UNBLOCK for a in plan.actions)


def target_gaps(action: Action, live: Live) -> list[str]:
    """What still differs from the action's target state (empty: the target is in place)."""
    match action.kind:
        case ActionKind.UNBLOCK:
            keys = {k.casefold() for k in (action.guid, action.connector) if k}
            if live.blocked is None:
                return ["blocked state unknown"]
            return ["still blocked"] if any(keys & b.keys for b in live.blocked) else []
        case ActionKind.REMOVE:
            return [] if live.find(action) is None else ["still exists"]
        case ActionKind.DISABLE | ActionKind.REVERT | ActionKind.RESTORE | ActionKind.CREATE:
            return _setting_gaps(action, live.find(action))
        case ActionKind.REVOKE | ActionKind.BLOCK | ActionKind.ENABLE:  # pragma: no cover
            raise AssertionError(f"{action.id} acts on an account, not a connector")
        case _ as unreachable:
            assert_never(unreachable)


def _setting_gaps(action: Action, conn: Connector | None) -> list[str]:
    if conn is None:
        return ["does not exist"]
    gaps = []
    for prop, want in action.parameters.items():
        now = conn.settings.get(prop)
        if prop != "Identity" and not same_value(prop, want, now):
            gaps.append(f"{prop} is {show_value(now)}, target {show_value(want)}")
    return gaps


def stale_problems(action: Action, live: Live) -> list[str]:
    """For a plan without a recorded live state (a rollback): why the live state matches neither
    the action's precondition nor its target."""
    if not target_gaps(action, live):
        return []
    label = f"connector {action.connector!r}"
    if action.kind is ActionKind.UNBLOCK:
        return [] if live.blocked is not None else [f"{label}: blocked state unknown"]
    conn = live.find(action)
    if action.precondition == ABSENT:
        return [] if conn is None else [f"{label} exists now; the plan expected it absent"]
    if conn is None:
        return [f"{label} ({action.guid}) no longer exists"]
    problems = []
    pre = action.precondition if isinstance(action.precondition, Mapping) else {}
    for prop, expected in pre.items():
        now = conn.settings.get(prop)
        at_target = prop in action.parameters and same_value(prop, action.parameters[prop], now)
        if not same_value(prop, expected, now) and not at_target:
            problems.append(
                f"{label}: {prop} is now {show_value(now)}, "
                f"the plan expected {show_value(expected)}"
            )
    return problems


def unblock_problems(action: Action, live: Live, tenant: TenantBaseline) -> list[str]:
    """Why a connector may not be unblocked now: its live state is not exactly its baseline."""
    conn = live.find(action)
    if conn is None:
        return ["it does not exist"]
    out = []
    for judged in drift_for(tenant, live.connectors).judged:
        if judged.live is not conn:
            continue
        f = judged.finding
        match f.kind:
            case FindingKind.CHANGED:
                out.append(
                    f"{f.field} is {show_value(f.live)}, the baseline says {show_value(f.baseline)}"
                )
            case FindingKind.UNKNOWN:
                out.append("it is in no baseline file")
            case FindingKind.MISSING | FindingKind.BLOCKED:
                pass  # about a baseline file, or the block itself
            case _ as unreachable:
                assert_never(unreachable)
    return out


def changes_since_plan(plan: Plan, live: Live, done: set[str]) -> list[str]:
    """Everything that moved since the plan was made (see the module docstring), connectors only
    (the accounts are checked by ``containment.account_changes``)."""
    actions = [a for a in plan.actions if not a.kind.on_account]
    if plan.live is not None:
        return tenant_changes(plan.live, live.state(), actions, done)
    problems = [p for a in actions if a.id not in done for p in stale_problems(a, live)]
    for a in actions:
        gaps = target_gaps(a, live) if a.id in done else []
        if gaps:
            problems.append(
                f"connector {a.connector!r}: {a.id} is journalled as done, but "
                + "; ".join(gaps)
                + " (undone since, or the journal is not genuine)"
            )
    return problems


# --------------------------------------------------------------------------- apply


@dataclass(frozen=True)
class Checked:
    """A plan that passed the checks that need no live read: it is for this tenant and, a revert
    plan, exactly what the baseline gives against the live state it recorded."""

    plan: Plan
    digest: str
    tenant: TenantBaseline


def check_plan(plan: Plan, tenant: TenantBaseline, ignores: Sequence[IgnoreEntry]) -> Checked:
    check_tenant(plan, tenant.config)
    rollback = plan.purpose == "rollback"
    odd = [
        p
        for a in plan.actions
        if a.kind.on_account
        for p in containment.malformed(a, block_sign_in=plan.block_sign_in, rollback=rollback)
    ]
    if odd:
        raise PlanError(
            "the plan's account actions are not ones driftguard makes: " + "; ".join(odd),
            hint="make a new plan with 'driftguard respond --out PLAN' and review it",
        )
    if plan.purpose == "revert":
        check_derivation(plan, tenant, ignores)
    return Checked(plan, plan_digest(plan), tenant)


def apply_plan(
    plan: Plan,
    *,
    approve: str | None,
    tenant: TenantBaseline,
    reader: Invoker,
    writer: Invoker,
    clock: Callable[[], datetime],
    journal: Journal | None,
    ignores: Sequence[IgnoreEntry] = (),
    resume: JournalState | None = None,
    dry_run: bool = False,
    on_result: Callable[[ActionResult], None] | None = None,
    accounts: Accounts | None = None,
) -> ApplyResult:
    """Check everything, then apply each action in order; see the module docstring."""
    if not dry_run or approve:  # the approval first: it refuses before any other check
        check_approval(plan_digest(plan), approve)
    return apply_checked(
        check_plan(plan, tenant, ignores),
        approve=approve,
        reader=reader,
        writer=writer,
        clock=clock,
        journal=journal,
        resume=resume,
        dry_run=dry_run,
        on_result=on_result,
        accounts=accounts,
    )


def apply_checked(
    checked: Checked,
    *,
    approve: str | None,
    reader: Invoker,
    writer: Invoker,
    clock: Callable[[], datetime],
    journal: Journal | None,
    resume: JournalState | None = None,
    dry_run: bool = False,
    on_result: Callable[[ActionResult], None] | None = None,
    accounts: Accounts | None = None,
) -> ApplyResult:
    """The rest of :func:`apply_plan` for a plan :func:`check_plan` passed; ``accounts``: the
    Graph user reader and writer, needed when the plan acts on accounts."""
    plan, digest, tenant = checked.plan, checked.digest, checked.tenant
    if not dry_run or approve:
        check_approval(digest, approve)
    check_not_expired(plan, clock())
    done: set[str] = set()
    started: set[str] = set()
    if resume is not None:
        if resume.plan_digest != digest:
            raise PlanError(f"{resume.path} is the journal of another plan ({resume.plan_digest})")
        done = resume.done()
        started = set(resume.last_status())
    on_accounts = [a for a in plan.actions if a.kind.on_account]
    if on_accounts and accounts is None:
        raise PlanError("the plan acts on user accounts, but no Microsoft Graph client was given")
    live = read_live(reader, blocked=_needs_blocked(plan))
    problems = changes_since_plan(plan, live, done)
    if on_accounts and accounts is not None:
        ids = dict.fromkeys(a.guid or "" for a in on_accounts)
        users = {uid: accounts.reader.user(uid) for uid in ids}
        problems += containment.account_changes(on_accounts, users, done, started)
    if problems:
        raise PlanError(
            "the tenant changed since the plan was made; re-plan: " + "; ".join(problems),
            hint="make a new plan from the current state and review it",
        )
    write = Recorder() if dry_run else writer
    results: list[ActionResult] = []
    for action in plan.actions:
        if action.id in done:  # verified at its target above, on this run's fresh read
            result = ActionResult(action, Outcome.SKIPPED, True, "done in an earlier run")
        elif action.kind.on_account and accounts is not None:
            users_write = AccountRecorder() if dry_run else accounts.writer
            account_step = _AccountStep(
                action, digest, reader, write, clock, journal, dry_run, tenant
            )
            result = account_step.contain(accounts.reader, users_write)
        else:
            step = _Step(action, digest, reader, write, clock, journal, dry_run, tenant)
            result = step.run(live)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return ApplyResult(digest, tuple(results), dry_run)


@dataclass(frozen=True)
class _Step:
    """One action: journal it, skip it when in place, write, re-read, verify, journal again."""

    action: Action
    digest: str
    reader: Invoker
    writer: Invoker
    clock: Callable[[], datetime]
    journal: Journal | None
    dry_run: bool
    tenant: TenantBaseline

    def run(self, live: Live) -> ActionResult:
        action = self.action
        unblock = action.kind is ActionKind.UNBLOCK
        if unblock:  # read again right before it: the connector must be exactly its baseline
            live = read_live(self.reader, blocked=True)
            if isinstance(self.writer, Recorder):  # a dry run: as its writes would have left it
                live = self.writer.written(live)
        before = None if unblock else live.record(action)
        self._record("started", before=before)
        if not target_gaps(action, live):
            return self._finish(Outcome.SKIPPED, True, "already in place", before)
        why = unblock_problems(action, live, self.tenant) if unblock else []
        if why:
            message = "not unblocked: its live state is not its baseline: " + "; ".join(why)
            return self._finish(Outcome.FAILED, False, message, None)
        error = ""
        try:
            self.writer.invoke(action.cmdlet, action.parameters)
        except DriftguardError as exc:
            error = exc.message  # the outcome may still be unknown: the re-read decides
        if self.dry_run:
            return self._finish(Outcome.APPLIED, False, "dry run: would apply", None)
        try:
            after_live = read_live(self.reader, blocked=unblock)
        except DriftguardError as exc:
            return self._finish(Outcome.FAILED, False, f"re-read failed: {exc.message}", None)
        gaps = target_gaps(action, after_live)
        after = after_live.record(action)
        if gaps:
            why_failed = error or "not in place after the write: " + "; ".join(gaps)
            return self._finish(Outcome.FAILED, False, why_failed, after)
        return self._finish(Outcome.APPLIED, True, "applied and verified", after)

    def _record(self, status: str, **extra: Json) -> None:
        if self.journal is None:
            return
        self.journal.record(
            {
                "plan_digest": self.digest,
                "action_id": self.action.id,
                "dry_run": self.dry_run,
                "status": status,
                "at": format_time(self.clock()),
                **extra,
            }
        )

    def _finish(
        self, outcome: Outcome, verified: bool, message: str, after: Mapping[str, Json] | None
    ) -> ActionResult:
        result = ActionResult(self.action, outcome, verified, message)
        self._record(outcome.value, verified=verified, message=message, after=after)
        return result


# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True)
class Accounts:
    """Microsoft Graph for the plan's account actions: the reader (the read credential) and the
    writer (the separate Graph write credential)."""

    reader: UserReader
    writer: UserWriter


@dataclass
class AccountRecorder:
    """The account writes of a dry run: remembered, nothing sent."""

    calls: list[tuple[str, str, bool | None]] = field(default_factory=list)

    def revoke_sessions(self, user_id: str) -> None:
        self.calls.append(("revoke", user_id, None))

    def set_enabled(self, user_id: str, enabled: bool) -> None:
        self.calls.append(("update", user_id, enabled))


@dataclass(frozen=True)
class _AccountStep(_Step):
    """One account action: journal the user's state, skip it when in place, write, read the
    user back, verify (a revocation: valid-from moved past the recorded value; a block or an
    enable: accountEnabled as asked), journal again."""

    def contain(self, users: UserReader, write: UserWriter) -> ActionResult:
        action = self.action
        user_id = action.guid or ""
        try:
            before = users.user(user_id)
        except DriftguardError as exc:
            return self._finish(Outcome.FAILED, False, f"read failed: {exc.message}", None)
        self._record("started", before=None if before is None else before.document())
        if before is None:
            return self._finish(Outcome.FAILED, False, "the user no longer exists", None)
        if not containment.target_gaps(action, before):
            return self._finish(Outcome.SKIPPED, True, "already in place", before.document())
        error = ""
        try:
            if action.kind is ActionKind.REVOKE:
                write.revoke_sessions(user_id)
            else:
                write.set_enabled(user_id, action.kind is ActionKind.ENABLE)
        except DriftguardError as exc:
            error = exc.message  # the outcome may still be unknown: the read-back decides
        if self.dry_run:
            return self._finish(Outcome.APPLIED, False, "dry run: would apply", None)
        try:
            after = users.user(user_id)
        except DriftguardError as exc:
            return self._finish(Outcome.FAILED, False, f"re-read failed: {exc.message}", None)
        gaps = containment.target_gaps(action, after)
        record = None if after is None else after.document()
        if gaps:
            why_failed = error or "not in place after the write: " + "; ".join(gaps)
            return self._finish(Outcome.FAILED, False, why_failed, record)
        return self._finish(Outcome.APPLIED, True, "applied and verified", record)
