"""The demo is a transport chosen by the endpoint a tenant points at, in one place.

A tenant whose tenant.yaml names the demo host is served in-process, whatever its name; a tenant
named ``demo`` that points elsewhere is an ordinary tenant. Product code outside the simulator
and the seam (live/demo.py) never imports the simulator.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
from pathlib import Path

import pytest

import driftguard
from driftguard.baseline.load import demo_root, load_baseline
from driftguard.cli import main
from driftguard.cli._live import snapshots_for
from driftguard.live.demo import DEMO_HOST, is_demo
from driftguard.sim import Simulator
from investigate_kit import baseline_for

PACKAGE = Path(driftguard.__file__).parent
SEAM = PACKAGE / "live" / "demo.py"
# The simulator's own command (`driftguard sim serve|reset-demo`) fronts the simulator itself.
SIMULATOR_COMMAND = PACKAGE / "cli" / "sim_cmd.py"


def _imports_sim(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        else:
            continue
        if any(n == "driftguard.sim" or n.startswith("driftguard.sim.") for n in names):
            lines.append(node.lineno)
    return lines


def test_only_the_seam_imports_the_simulator() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (PACKAGE / "sim") not in path.parents
        and path not in (SEAM, SIMULATOR_COMMAND)
        and (lines := _imports_sim(path))
    }
    assert offenders == {}
    assert _imports_sim(SEAM)  # the scan does find an import where there is one


def _args(tenant: str) -> argparse.Namespace:
    return argparse.Namespace(tenants=[tenant], live=None, concurrency=1, shard=None)


def test_any_tenant_pointing_at_the_demo_host_is_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "b"
    shutil.copytree(demo_root() / "demo", root / "acme")
    baseline = load_baseline(root)
    assert is_demo(baseline.tenants["acme"].config)
    snapshot = snapshots_for(_args("acme"), baseline, ["acme"])["acme"]
    assert not isinstance(snapshot, Exception)
    assert snapshot.tenant == "acme"
    assert snapshot.source == f"exchange:https://{DEMO_HOST}"
    # the same verdict as the packaged demo tenant's
    capsys.readouterr()
    assert main(["diff", "--baseline", str(root), "--tenant", "acme", "--format", "json"]) == 2
    acme = json.loads(capsys.readouterr().out)["tenants"][0]
    assert main(["diff", "--tenant", "demo", "--format", "json"]) == 2
    demo = json.loads(capsys.readouterr().out)["tenants"][0]
    assert acme["tenant"] == "acme"
    assert _unplaced(acme["findings"]) == _unplaced(demo["findings"])


def _unplaced(findings: list[dict[str, object]]) -> list[dict[str, object]]:
    """Findings without their baseline file location (the two baselines live apart)."""
    return [{k: v for k, v in f.items() if k != "location"} for f in findings]


def test_a_tenant_named_demo_pointing_elsewhere_is_not_the_demo(
    sim: Simulator, tmp_path: Path
) -> None:
    folder = baseline_for(sim, tmp_path / "sim", ["tenant-0001"])
    root = tmp_path / "b"
    shutil.copytree(folder, root)  # its credentials folder included
    (root / "tenant-0001").rename(root / "demo")
    baseline = load_baseline(root)
    config = baseline.tenants["demo"].config
    assert not is_demo(config)
    snapshot = snapshots_for(_args("demo"), baseline, ["demo"])["demo"]
    assert not isinstance(snapshot, Exception)
    assert snapshot.source == f"exchange:https://{config.endpoints.exchange_host}"
    assert DEMO_HOST not in snapshot.source
