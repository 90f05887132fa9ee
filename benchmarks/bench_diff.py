"""The diff of one big tenant: 2,000 connectors of 200 IPs and 20 domains, 10% drifted, against
the same tenant at 200 connectors (target: ratio <= 12 for 10x the data, large case < 1 s CPU).

Measured: CPU seconds (``time.process_time``) of ``driftguard.diff.findings_for`` (matching,
comparison, deepdiff on pinned Unmodelled properties, risk rating) on canonical connectors: best
of 7 interleaved rounds after a warm-up (the small case as the mean of 10 calls per round).

A second record times the whole per-tenant pipeline from raw wire records
(``core.tenant_report``: normalising 440,000 list members, matching, diff, risk, warnings), best of
3 interleaved rounds, with the same targets.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

from benchmarks._data import CONFIG, connector
from benchmarks._timing import cpu_record, cpu_seconds
from driftguard.core import tenant_report
from driftguard.diff import findings_for
from driftguard.model import BaselineConnector, Connector, Snapshot, TenantBaseline
from driftguard.normalize import connector_from_baseline, connector_from_record

LARGE, SMALL = 2000, 200
DRIFTED = 0.10
RUNS = 7
TARGET_RATIO = 12.0
MAX_CPU_SECONDS = 1.0
_EPOCH = datetime(2026, 11, 29, tzinfo=UTC)


def _wire(data: dict[str, Any], drift: bool, rng: random.Random) -> dict[str, Any]:
    record = dict(data)
    record["SenderDomains"] = [f"smtp:{d};1" for d in data["SenderDomains"]]
    record["SenderIPAddresses"] = list(data["SenderIPAddresses"])
    rng.shuffle(record["SenderIPAddresses"])
    if drift:
        record["SenderIPAddresses"].append(f"203.0.113.{rng.randrange(256)}")
        record["TreatMessagesAsInternal"] = True
        record["Comment"] = "changed"
    record["Identity"] = data["Name"]
    record["WhenChangedUTC"] = "2026-11-28T02:41:37.0000000Z"
    return record


def tenant(count: int) -> tuple[TenantBaseline, list[dict[str, Any]]]:
    rng = random.Random(count)  # noqa: S311 - test data, not secrets
    files = [connector(i, rng, "OnPremises" if i % 3 else "Partner") for i in range(count)]
    drifted = set(rng.sample(range(count), int(count * DRIFTED)))
    connectors = tuple(
        BaselineConnector(f"c{i}.yaml", f, {}, connector_from_baseline(f))
        for i, f in enumerate(files)
    )
    records = [_wire(f, i in drifted, rng) for i, f in enumerate(files)]
    rng.shuffle(records)
    return TenantBaseline(CONFIG, connectors), records


def _case(count: int) -> tuple[TenantBaseline, list[Connector], Snapshot]:
    base, records = tenant(count)
    live = [connector_from_record(r) for r in records]
    snapshot = Snapshot(tenant="bench", records=tuple(records), source="bench", taken_at=_EPOCH)
    found = findings_for(base, live)  # also the warm-up: imports, caches
    expected = int(count * DRIFTED) * 3  # SenderIPAddresses, TreatMessagesAsInternal, Comment
    if len(found) != expected:
        raise RuntimeError(f"expected {expected} findings, got {len(found)}")
    return base, live, snapshot


def run() -> list[dict[str, object]]:
    small_base, small_live, small_snap = _case(SMALL)
    large_base, large_live, large_snap = _case(LARGE)
    # Interleaved, best of RUNS: a load spike on this shared machine hits both cases alike.
    small: list[float] = []
    large: list[float] = []
    for _ in range(RUNS):
        small.append(cpu_seconds(lambda: findings_for(small_base, small_live), repeat=10))
        large.append(cpu_seconds(lambda: findings_for(large_base, large_live)))
    today = date(2026, 11, 29)
    small_report: list[float] = []
    large_report: list[float] = []
    for _ in range(3):
        small_report.append(
            cpu_seconds(lambda: tenant_report(small_base, small_snap, (), today), repeat=3)
        )
        large_report.append(cpu_seconds(lambda: tenant_report(large_base, large_snap, (), today)))
    return [
        cpu_record(
            "diff_2000_connectors_cpu", min(large), min(small), TARGET_RATIO, MAX_CPU_SECONDS
        ),
        cpu_record(
            "tenant_report_2000_connectors_cpu",
            min(large_report),
            min(small_report),
            TARGET_RATIO,
            MAX_CPU_SECONDS,
        ),
    ]
