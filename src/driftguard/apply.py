"""Applying a reviewed plan: approval, freshness, the stale-plan check, journal, verify, resume.

Nothing is written unless every check passes first: the approval names this plan's digest, the
plan has not expired, it is for this tenant, and EVERY action's precondition still holds on a
fresh read (a live change since planning refuses the whole plan, naming connector and property).
Each action is journalled before and after its write, re-read and verified. ``dry_run`` runs this
same path with the write step swapped for a recorder.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from driftguard.errors import DriftguardError, PlanError
from driftguard.journal import Journal, JournalState
from driftguard.model import TenantConfig
from driftguard.normalize import NormalizeError, connector_from_record
from driftguard.planfile import DIGEST_PREFIX, format_time, to_document
from driftguard.planmodel import ABSENT, Action, Plan, json_value, same_value

KILL_AFTER_ENV = "DRIFTGUARD_TEST_KILL_AFTER_ACTION"
"""Test-only: SIGKILL this process right after journalling the N-th action's outcome."""


class Invoker(Protocol):
    def invoke(
        self, cmdlet: str, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...


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

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def invoke(
        self, cmdlet: str, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self.calls.append((cmdlet, dict(parameters or {})))
        return []


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
    """A fresh read: raw records, and blocked connector ids/names (lower-case)."""

    records: tuple[Mapping[str, Any], ...]
    blocked: frozenset[str] | None = None

    def find(self, action: Action) -> Mapping[str, Any] | None:
        return find_record(self.records, action.guid, action.connector)


def find_record(
    records: Sequence[Mapping[str, Any]], guid: str | None, name: str | None
) -> Mapping[str, Any] | None:
    if guid:
        for r in records:
            if str(r.get("Guid") or "").lower() == guid.lower():
                return r
        return None
    if name:
        for r in records:
            if str(r.get("Name") or "").casefold() == name.casefold():
                return r
    return None


def read_live(reader: Invoker, actions: Sequence[Action]) -> Live:
    """Every inbound connector, and the blocked list when an action unblocks a connector."""
    records = tuple(reader.invoke("Get-InboundConnector", {"ResultSize": "Unlimited"}))
    blocked: frozenset[str] | None = None
    if any(a.cmdlet == "Remove-BlockedConnector" for a in actions):
        rows = reader.invoke("Get-BlockedConnector", {})
        ids: set[str] = set()
        for row in rows:
            for key in ("ConnectorId", "ConnectorName", "Guid", "Name"):
                if row.get(key):
                    ids.add(str(row[key]).casefold())
        blocked = frozenset(ids)
    return Live(records, blocked)


def _settings(record: Mapping[str, Any]) -> Mapping[str, Any]:
    try:
        return connector_from_record(record).settings
    except NormalizeError as exc:
        raise PlanError(f"connector {record.get('Name')!r} cannot be read: {exc}") from exc


def target_gaps(action: Action, live: Live) -> list[str]:
    """What still differs from the action's target state (empty: the target is in place)."""
    if action.cmdlet == "Remove-BlockedConnector":
        keys = {k.casefold() for k in (action.guid, action.connector) if k}
        return ["still blocked"] if live.blocked and keys & live.blocked else []
    record = live.find(action)
    if action.cmdlet == "Remove-InboundConnector":
        return [] if record is None else ["still exists"]
    if record is None:
        return ["does not exist"]
    settings = _settings(record)
    gaps = []
    for prop, want in action.parameters.items():
        if prop == "Identity":
            continue
        if not same_value(prop, want, settings.get(prop)):
            gaps.append(f"{prop} is {_show(settings.get(prop))}, target {_show(want)}")
    return gaps


def stale_problems(action: Action, live: Live) -> list[str]:
    """Why the live state matches neither the action's precondition nor its target."""
    if not target_gaps(action, live):
        return []
    label = f"connector {action.connector!r}"
    if action.cmdlet == "Remove-BlockedConnector":
        return [] if live.blocked is not None else [f"{label}: blocked state unknown"]
    record = live.find(action)
    if action.precondition == ABSENT:
        return [] if record is None else [f"{label} exists now; the plan expected it absent"]
    if record is None:
        return [f"{label} ({action.guid}) no longer exists"]
    settings = _settings(record)
    problems = []
    pre = action.precondition if isinstance(action.precondition, Mapping) else {}
    for prop, expected in pre.items():
        now = settings.get(prop)
        at_target = prop in action.parameters and same_value(prop, action.parameters[prop], now)
        if not same_value(prop, expected, now) and not at_target:
            problems.append(
                f"{label}: {prop} is now {_show(now)}, the plan expected {_show(expected)}"
            )
    return problems


def _show(value: Any) -> str:
    shown = json_value(value)
    if isinstance(shown, list):
        return "[" + ", ".join(str(v) for v in shown) + "]"
    if shown is None:
        return "(empty)"
    return str(shown).lower() if isinstance(shown, bool) else repr(shown)


# --------------------------------------------------------------------------- apply


def apply_plan(
    plan: Plan,
    *,
    approve: str | None,
    tenant: TenantConfig,
    reader: Invoker,
    writer: Invoker,
    clock: Callable[[], datetime],
    journal: Journal | None,
    resume: JournalState | None = None,
    dry_run: bool = False,
    on_result: Callable[[ActionResult], None] | None = None,
) -> ApplyResult:
    """Check everything, then apply each action in order; see the module docstring."""
    digest = str(to_document(plan)["digest"])
    if not dry_run or approve:
        check_approval(digest, approve)
    check_tenant(plan, tenant)
    check_not_expired(plan, clock())
    done: set[str] = set()
    if resume is not None:
        if resume.plan_digest != digest:
            raise PlanError(f"{resume.path} is the journal of another plan ({resume.plan_digest})")
        done = resume.done()
    live = read_live(reader, plan.actions)
    problems = [p for a in plan.actions if a.id not in done for p in stale_problems(a, live)]
    if problems:
        raise PlanError(
            "the plan is stale: the live state changed since it was made: " + "; ".join(problems),
            hint="make a new plan from the current state and review it",
        )
    write = Recorder() if dry_run else writer
    kill_after = _kill_after()
    results: list[ActionResult] = []
    for n, action in enumerate(plan.actions, start=1):
        if action.id in done:
            result = ActionResult(action, Outcome.SKIPPED, True, "done in an earlier run")
        else:
            result = _one(action, digest, reader, write, live, clock, journal, dry_run)
        results.append(result)
        if on_result is not None:
            on_result(result)
        if kill_after == n:
            os.kill(os.getpid(), signal.SIGKILL)
    return ApplyResult(digest, tuple(results), dry_run)


def _one(
    action: Action,
    digest: str,
    reader: Invoker,
    writer: Invoker,
    live: Live,
    clock: Callable[[], datetime],
    journal: Journal | None,
    dry_run: bool,
) -> ActionResult:
    before = live.find(action) if action.cmdlet != "Remove-BlockedConnector" else None
    base = {"plan_digest": digest, "action_id": action.id, "dry_run": dry_run}
    if journal is not None:
        journal.record({**base, "status": "started", "at": format_time(clock()), "before": before})
    gaps = target_gaps(action, live)
    if not gaps:
        result = ActionResult(action, Outcome.SKIPPED, True, "already in place")
        _finish(journal, base, result, clock, before)
        return result
    error = ""
    try:
        writer.invoke(action.cmdlet, action.parameters)
    except DriftguardError as exc:
        error = exc.message  # the outcome may still be unknown: the re-read decides
    if dry_run:
        result = ActionResult(action, Outcome.APPLIED, False, "dry run: not written")
        _finish(journal, base, result, clock, None)
        return result
    try:
        after_live = read_live(reader, (action,))
    except DriftguardError as exc:
        result = ActionResult(action, Outcome.FAILED, False, f"re-read failed: {exc.message}")
        _finish(journal, base, result, clock, None)
        return result
    gaps = target_gaps(action, after_live)
    after = after_live.find(action)
    if gaps:
        why = error or "not in place after the write: " + "; ".join(gaps)
        result = ActionResult(action, Outcome.FAILED, False, why)
    else:
        result = ActionResult(action, Outcome.APPLIED, True, "applied and verified")
    _finish(journal, base, result, clock, after)
    return result


def _finish(
    journal: Journal | None,
    base: Mapping[str, Any],
    result: ActionResult,
    clock: Callable[[], datetime],
    after: Mapping[str, Any] | None,
) -> None:
    if journal is None:
        return
    journal.record(
        {
            **base,
            "status": result.outcome.value,
            "verified": result.verified,
            "message": result.message,
            "at": format_time(clock()),
            "after": after,
        }
    )


def _kill_after() -> int | None:
    value = os.environ.get(KILL_AFTER_ENV, "")
    return int(value) if value.isdigit() else None
