"""A steady `driftguard watch`: what a sweep costs when nothing changed.

``watch_steady_2000_connectors_vs_diff_cpu``: CPU seconds of one steady sweep (``watch.loop.sweep``
with the judgements kept from the sweep before: digest of the answer's bytes, the kept judgement
recognised, the verdict read and written back in the SQLite state, the sweep recorded) of the
2,000-connector tenant of ``bench_diff``, the read itself left out (the records are at hand; the
digest of their bytes, which the read computes, is counted). Reference: the diff alone
(``diff.findings_for`` on the canonical connectors), interleaved; target ratio <= 2. The first
sweep of the same tenant (a fresh state and nothing kept: normalise, diff, risk, the stored
document and its digest, the notification of the new drift) is in the target text.

``watch_steady_sweep_cpu_per_tenant_vs_read``: simulated tenants at 100 ms per request, served
over HTTPS by ``driftguard sim serve`` in its own process, concurrency 32. Client CPU per tenant
(this process, every thread) of a steady watch sweep with the watch's transport (one connection
pool, sign-in kept per tenant: one request per tenant; the baseline's files stamped, nothing
reloaded) against a one-shot read of the same tenants (discovery, token, read). Target: under a
third. ``watch_steady_sweep_vs_ideal``: that sweep's wall time against its ideal (requests x
latency / concurrency), target <= 1.25; the first sweep's is in the target text.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._data import CONFIG
from benchmarks._timing import cpu_record
from benchmarks.bench_diff import tenant
from benchmarks.bench_tenants import CONCURRENCY, LATENCY_MS, _client_cpu, _read, _Sim, served
from driftguard.diff import findings_for
from driftguard.live.wire import BodyDigest
from driftguard.model import Baseline, Snapshot, TenantConfig
from driftguard.normalize import connector_from_record
from driftguard.watch import loop
from driftguard.watch.judgement import KeptJudgements
from driftguard.watch.schedule import Schedule
from driftguard.watch.state import WatchState, opened

RUNS = 7
FIRST_RUNS = 2
TARGET_VS_DIFF = 2.0
TENANTS = 1000
TARGET_VS_READ = 1 / 3
TARGET_IDEAL = 1.25
SCHEDULE = Schedule(interval=300, spread=0, jitter=0)
_EPOCH = datetime(2026, 11, 29, 9, tzinfo=UTC)


def run() -> list[dict[str, Any]]:
    return [*_big_tenant(), *_many_tenants()]


# --------------------------------------------------------------------------- one big tenant


class _Answer:
    """The tenant's answer as the read hands it on: the records, and the digest of the bytes
    they came from (computed on every read, so counted)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = tuple(records)
        self.body = json.dumps({"value": records}).encode("utf-8")

    def snapshot(self, config: TenantConfig) -> Snapshot:
        digest = BodyDigest()
        digest.add(self.body)
        return Snapshot(config.name, self.records, "bench", _EPOCH, read_digest=digest.hexdigest())


def _edges(baseline: Baseline, answer: _Answer) -> loop.Edges:
    return loop.Edges(
        load=lambda: baseline,
        select=lambda loaded: sorted(loaded.tenants),
        source=answer,
        evidence=lambda report, _baseline, _snapshot: report,
        notifiers=(),
        say=lambda _line: None,
        clock=lambda: _EPOCH,
        monotonic=time.monotonic,
        wait=lambda _seconds: False,
        concurrency=1,
    )


def _sweep(state: WatchState, edges: loop.Edges, kept: KeptJudgements) -> loop.SweepResult:
    result = loop.sweep(state, SCHEDULE, edges, kept)
    if result is None:
        raise RuntimeError("the sweep stopped")
    return result


def _cpu(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def _big_tenant() -> list[dict[str, Any]]:
    base, records = tenant(2000)
    live = [connector_from_record(r) for r in records]
    baseline = Baseline(root="bench", tenants={CONFIG.name: base})
    edges = _edges(baseline, _Answer(records))
    diff: list[float] = []
    first: list[float] = []
    steady: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="dg-bench-watch-") as tmp,
        opened(Path(tmp) / "steady.sqlite") as state,
    ):
        kept = KeptJudgements()
        judged = _sweep(state, edges, kept)  # also the warm-up
        for i in range(RUNS):
            seconds, _ = _cpu(lambda: findings_for(base, live))
            diff.append(seconds)
            seconds, again = _cpu(lambda: _sweep(state, edges, kept))
            steady.append(seconds)
            assert isinstance(again, loop.SweepResult)
            if again.reused != 1 or again.reports != judged.reports or again.changes:
                raise RuntimeError("a steady sweep did not keep the same judgement")
            if i < FIRST_RUNS:
                with opened(Path(tmp) / f"first-{i}.sqlite") as fresh:
                    seconds, _ = _cpu(lambda: _sweep(fresh, edges, KeptJudgements()))
                first.append(seconds)
    record = cpu_record(
        "watch_steady_2000_connectors_vs_diff_cpu", min(steady), min(diff), TARGET_VS_DIFF, None
    )
    record["target"] = (
        f"<= {TARGET_VS_DIFF} (steady sweep of a 2,000-connector tenant against the diff alone; "
        f"its first sweep {min(first):.3f} s = {min(first) / min(diff):.1f}x the diff)"
    )
    return [record]


# --------------------------------------------------------------------------- many tenants


class _Timed:
    def __init__(self, wall: float, cpu: float, requests: int, result: loop.SweepResult) -> None:
        self.wall, self.cpu, self.requests, self.result = wall, cpu, requests, result

    @property
    def ideal(self) -> float:
        return self.requests * (LATENCY_MS / 1000.0) / CONCURRENCY


def _timed(sim: _Sim, fn: Callable[[], loop.SweepResult]) -> _Timed:
    before = sim.requests()
    cpu = _client_cpu()
    start = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    cpu = _client_cpu() - cpu
    if result.exit_code == 1:  # some simulated tenants drift (exit 2); none may be unreadable
        raise RuntimeError(f"sweep {result.sweep}: a tenant could not be read")
    return _Timed(wall, cpu, sim.requests() - before, result)


def _many_tenants() -> list[dict[str, Any]]:
    from driftguard.baseline.load import load_baseline
    from driftguard.live.service import ExchangeSource, PooledSessions
    from driftguard.watch.baselinecache import ReloadOnChange
    from driftguard.watch.tokens import KeptTokens

    with (
        tempfile.TemporaryDirectory(prefix="dg-bench-watch-") as tmp,
        served(TENANTS, Path(tmp)) as (sim, base, _pid),
    ):
        baseline = ReloadOnChange(lambda: load_baseline(base), base)
        configs = sorted((t.config for t in baseline().tenants.values()), key=lambda c: c.name)
        once = _read(configs, sim, CONCURRENCY)  # the one-shot commands' read
        if once.failed:
            raise RuntimeError(f"{once.failed} one-shot reads failed")
        pool = PooledSessions(pool_size=CONCURRENCY)  # the watch's transport (watch_cmd)
        source = ExchangeSource(session_factory=pool, tokens=KeptTokens())
        edges = loop.Edges(
            load=baseline,
            select=lambda loaded: sorted(loaded.tenants),
            source=source,
            evidence=lambda report, _baseline, _snapshot: report,
            notifiers=(),
            say=lambda _line: None,
            clock=lambda: datetime.now(UTC),
            monotonic=time.monotonic,
            wait=lambda _seconds: False,
            concurrency=CONCURRENCY,
        )
        kept = KeptJudgements()
        try:
            with opened(Path(tmp) / "watch.sqlite") as state:
                first = _timed(sim, lambda: _sweep(state, edges, kept))
                steady = min(
                    (_timed(sim, lambda: _sweep(state, edges, kept)) for _ in range(2)),
                    key=lambda t: t.cpu,
                )
        finally:
            pool.close()
    if steady.result.reused != TENANTS:
        raise RuntimeError(f"a steady sweep kept {steady.result.reused} of {TENANTS} judgements")
    per_tenant = 1000 * steady.cpu / TENANTS
    read_per_tenant = 1000 * once.cpu / TENANTS
    cpu = cpu_record(
        "watch_steady_sweep_cpu_per_tenant_vs_read",
        per_tenant,
        read_per_tenant,
        TARGET_VS_READ,
        None,
    )
    cpu["unit"] = "cpu_ms_per_tenant"
    cpu["target"] = (
        f"<= 1/3 ({TENANTS} tenants: client CPU of a steady watch sweep {per_tenant:.2f} ms per "
        f"tenant, {steady.requests / TENANTS:.1f} requests each; a one-shot read "
        f"{read_per_tenant:.2f} ms, {once.requests / TENANTS:.1f} requests each; the first "
        f"sweep {1000 * first.cpu / TENANTS:.2f} ms)"
    )
    ratio = steady.wall / steady.ideal
    wall = {
        "name": "watch_steady_sweep_vs_ideal",
        "value": round(steady.wall, 3),
        "reference": round(steady.ideal, 3),
        "ratio": round(ratio, 3),
        "target": f"<= {TARGET_IDEAL} ({TENANTS} tenants, {steady.requests} requests x "
        f"{LATENCY_MS} ms / concurrency {CONCURRENCY}; the first sweep {first.wall:.2f} s "
        f"against {first.ideal:.2f} s = {first.wall / first.ideal:.2f}x, {first.requests} "
        "requests)",
        "ok": ratio <= TARGET_IDEAL,
    }
    return [cpu, wall]
