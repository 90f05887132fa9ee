"""Helpers for the investigation tests: a simulator tenant with a baseline folder pointing at it,
Graph included, and the CLI run in-process."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftguard.cli import main
from driftguard.sim import Simulator
from driftguard.sim.scenarios import drift

DRIFT_TIME = datetime(2026, 11, 28, 2, 38, 12, tzinfo=UTC)
SINCE = "2026-11-01"


def baseline_for(simulator: Simulator, root: Path, tenants: Sequence[str]) -> Path:
    """The simulator's baseline folder (its tenant.yaml points Graph at the simulator too)."""
    return simulator.write_baseline(root, list(tenants))


def tamper(simulator: Simulator, tenant: str, *kinds: str, when: datetime = DRIFT_TIME) -> None:
    for kind in kinds:
        drift(simulator.state, simulator.tenant(tenant), kind, when=when)


def run_json(capsys: Any, *args: str) -> tuple[int, dict[str, Any]]:
    """Run the CLI with --format json; (exit code, parsed report), the report checked against
    the packaged report schema."""
    import jsonschema

    from driftguard.report.json_format import schema

    capsys.readouterr()
    code = main([*args, "--format", "json"])
    out = capsys.readouterr().out
    report = json.loads(out) if out.strip() else {}
    if report:
        jsonschema.validate(report, schema())
    return code, report


def demo_args(
    tmp_path: Path, *extra: str, since: str = SINCE, until: str = "2026-11-29"
) -> list[str]:
    """``investigate`` on the demo tenant's live export (written to ``tmp_path``), in a window,
    then ``extra``: the offline path, evidence from files only."""
    from driftguard.demo.source import live_bytes

    live = tmp_path / "live.json"
    live.write_bytes(live_bytes())
    return [
        "investigate",
        "--baseline",
        str(tmp_path / "none"),
        "--tenant",
        "demo",
        "--live",
        str(live),
        "--since",
        since,
        "--until",
        until,
        *extra,
    ]
