"""The composite action's scripts, run as GitHub runs them, against the simulator over HTTPS.

Each `run:` step of action.yml is executed with `bash --noprofile --norc -eo pipefail` (GitHub's
bash invocation) and the step's `env:` with `${{ inputs.* }}` filled in from the inputs and their
defaults, with GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_PATH and RUNNER_TEMP as files and
folders of the test. The install step is not run here (it installs the checkout with its
dependencies from the package index into a new virtual environment; the repository's
action-test workflow runs it): driftguard comes from this test environment instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftguard.sim import Simulator

INPUT = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def _action(repo_root: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((repo_root / "action.yml").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _run(repo_root: Path, work: Path, **given: str) -> Ran:
    action = _action(repo_root)
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(given) - set(inputs)
    assert not unknown, unknown
    inputs.update(given)
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    names = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH")
    files = {name: work / name.lower() for name in names}
    for path in files.values():
        path.write_text("", encoding="utf-8")
    env = dict(os.environ)
    env.update({k: str(v) for k, v in files.items()})
    env["RUNNER_TEMP"] = str(work)
    env["GITHUB_ACTION_PATH"] = str(repo_root)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for name, value in step["env"].items():
        env[name] = INPUT.sub(lambda m: inputs[m.group(1)], str(value))
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        capture_output=True, text=True, timeout=300, env=env, cwd=work, check=False,
    )  # fmt: skip
    lines = files["GITHUB_OUTPUT"].read_text("utf-8").splitlines()
    outputs = dict(line.split("=", 1) for line in lines)
    summary = files["GITHUB_STEP_SUMMARY"].read_text("utf-8")
    return Ran(done.returncode, done.stdout, done.stderr, outputs, summary)


@pytest.fixture
def drifted(sim_factory: Callable[..., Simulator], tmp_path: Path) -> Path:
    """A baseline of three simulated tenants; tenant-0002 lost a connector's file (drift)."""
    simulator = sim_factory(tenants=3)
    baseline = simulator.write_baseline(tmp_path / "baseline")
    files = sorted((baseline / "tenant-0002" / "inbound").glob("*.yaml"))
    files[0].unlink()
    return baseline


def test_diff_reports_drift_in_every_format_asked(
    repo_root: Path, tmp_path: Path, drifted: Path
) -> None:
    ran = _run(
        repo_root, tmp_path, baseline=str(drifted), formats="markdown, github sarif junit html",
        report="out/drift.json", **{"fail-on-drift": "false"},
    )  # fmt: skip
    assert ran.code == 0, ran.stderr
    assert ran.outputs == {"status": "drift", "exit-code": "2", "report": "out/drift.json"}
    for name in ("drift.json", "drift.md", "drift.sarif", "drift.xml", "drift.html"):
        assert (tmp_path / "out" / name).stat().st_size > 0, name
    annotations = [line for line in ran.stdout.splitlines() if line.startswith("::")]
    assert any(a.startswith("::error file=") and "tenant-0002" in a for a in annotations)
    assert "| tenant-0002 |" in ran.summary  # the Markdown report went to the job summary


def test_drift_fails_the_step_unless_told_otherwise(
    repo_root: Path, tmp_path: Path, drifted: Path
) -> None:
    ran = _run(repo_root, tmp_path, baseline=str(drifted), formats="")
    assert ran.code == 2
    assert ran.outputs["status"] == "drift"


def test_only_the_tenants_named(repo_root: Path, tmp_path: Path, drifted: Path) -> None:
    ran = _run(
        repo_root, tmp_path, baseline=str(drifted), tenants="tenant-0001,\ntenant-0003", formats=""
    )
    assert ran.code == 0, ran.stderr
    assert ran.outputs["status"] == "clean"
    report = (tmp_path / ran.outputs["report"]).read_text("utf-8")
    assert "tenant-0001" in report and "tenant-0003" in report and "tenant-0002" not in report


def test_an_error_fails_the_step_and_says_so(repo_root: Path, tmp_path: Path) -> None:
    ran = _run(repo_root, tmp_path, baseline=str(tmp_path / "nothing-here"), formats="github")
    assert ran.code == 1
    assert ran.outputs["status"] == "error" and ran.outputs["exit-code"] == "1"


def test_input_words_are_neither_globbed_nor_run(
    repo_root: Path, tmp_path: Path, drifted: Path
) -> None:
    (tmp_path / "tenant-0001").mkdir()  # a glob `*` would find this
    hostile = "* $(touch pwned) `touch pwned2`; touch pwned3"
    ran = _run(repo_root, tmp_path, baseline=str(drifted), tenants=hostile, formats="")
    assert ran.code == 1
    assert ran.outputs["status"] == "error"
    assert not list(tmp_path.glob("pwned*"))


def test_shards_merged(repo_root: Path, tmp_path: Path, drifted: Path) -> None:
    for k in (1, 2):
        ran = _run(
            repo_root, tmp_path, baseline=str(drifted), shard=f"{k}/2",
            report=f"shards/shard-{k}.json", formats="", **{"fail-on-drift": "false"},
        )  # fmt: skip
        assert ran.code == 0, ran.stderr
    merged = _run(
        repo_root, tmp_path, command="merge", reports="shards/*.json", expect="2",
        report="reports/drift.json", formats="github", **{"fail-on-drift": "false"},
    )  # fmt: skip
    assert merged.code == 0, merged.stderr
    assert merged.outputs == {"status": "drift", "exit-code": "2", "report": "reports/drift.json"}
    lost = _run(
        repo_root, tmp_path, command="merge", reports="shards/*.json", expect="3", formats=""
    )
    assert lost.code == 1 and lost.outputs["status"] == "error"


def test_install_only_and_unknown_commands(repo_root: Path, tmp_path: Path) -> None:
    ran = _run(repo_root, tmp_path, command="install")
    assert ran.code == 0 and ran.outputs["status"] == "install"
    bad = _run(repo_root, tmp_path, command="apply")
    assert bad.code == 1 and bad.outputs["status"] == "error"
    assert "::error::unknown command input" in bad.stdout
