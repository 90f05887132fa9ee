"""The diff of one big tenant: 2,000 connectors of 200 IPs and 20 domains, 10% drifted, against
the same tenant at 200 connectors (target: ratio <= 12 for 10x the data, large case < 1 s CPU).

Measured: CPU seconds (``time.process_time``) of ``driftguard.diff.findings_for`` (matching,
comparison, deepdiff on the drifted pairs, risk rating) on canonical connectors: best of 7
interleaved rounds after a warm-up (the small case as the mean of 10 calls per round).

``pipeline()`` times the whole per-tenant pipeline from raw wire records (``core.tenant_report``,
normalisation included) for a look at where the rest of the time goes; it is not a gated record:
normalising 440,000 list members dominates it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from driftguard.core import tenant_report
from driftguard.diff import findings_for
from driftguard.model import (
    BaselineConnector,
    Connector,
    Snapshot,
    TenantBaseline,
    TenantConfig,
)
from driftguard.normalize import connector_from_baseline, connector_from_record

LARGE, SMALL = 2000, 200
IPS, DOMAINS = 200, 20
DRIFTED = 0.10
RUNS = 7
TARGET_RATIO = 12.0
MAX_CPU_SECONDS = 1.0
_EPOCH = datetime(2026, 11, 29, tzinfo=UTC)
CONFIG = TenantConfig(name="bench", tenant_id="x", trusted_ip_ranges=("10.0.0.0/8",))


def _connector(i: int, rng: random.Random) -> dict[str, Any]:
    base = (i * IPS) % (1 << 16)
    ips = [
        f"10.{(base + k) >> 8 & 255}.{(base + k) & 255}.{rng.randrange(256)}" for k in range(IPS)
    ]
    return {
        "Name": f"Relay {i:05d}",
        "Guid": f"00000000-0000-4000-8000-{i:012d}",
        "ConnectorType": "OnPremises" if i % 3 else "Partner",
        "SenderDomains": [f"d{k}.tenant{i}.example" for k in range(DOMAINS)],
        "SenderIPAddresses": ips,
        "RequireTls": True,
        "RestrictDomainsToIPAddresses": True,
        "Comment": f"connector {i}",
    }


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
    files = [_connector(i, rng) for i in range(count)]
    drifted = set(rng.sample(range(count), int(count * DRIFTED)))
    connectors = tuple(
        BaselineConnector(f"c{i}.yaml", f, {}, connector_from_baseline(f))
        for i, f in enumerate(files)
    )
    records = [_wire(f, i in drifted, rng) for i, f in enumerate(files)]
    rng.shuffle(records)
    return TenantBaseline(CONFIG, connectors), records


def _cpu(fn: Callable[[], object], repeat: int = 1) -> float:
    """CPU seconds of one call of ``fn`` (the mean of ``repeat`` back-to-back calls)."""
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def _case(count: int) -> tuple[TenantBaseline, list[Connector], Snapshot]:
    base, records = tenant(count)
    live = [connector_from_record(r) for r in records]
    snapshot = Snapshot(tenant="bench", records=tuple(records), source="bench", taken_at=_EPOCH)
    found = findings_for(base, live)  # also the warm-up: imports, caches
    expected = int(count * DRIFTED) * 3  # SenderIPAddresses, TreatMessagesAsInternal, Comment
    if len(found) != expected:
        raise RuntimeError(f"expected {expected} findings, got {len(found)}")
    return base, live, snapshot


def _record(name: str, value: float, reference: float, limit: float | None) -> dict[str, object]:
    ratio = value / reference if reference > 0 else float("inf")
    ok = ratio <= TARGET_RATIO and (limit is None or value < limit)
    return {
        "name": name,
        "value": round(value, 4),
        "reference": round(reference, 4),
        "ratio": round(ratio, 2),
        "target": TARGET_RATIO,
        "ok": ok,
        "unit": "cpu_seconds",
        **({"limit": limit} if limit is not None else {}),
    }


def pipeline() -> dict[str, object]:
    """CPU seconds of ``core.tenant_report`` from raw records, large vs small (not gated)."""
    today = date(2026, 11, 29)
    small_base, _, small_snap = _case(SMALL)
    large_base, _, large_snap = _case(LARGE)
    small = _cpu(lambda: tenant_report(small_base, small_snap, (), today))
    large = _cpu(lambda: tenant_report(large_base, large_snap, (), today))
    return _record("tenant_report_2000_connectors_cpu", large, small, None)


def run() -> list[dict[str, object]]:
    small_base, small_live, _ = _case(SMALL)
    large_base, large_live, _ = _case(LARGE)
    # Interleaved, best of RUNS: a load spike on this shared machine hits both cases alike.
    small: list[float] = []
    large: list[float] = []
    for _ in range(RUNS):
        small.append(_cpu(lambda: findings_for(small_base, small_live), repeat=10))
        large.append(_cpu(lambda: findings_for(large_base, large_live)))
    return [
        _record("diff_2000_connectors_cpu", min(large), min(small), MAX_CPU_SECONDS),
    ]
