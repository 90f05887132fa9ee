"""`diff` over many tenants judges each tenant as its read completes (app/diff.py): the reads
start once every tenant.yaml is read, the connector files are loaded meanwhile. Its report is the
one of reading every tenant first and judging them after (``--explain``'s path, kept); a problem
in a connector file found while reading fails the run exactly as one found before."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from driftguard.app.diff import diff_report
from driftguard.baseline.load import load_requested
from driftguard.cli import build_parser, main
from driftguard.cli._live import selected_tenants, snapshots_for
from driftguard.cli._output import emit_report
from driftguard.errors import BaselineError
from driftguard.sim import Simulator
from driftguard.textsafe import visible

IGNORES = """\
- tenant: tenant-0004
  connector: Partner TLS
  field: Comment
  reason: approved by CAB-7
  expires: 2099-01-31
"""


def _report(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    document.pop("generated_at")
    return document


def _estate(sim_factory: Callable[..., Simulator], root: Path, tenants: int) -> Path:
    """Tenants with every verdict: clean, drift, an accepted exception, unreadable."""
    sim = sim_factory(tenants=tenants)
    base = sim.write_baseline(root)
    (base / ".driftguardignore.yaml").write_text(IGNORES, encoding="utf-8")
    sim.tenant("tenant-0002").faults = {"forbidden-nonjson": 1.0}  # unreadable: an error
    gone = sim.tenant("tenant-0003").connectors
    gone[:] = gone[1:]  # a connector of the baseline is gone: drift
    for tenant in ("tenant-0004", "tenant-0006"):  # the same change, accepted for one of them
        for record in sim.tenant(tenant).connectors:
            if record["Name"] == "Partner TLS":
                record["Comment"] = "changed in the portal"
    return base


def test_the_streamed_report_is_the_report_of_reading_everything_first(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    base = _estate(sim_factory, tmp_path / "baseline", tenants=9)
    common = ["diff", "--baseline", str(base), "--format", "json", "--deadline", "3"]
    streamed = tmp_path / "streamed.json"
    code = main([*common, "--processes", "1", "--concurrency", "3", "--output", str(streamed)])
    # the path that keeps every snapshot, then judges (what --explain still does)
    args = build_parser("diff").parse_args([*common, "--processes", "1"])
    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    whole = diff_report(baseline, names, snapshots_for(args, baseline, names), datetime.now(UTC))
    emit_report(whole, "json", str(tmp_path / "whole.json"))
    assert code == whole.exit_code == 1
    streamed_doc, whole_doc = _report(streamed), _report(tmp_path / "whole.json")
    assert streamed_doc == whole_doc
    statuses = {t["tenant"]: t["status"] for t in streamed_doc["tenants"]}
    assert [t["tenant"] for t in streamed_doc["tenants"]] == sorted(statuses)
    assert statuses["tenant-0002"] == "error"
    assert statuses["tenant-0003"] == statuses["tenant-0006"] == "drift"
    assert statuses["tenant-0004"] == statuses["tenant-0001"] == "ok"
    accepted = next(t for t in streamed_doc["tenants"] if t["tenant"] == "tenant-0004")
    assert accepted["suppressed"]  # the accepted exception, kept apart


@pytest.mark.parametrize("processes", [1, 2])
def test_a_connector_file_problem_found_while_reading_fails_as_one_found_before(
    sim_factory: Callable[..., Simulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    processes: int,
) -> None:
    sim = sim_factory(tenants=24, latency_ms=40)
    base = sim.write_baseline(tmp_path / "baseline")
    early = base / "tenant-0003" / "inbound" / "hybrid-relay.yaml"
    early.write_text(early.read_text("utf-8") + "RequireTls: maybe\n", "utf-8")
    late = base / "tenant-0023" / "inbound" / "partner-tls.yaml"
    late.write_text(late.read_text("utf-8").replace("Name:", "Nmae:"), "utf-8")
    with pytest.raises(BaselineError) as before:
        load_requested(base)  # what loading everything first says
    expected = [visible(line) for line in before.value.lines()]
    assert len(before.value.problems) >= 2
    out = tmp_path / "report.json"
    argv = ["diff", "--baseline", str(base), "--concurrency", "2", "--output", str(out)]
    code = main([*argv, "--processes", str(processes), "--format", "json"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert [line for line in err if not line.startswith("tenants ")] == expected
    assert not out.exists()  # no report: no tenant is called clean
    # The tenants were being read when the problem was found; those not started never were.
    read = {r.tenant for r in sim.requests_log if r.endpoint == "invoke"}
    assert "tenant-0003" in read
    assert len(read) < 24


def test_a_problem_in_a_tenant_outside_the_shard_still_fails_the_run(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=4)
    base = sim.write_baseline(tmp_path / "baseline")
    bad = base / "tenant-0002" / "inbound" / "hybrid-relay.yaml"
    bad.write_text(bad.read_text("utf-8") + "Enabled: perhaps\n", "utf-8")
    code = main(["diff", "--baseline", str(base), "--shard", "1/2", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 1
    assert "tenant-0002/inbound/hybrid-relay.yaml" in captured.err
    assert captured.out == ""


def test_a_problem_in_a_tenant_yaml_fails_before_any_read(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=3)
    base = sim.write_baseline(tmp_path / "baseline")
    config = base / "tenant-0002" / "tenant.yaml"
    config.write_text(config.read_text("utf-8") + "colour: blue\n", "utf-8")
    with pytest.raises(BaselineError) as before:
        load_requested(base)
    code = main(["diff", "--baseline", str(base)])
    assert code == 1
    assert capsys.readouterr().err.splitlines() == [visible(x) for x in before.value.lines()]
    assert not [r for r in sim.requests_log if r.endpoint == "invoke"]
