"""`driftguard diff` over many simulated tenants, each with its own fault, through cli.main.

Every tenant ends in the verdict a clean read gives (faults the client must survive) or in an
error naming the tenant and the cause (faults that make a complete read impossible); no faulted
tenant ever ends in "ok" by accident, and the token never follows a foreign redirect.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main
from driftguard.sim import ServerKnobs, Simulator
from livekit import CAUSES, MATRIX_ARGS, MATRIX_KNOBS, MATRIX_TENANTS, arm_faults


def diff(base: Path, out: Path, *extra: str) -> tuple[int, dict[str, dict[str, Any]]]:
    code = main(["diff", "--baseline", str(base), "--format", "json", "--output", str(out), *extra])
    report = json.loads(out.read_text(encoding="utf-8"))
    return code, {t["tenant"]: t for t in report["tenants"]}


@pytest.mark.slow
def test_every_fault_ends_in_the_right_verdict_or_a_named_error(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=MATRIX_TENANTS, knobs=ServerKnobs(**MATRIX_KNOBS))
    base = sim.write_baseline(tmp_path / "baseline")

    clean_code, clean = diff(base, tmp_path / "clean.json", *MATRIX_ARGS)
    assert clean_code == 2  # the simulator drifts some tenants
    assert len(clean) == MATRIX_TENANTS
    assert {t["status"] for t in clean.values()} == {"ok", "drift"}
    capsys.readouterr()

    fatal, recoverable = arm_faults(sim)
    code, faulted = diff(base, tmp_path / "faulted.json", *MATRIX_ARGS)
    stderr = capsys.readouterr().err
    assert code == 1
    assert set(faulted) == set(clean)
    for tenant, fault in fatal.items():
        entry = faulted[tenant]
        assert entry["status"] == "error", (tenant, fault, entry)
        assert entry["findings"] == []
        assert CAUSES[fault] in entry["error"], (fault, entry["error"])
        [line] = [ln for ln in stderr.splitlines() if ln.startswith(f"error: {tenant}: ")]
        assert CAUSES[fault] in line
    for tenant in recoverable:
        assert faulted[tenant]["status"] == clean[tenant]["status"], (tenant, faulted[tenant])
        assert faulted[tenant]["findings"] == clean[tenant]["findings"]
    for tenant in set(clean) - set(fatal) - set(recoverable):
        assert faulted[tenant] == clean[tenant]
    assert sim.foreign_requests() == []
    assert not [r for r in sim.requests_log if r.host.startswith("127.0.0.1")]


def test_text_report_and_exit_code_for_one_failing_tenant(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=2, knobs=ServerKnobs(**MATRIX_KNOBS))
    base = sim.write_baseline(tmp_path / "baseline")
    sim.tenant("tenant-0002").faults = {"forbidden-nonjson": 1.0}
    code = main(["diff", "--baseline", str(base), *MATRIX_ARGS])
    out, err = capsys.readouterr()
    assert code == 1
    assert "tenant-0001" in out and "tenant-0002" in out
    assert "error: tenant-0002: Get-InboundConnector: access denied (HTTP 403: Forbidden)" in err
    assert "no drift" not in out.lower().split("tenant-0002")[1][:200]


def test_sign_in_failure_is_an_error_for_that_tenant_only(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=2, knobs=ServerKnobs(**MATRIX_KNOBS))
    base = sim.write_baseline(tmp_path / "baseline")
    yaml_path = base / "tenant-0002" / "tenant.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("read.pem", "missing.pem"), encoding="utf-8")
    code, report = diff(base, tmp_path / "r.json", *MATRIX_ARGS)
    assert code == 1
    assert report["tenant-0001"]["status"] in {"ok", "drift"}
    assert report["tenant-0002"]["status"] == "error"
    assert "cannot read certificate" in report["tenant-0002"]["error"]
    assert "missing.pem" in capsys.readouterr().err
