"""The Azure Pipelines template: the published pipeline schema, its contract, and its scripts.

The schema is the one check-jsonschema ships as ``vendor.azure-pipelines`` (Microsoft's
azure-pipelines-vscode service schema), read with Python's regex engine (its patterns use escapes
the default ECMA engine refuses). The scripts run with bash as the agent runs them, with the
variables Azure DevOps would set: the install step's refusals, and the AzureCLI@2 step against
the simulator.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftguard.sim import Simulator
from test_workflows import _offline_env, _tool

PIPELINE = Path("azure-pipelines") / "nightly.yml"


def _pipeline(repo_root: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((repo_root / PIPELINE).read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("check-jsonschema"), "--regex-variant", "python", "--builtin-schema",
         "vendor.azure-pipelines", str(path)],
        capture_output=True, text=True, timeout=120, env=_offline_env(), check=False,
    )  # fmt: skip


def test_the_published_schema_accepts_it(repo_root: Path) -> None:
    done = _schema_check(repo_root / PIPELINE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_does_reject_a_broken_pipeline(repo_root: Path, tmp_path: Path) -> None:
    text = (repo_root / PIPELINE).read_text("utf-8")
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace("addSpnToEnvironment:", "addSpnToEnviroment:"), "utf-8")
    assert _schema_check(broken).returncode != 0


def _steps(repo_root: Path) -> list[dict[str, Any]]:
    (job,) = _pipeline(repo_root)["jobs"]
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def test_contract(repo_root: Path) -> None:
    pipeline = _pipeline(repo_root)
    assert pipeline["trigger"] == "none" and pipeline["pr"] == "none"
    assert pipeline["schedules"][0]["cron"]
    text = (repo_root / PIPELINE).read_text("utf-8")
    assert "secret" not in text.lower().replace("no secret is stored", "")
    steps = _steps(repo_root)
    assert steps[0]["checkout"] == "self" and steps[0]["persistCredentials"] == "false"
    (cli,) = [s for s in steps if s.get("task") == "AzureCLI@2"]
    assert cli["inputs"]["addSpnToEnvironment"] is True  # hands the script $idToken (WIF)
    assert cli["inputs"]["azureSubscription"] == "${{ parameters.serviceConnection }}"
    script = cli["inputs"]["inlineScript"]
    assert "AZURE_FEDERATED_TOKEN_FILE" in script and "umask 077" in script
    after = steps[steps.index(cli) + 1 :]
    assert after and all(s.get("condition") == "always()" for s in after)
    assert "pip install driftguard" not in text


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        capture_output=True, text=True, timeout=300, env=env, cwd=cwd, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("driftguard", "must be git+https://"),
        ("git+https://github.com/contoso/driftguard@v0.2.0", "must be git+https://"),
        ("git+https://github.com/OWNER/driftguard@" + "0" * 40, "set the driftguardSource"),
    ],
)
def test_install_refuses_anything_but_a_commit_pin(
    repo_root: Path, tmp_path: Path, source: str, message: str
) -> None:
    (install,) = [s for s in _steps(repo_root) if "pip install" in s.get("script", "")]
    env = {**os.environ, "DRIFTGUARD_SOURCE": source, "AGENT_TEMPDIRECTORY": str(tmp_path)}
    done = _bash(install["script"], env, tmp_path)
    assert done.returncode == 1
    assert message in done.stdout and "##vso[task.logissue type=error]" in done.stdout
    assert not (tmp_path / "driftguard-venv").exists()


def _diff_step(repo_root: Path, tmp_path: Path) -> tuple[str, dict[str, str]]:
    (cli,) = [s for s in _steps(repo_root) if s.get("task") == "AzureCLI@2"]
    # Azure DevOps replaces $(macro) references before the script runs
    script = cli["inputs"]["inlineScript"].replace(
        "$(System.DefaultWorkingDirectory)", str(tmp_path)
    )
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["AGENT_TEMPDIRECTORY"] = str(tmp_path / "agent-temp")
    (tmp_path / "agent-temp").mkdir()
    return script, env


def test_the_diff_step_against_the_simulator(
    repo_root: Path, tmp_path: Path, sim_factory: Callable[..., Simulator]
) -> None:
    simulator = sim_factory(tenants=2)
    baseline = simulator.write_baseline(tmp_path / "baseline")
    sorted((baseline / "tenant-0001" / "inbound").glob("*.yaml"))[0].unlink()
    script, env = _diff_step(repo_root, tmp_path)
    env.update(
        {
            "idToken": "header.payload.signature",
            "servicePrincipalId": "00000000-0000-0000-0000-00000000abcd",
            "tenantId": "00000000-0000-0000-0000-0000000000ef",
            "BASELINE": str(baseline),
        }
    )
    done = _bash(script, env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "##vso[task.setvariable variable=driftguardExit]2" in done.stdout
    for name in ("drift.json", "drift.html", "drift.xml", "drift.md"):
        assert (tmp_path / "reports" / name).stat().st_size > 0, name
    assert f"##vso[task.uploadsummary]{tmp_path}/reports/drift.md" in done.stdout
    assert list((tmp_path / "agent-temp").iterdir()) == []  # the token file is gone
    assert "header.payload.signature" not in done.stdout + done.stderr


def test_the_diff_step_needs_a_federated_token(repo_root: Path, tmp_path: Path) -> None:
    script, env = _diff_step(repo_root, tmp_path)
    env.pop("idToken", None)
    done = _bash(script, env, tmp_path)
    assert done.returncode == 1
    assert "does not use workload identity federation" in done.stdout
