"""The watch loop: sweep, record, notify, wait; and the outbox delivery that survives crashes.

Order of one tenant's step (what makes "no lost notification" hold across ``kill -9``): the new
verdict and the notification it calls for are written in one SQLite transaction; delivery reads
the outbox afterwards and marks each row sent only once its target accepted it. A crash before
the transaction loses nothing (the next sweep sees the same change again); a crash after it
leaves an unsent row that the next start delivers first.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from driftguard.errors import DriftguardError, InputError
from driftguard.live.runner import read_tenants
from driftguard.live.source import Source
from driftguard.model import Baseline, Snapshot, Status, TenantConfig, TenantReport
from driftguard.notify import NotifyError
from driftguard.textsafe import bounded
from driftguard.watch.judgement import Judged, KeptJudgements, previous_verdict
from driftguard.watch.notify import Notification, Notifier
from driftguard.watch.schedule import Schedule
from driftguard.watch.state import WHOLE, Outgoing, Transition, WatchState
from driftguard.watch.verdict import (
    Change,
    change_between,
    notification_key,
    payload,
    verdict_of,
)

WHOLE_LABEL = "(baseline)"  # how the watch's own verdict is named in notifications

# (report, baseline, snapshot) -> the report with the audit trail attached to its findings
Evidence = Callable[[TenantReport, Baseline, Snapshot], TenantReport]


@dataclass(frozen=True)
class Edges:
    """Everything the loop touches, passed in (tests give the simulator and a fake clock)."""

    load: Callable[[], Baseline]
    select: Callable[[Baseline], list[str]]
    source: Source
    evidence: Evidence
    notifiers: Sequence[Notifier]
    say: Callable[[str], None]
    clock: Callable[[], datetime]
    monotonic: Callable[[], float]
    wait: Callable[[float], bool]  # wait up to N seconds; True when asked to stop
    concurrency: int = 16


@dataclass(frozen=True)
class SweepResult:
    sweep: int
    duration: float
    overran: bool
    reports: tuple[TenantReport, ...]
    changes: Mapping[str, Change]
    reused: int = 0  # tenants whose answer had not changed: the last judgement held

    @property
    def exit_code(self) -> int:
        statuses = {r.status for r in self.reports}
        if Status.ERROR in statuses:
            return 1
        return 2 if Status.DRIFT in statuses else 0


class _Stopping(Exception):
    """Raised in a read that was waiting for its slot when the watch was asked to stop."""


@dataclass(frozen=True)
class _Staggered:
    """The source, with each tenant's read held back until its slot in the sweep."""

    source: Source
    starts: Mapping[str, float]
    monotonic: Callable[[], float]
    wait: Callable[[float], bool]

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        delay = self.starts.get(tenant.name, 0.0) - self.monotonic()
        if delay > 0 and self.wait(delay):
            raise _Stopping
        return self.source.snapshot(tenant)


def run(
    state: WatchState,
    schedule: Schedule,
    edges: Edges,
    *,
    sweeps: int | None = None,
    rng: random.Random | None = None,
) -> int:
    """Sweep until asked to stop (or ``sweeps`` times); the exit code of the last sweep."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    deliver(state, edges)  # what a crash left in the outbox goes first
    kept = KeptJudgements()  # a tenant whose answer did not change is not judged again
    done = 0
    code = 0
    while sweeps is None or done < sweeps:
        began = edges.monotonic()
        try:
            result = sweep(state, schedule, edges, kept)
        except DriftguardError as exc:  # e.g. the baseline could not be loaded: say so, go on
            for line in exc.lines():
                edges.say(f"error: {line}")
            code = 1
        else:
            if result is None:  # stopped halfway: nothing of it was recorded
                break
            code = result.exit_code
        done += 1
        if sweeps is not None and done >= sweeps:
            break
        pause = schedule.next_start(rng) - (edges.monotonic() - began)
        if edges.wait(max(0.0, pause)):
            break
    return code


def _asked_to_stop(edges: Edges) -> bool:
    return edges.wait(0)


def sweep(
    state: WatchState, schedule: Schedule, edges: Edges, kept: KeptJudgements | None = None
) -> SweepResult | None:
    """One sweep over every selected tenant; None when a stop interrupted it (not recorded).

    A baseline that cannot be loaded fails the sweep (DriftguardError): nothing can be judged,
    which is told once, as a change of the watch's own verdict, and again when it loads.
    ``kept``: the judgements of the previous sweep (judgement.py), reused where a tenant's
    answer did not change, and updated once this sweep is recorded; None judges every tenant."""
    kept = kept if kept is not None else KeptJudgements()
    started, t0 = edges.clock(), edges.monotonic()
    number = state.begin_sweep(started, schedule.interval)
    try:
        baseline = edges.load()
        names = edges.select(baseline)
        if not names:
            raise InputError("no tenants to watch in the baseline")
    except DriftguardError as exc:
        _record_whole(state, edges, number, exc)
        deliver(state, edges)
        duration = edges.monotonic() - t0
        state.finish_sweep(number, edges.clock(), duration, tenants=0, errors=0, overran=False)
        raise
    _record_whole(state, edges, number, None)
    offsets = schedule.start_offsets(len(names))
    staggered = _Staggered(
        edges.source,
        {name: t0 + offset for name, offset in zip(names, offsets, strict=True)},
        edges.monotonic,
        edges.wait,
    )
    configs = [baseline.tenants[name].config for name in names]
    reads = read_tenants(configs, staggered, concurrency=edges.concurrency)
    if _asked_to_stop(edges):
        return None
    now = edges.clock()
    targets = tuple(n.name for n in edges.notifiers)
    reports: list[TenantReport] = []
    changes: dict[str, Change] = {}
    kept.begin(baseline, now.date(), names)
    judged = [kept.judge(state, baseline, read, now.date()) for read in reads]
    drifted = [j for j in judged if j.change is Change.NEW_DRIFT and j.snapshot is not None]
    evidence = _evidence_for(drifted, baseline, edges)
    if _asked_to_stop(edges):
        return None
    transitions: list[Transition] = []
    for j in judged:
        report = evidence.get(j.report.tenant, j.report)
        outgoing = None
        if j.change is not None:
            changes[report.tenant] = j.change
            key = notification_key(report.tenant, number, j.change)
            summary, body = payload(key, j.change, number, now, report)
            outgoing = Outgoing(key, summary, body, targets)
        transitions.append(
            Transition(
                tenant=report.tenant,
                verdict=j.verdict.status.value,
                fingerprint=j.verdict.fingerprint,
                detail=report.error,
                snapshot=j.document,
                digest=j.digest,
                notification=outgoing,
            )
        )
        reports.append(report)
    state.record_all(number, now, transitions)  # one transaction: the whole sweep or none of it
    kept.keep(judged)  # only what was recorded is reused
    deliver(state, edges)
    duration = edges.monotonic() - t0
    overran = duration > schedule.interval
    errors = sum(1 for r in reports if r.status is Status.ERROR)
    state.finish_sweep(
        number, edges.clock(), duration, tenants=len(reports), errors=errors, overran=overran
    )
    drift = sum(1 for r in reports if r.status is Status.DRIFT)
    reused = sum(1 for j in judged if j.reused)
    same = f"; {reused} answered as at the last sweep (not judged again)" if reused else ""
    edges.say(
        f"sweep {number}: {len(reports)} tenant{'s' if len(reports) != 1 else ''} in "
        f"{duration:.1f} s of a {schedule.interval:g} s interval; {drift} drift, "
        f"{errors} unreadable, {len(changes)} change{'s' if len(changes) != 1 else ''}{same}"
    )
    if overran:
        edges.say(
            f"warning: sweep {number} took {duration:.1f} s, longer than its "
            f"{schedule.interval:g} s interval: tenants are checked less often than asked "
            "(raise --interval or --concurrency, or split the tenants with --shard)"
        )
    return SweepResult(number, duration, overran, tuple(reports), changes, reused)


def _evidence_for(
    drifted: Sequence[Judged], baseline: Baseline, edges: Edges
) -> dict[str, TenantReport]:
    """The audit trail of each new drift, read in parallel; a trail that cannot be read is a
    warning on that report, never a lost verdict or a stopped sweep."""
    if not drifted:
        return {}

    def one(j: Judged) -> TenantReport:
        if j.snapshot is None or _asked_to_stop(edges):
            return j.report
        try:
            return edges.evidence(j.report, baseline, j.snapshot)
        except Exception as exc:  # a bug in one trail must not cost the sweep its verdicts
            note = f"{j.report.tenant}: audit evidence could not be read: {type(exc).__name__}"
            return replace(j.report, warnings=(*j.report.warnings, note))

    workers = max(1, min(edges.concurrency, len(drifted)))
    with ThreadPoolExecutor(workers, thread_name_prefix="driftguard-evidence") as pool:
        return {r.tenant: r for r in pool.map(one, drifted)}


def _record_whole(
    state: WatchState, edges: Edges, number: int, error: DriftguardError | None
) -> None:
    """The watch's own verdict: ERROR while its baseline cannot be used, OK again after."""
    previous = previous_verdict(state, WHOLE)
    if error is None and previous is None:
        return  # never failed: nothing to record
    message = None if error is None else bounded("; ".join(error.lines()))
    report = TenantReport(
        tenant=WHOLE_LABEL, status=Status.OK if error is None else Status.ERROR, error=message
    )
    current = verdict_of(report)
    change = change_between(previous, current)
    outgoing = None
    if change is not None:
        now = edges.clock()
        key = notification_key(WHOLE_LABEL, number, change)
        summary, body = payload(key, change, number, now, report)
        outgoing = Outgoing(key, summary, body, tuple(n.name for n in edges.notifiers))
    state.record(
        number,
        edges.clock(),
        Transition(WHOLE, current.status.value, "", message, None, None, outgoing),
    )


def deliver(state: WatchState, edges: Edges) -> int:
    """Send every unsent outbox row to its target; the number still unsent afterwards."""
    targets = {n.name: n for n in edges.notifiers}
    left = 0
    for row in state.pending():
        target = targets.get(row.target)
        if target is None:
            left += 1
            edges.say(
                f"warning: notification {row.key} waits for target {row.target}, "
                "which this watch does not have (add it with --notify)"
            )
            continue
        try:
            target.send(Notification(row.key, row.tenant, row.summary, row.payload))
        except NotifyError as exc:
            left += 1
            state.mark_failed(row, exc.message)
            edges.say(f"warning: {exc.message}: {row.key} stays in the outbox")
            continue
        state.mark_sent(row, edges.clock())
    return left
