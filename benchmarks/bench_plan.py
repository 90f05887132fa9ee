"""Planning for 2,000 drifted connectors (target: < 1 s CPU, and at most 2x the diff of the same
data, which is the reference measured in the same run).

The tenant: 2,000 baseline connectors of 200 IPs and 20 domains; 1,800 of them changed live (a
widened SenderIPAddresses, TreatMessagesAsInternal, Comment), 100 missing, plus 100 unknown live
connectors: 2,000 drifted connectors, 5,600 findings. Measured: CPU seconds
(``time.process_time``) of ``plan.plan_for`` reading the diff's Drift (one Set per connector,
preconditions, PowerShell lines, safety checks) plus ``planfile.to_document`` (canonical JSON and
its sha256 digest), best of 3 after a warm-up. A second record gives the same for 200 drifted
connectors as the reference (scaling: ratio <= 12 for 10x the data).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks._data import CONFIG, connector
from benchmarks._timing import cpu_record, cpu_seconds
from driftguard.diff import drift_for, findings_for
from driftguard.model import BaselineConnector, Connector, TenantBaseline
from driftguard.normalize import connector_from_baseline, connector_from_record
from driftguard.plan import PlanOptions, plan_for
from driftguard.planfile import to_document

LARGE, SMALL = 2000, 200
RUNS = 3
MAX_CPU_SECONDS = 1.0
MAX_RATIO_TO_DIFF = 2.0
MAX_SCALING = 12.0
NOW = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)


def tenant(drifted: int) -> tuple[TenantBaseline, list[Connector]]:
    """``drifted`` drifted connectors: 90% changed, 5% missing, 5% unknown."""
    rng = random.Random(drifted)  # noqa: S311 - test data, not security
    missing = drifted // 20
    unknown = drifted // 20
    files = [connector(i, rng) for i in range(drifted - unknown)]
    baseline = TenantBaseline(
        CONFIG,
        tuple(
            BaselineConnector(f"c{i}.yaml", f, {}, connector_from_baseline(f))
            for i, f in enumerate(files)
        ),
    )
    live = []
    for f in files[missing:]:
        record = {**f, "SenderDomains": [f"smtp:{d};1" for d in f["SenderDomains"]]}
        record["SenderIPAddresses"] = [*f["SenderIPAddresses"], f"203.0.113.{rng.randrange(256)}"]
        record["TreatMessagesAsInternal"] = True
        record["Comment"] = "changed"
        live.append(connector_from_record(record))
    for n in range(unknown):
        rogue = connector(LARGE * 10 + n, rng)
        rogue["Name"] = f"Rogue {n:05d}"
        live.append(connector_from_record(rogue))
    return baseline, live


def _cpu(fn: Callable[[], object]) -> float:
    """Best of RUNS after a warm-up call."""
    fn()
    return min(cpu_seconds(fn) for _ in range(RUNS))


def _measure(drifted: int) -> tuple[float, float]:
    baseline, live = tenant(drifted)
    drift = drift_for(baseline, live)
    options = PlanOptions(force=True)  # 5% unknown connectors exceed the default safety limit

    def planning() -> object:
        plan = plan_for(
            drift,
            created_at=NOW,
            expires_at=NOW + timedelta(hours=24),
            options=options,
        )
        return to_document(plan)

    doc: Any = planning()
    if len(doc["actions"]) != drifted:
        raise RuntimeError(f"expected {drifted} actions, got {len(doc['actions'])}")
    return _cpu(planning), _cpu(lambda: findings_for(baseline, live))


def run() -> list[dict[str, object]]:
    small_plan, _small_diff = _measure(SMALL)
    large_plan, large_diff = _measure(LARGE)
    return [
        cpu_record("plan_2000_drifted_vs_diff_cpu", large_plan, large_diff, MAX_RATIO_TO_DIFF, 1.0),
        cpu_record("plan_2000_vs_200_drifted_cpu", large_plan, small_plan, MAX_SCALING, None),
    ]
