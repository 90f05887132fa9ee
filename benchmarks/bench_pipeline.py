"""One big tenant end to end, and its baseline loaded from disk (2,000 connectors of 200 IPs and
20 domains each, 10% drifted: the tenant of ``bench_diff``).

``pipeline_2000_vs_diff_cpu``: CPU seconds of the whole per-tenant pipeline from the records the
service returns (``core.tenant_report``: normalising 440,000 list members, matching, diff, risk,
warnings, ignores) to the report object and the JSON report text (``report.json_format.render``,
bounds included). Reference: the diff alone (``diff.findings_for`` on the canonical connectors of
the same data), measured interleaved in the same run; target ratio <= 2.

``baseline_load_2000_connectors_cpu``: CPU seconds of ``baseline.load.load_baseline`` on that
tenant's folder, the 2,000 connector files written as ``driftguard adopt`` writes them
(``adopt.connector_yaml``). Reference: reading the same files and parsing each with PyYAML's
``yaml.load(CSafeLoader)`` (libyaml, which still builds a node and resolves a tag per value in
Python). Targets: the value under 2 s of CPU, and no slower than that plain parse (ratio <= 1):
files in the form adopt writes are read without a node per value (``baseline/plainyaml.py``).

Best of RUNS interleaved rounds after a warm-up: a load spike on a shared machine hits both alike.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from benchmarks._data import CONFIG
from benchmarks._timing import cpu_record, cpu_seconds
from benchmarks.bench_diff import tenant
from driftguard.adopt import connector_yaml, tenant_yaml
from driftguard.baseline.load import load_baseline
from driftguard.core import tenant_report
from driftguard.diff import findings_for
from driftguard.model import Report, Snapshot, TenantConfig
from driftguard.normalize import connector_from_record
from driftguard.report.json_format import render

COUNT = 2000
RUNS = 5
MAX_PIPELINE_RATIO = 2.0
MAX_LOAD_RATIO = 1.0
MAX_LOAD_SECONDS = 2.0
_NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _best(value: Callable[[], object], reference: Callable[[], object]) -> tuple[float, float]:
    """Best CPU seconds of each, interleaved over RUNS rounds after one warm-up call of each."""
    value()
    reference()
    values: list[float] = []
    references: list[float] = []
    for _ in range(RUNS):
        values.append(cpu_seconds(value))
        references.append(cpu_seconds(reference))
    return min(values), min(references)


def _pipeline() -> dict[str, object]:
    base, records = tenant(COUNT)
    snapshot = Snapshot(tenant="bench", records=tuple(records), source="bench", taken_at=_NOW)
    live = [connector_from_record(r) for r in records]

    def pipeline() -> str:
        report = tenant_report(base, snapshot, (), _NOW.date())
        return render(Report(generated_at=_NOW, tenants=(report,), command="diff"))

    expected = int(COUNT * 0.10) * 3
    if pipeline().count('"kind": "changed"') != expected:
        raise RuntimeError(f"expected {expected} changed findings in the JSON report")
    value, reference = _best(pipeline, lambda: findings_for(base, live))
    return cpu_record("pipeline_2000_vs_diff_cpu", value, reference, MAX_PIPELINE_RATIO, None)


def write_tenant(root: Path) -> list[Path]:
    """The benchmark tenant's baseline folder under ``root``, as adopt writes it; its files."""
    base, _records = tenant(COUNT)
    folder = root / CONFIG.name
    (folder / "inbound").mkdir(parents=True)
    config = TenantConfig(
        name=CONFIG.name,
        tenant_id=str(uuid.UUID(int=1)),
        trusted_ip_ranges=CONFIG.trusted_ip_ranges,
    )
    (folder / "tenant.yaml").write_text(tenant_yaml(config), encoding="utf-8")
    paths = []
    for i, bc in enumerate(base.connectors):
        path = folder / "inbound" / f"relay-{i:05d}.yaml"
        path.write_text(connector_yaml(bc.connector), encoding="utf-8")
        paths.append(path)
    return paths


def _load() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="driftguard-bench-") as tmp:
        root = Path(tmp)
        paths = [root / CONFIG.name / "tenant.yaml", *write_tenant(root)]

        def load() -> object:
            return load_baseline(root, [CONFIG.name])

        def parse() -> object:
            return [yaml.load(p.read_bytes(), Loader=_Loader) for p in paths]  # noqa: S506 - safe

        loaded = load_baseline(root, [CONFIG.name]).tenants[CONFIG.name]
        if len(loaded.connectors) != COUNT:
            raise RuntimeError(f"expected {COUNT} connectors, loaded {len(loaded.connectors)}")
        value, reference = _best(load, parse)
    return cpu_record(
        "baseline_load_2000_connectors_cpu", value, reference, MAX_LOAD_RATIO, MAX_LOAD_SECONDS
    )


def run() -> list[dict[str, object]]:
    return [_pipeline(), _load()]
