"""`driftguard plan` end to end: exit codes, the text and JSON renderings, the plan file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from applykit import TENANT, Setup, drifted
from driftguard.cli import main
from driftguard.planfile import read_plan
from driftguard.sim import Simulator


@pytest.fixture
def setup(sim_factory: Callable[..., Simulator], tmp_path: Path) -> Setup:
    return drifted(sim_factory, tmp_path)


def test_nothing_to_do_exits_0(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=3)
    baseline = sim.write_baseline(tmp_path / "baseline", tenants=[TENANT])
    out = tmp_path / "plan.json"
    assert main(["plan", "--baseline", str(baseline), "--tenant", TENANT, "--out", str(out)]) == 0
    assert "Nothing to do" in capsys.readouterr().out
    assert read_plan(out).actions == ()


def test_text_shows_powershell_and_digest(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    code, path, digest = setup.plan()
    assert code == 2
    text = capsys.readouterr().out
    plan = read_plan(path)
    for action in plan.actions:
        assert f"[{action.id}]" in text
        assert f"    {action.powershell}" in text
    assert "Set-InboundConnector -Identity '" in text and "-Enabled $false" in text
    assert f"digest: {digest}" in text
    assert f"type {digest[7:15]} when asked" in text


def test_json_output_is_the_plan_file(
    setup: Setup, capsys: pytest.CaptureFixture[str], repo_root: Path
) -> None:
    code, path, digest = setup.plan("--format", "json")
    assert code == 2
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(path.read_text())
    assert printed["digest"] == digest
    assert printed["tenant"] == TENANT
    assert printed["tenant_id"] == setup.sim.tenant(TENANT).tenant_id
    assert printed["snapshot_digest"].startswith("sha256:")
    assert printed["flags"] == {"force": False, "remove_unknown": False, "block_sign_in": False}
    schema = json.loads((repo_root / "src/driftguard/plan.schema.json").read_text())
    jsonschema.validate(printed, schema)


def test_expiry_is_configurable(setup: Setup) -> None:
    _, path, _ = setup.plan("--expires-in", "2")
    plan = read_plan(path)
    assert (plan.expires_at - plan.created_at).total_seconds() == 7200
    assert main(["plan", "--baseline", str(setup.baseline), "--expires-in", "0"]) == 1


def test_same_state_same_actions_across_runs(setup: Setup) -> None:
    _, first, _ = setup.plan(name="a.json")
    _, second, _ = setup.plan(name="b.json")
    keep = ("actions", "notes", "snapshot_digest", "tenant_id", "flags")
    a, b = (json.loads(p.read_text()) for p in (first, second))
    assert {k: a[k] for k in keep} == {k: b[k] for k in keep}


def test_unsafe_plan_needs_force(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    for n in range(4):
        setup.tamper(
            "New-InboundConnector",
            {"Name": f"Rogue {n}", "SenderDomains": ["*"], "SenderIPAddresses": [f"192.0.2.{n}"]},
        )
    code, path, _ = setup.plan()
    assert code == 1
    err = capsys.readouterr().err
    assert "unsafe" in err and "disables or removes 5 connectors (limit 3)" in err
    assert "--force" in err
    assert not path.exists()
    code, path, _ = setup.plan("--force")
    assert code == 2
    assert json.loads(path.read_text())["flags"]["force"] is True
    capsys.readouterr()
    loose = ("--max-disable", "5", "--max-disable-share", "90")
    assert setup.plan(*loose, name="loose.json")[0] == 2
    assert setup.plan("--max-disable", "5", name="share.json")[0] == 1
    assert "5 of the tenant's 7 connectors (limit 50%)" in capsys.readouterr().err


def test_one_tenant_at_a_time(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.sim.write_baseline(setup.baseline, tenants=["tenant-0001"])
    assert main(["plan", "--baseline", str(setup.baseline)]) == 1
    assert "a plan is for one tenant" in capsys.readouterr().err


def test_failed_read_is_an_error_and_writes_no_plan(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.sim.tenant(TENANT).faults = {"warnings": 1.0}  # a read that may be truncated
    code, path, _ = setup.plan()
    assert code == 1
    assert "may be incomplete" in capsys.readouterr().err
    assert not path.exists()


def test_demo_tenant_and_live_file(tmp_path: Path, repo_root: Path) -> None:
    out = tmp_path / "demo.json"
    assert main(["plan", "--tenant", "demo", "--out", str(out)]) == 2
    plan = read_plan(out)
    # the demo service also reports Hybrid relay as blocked: it is unblocked last
    assert [a.id for a in plan.actions] == ["001-disable", "002-revert", "003-unblock"]
    assert plan.actions[2].parameters["ConnectorId"] == plan.actions[1].guid
    live = repo_root / "src/driftguard/demo/live.json"
    out2 = tmp_path / "file.json"
    assert main(["plan", "--tenant", "demo", "--live", str(live), "--out", str(out2)]) == 2
    assert read_plan(out2).actions == plan.actions[:2]  # a file has no blocked list


def test_hostile_connector_name_is_quoted_and_terminal_safe(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "x'; Remove-InboundConnector 'Hybrid relay' #\u2019\x1b[31m"
    setup.tamper(
        "New-InboundConnector",
        {"Name": name, "SenderDomains": ["*"], "SenderIPAddresses": ["192.0.2.7"]},
    )
    code, path, _ = setup.plan()
    assert code == 2
    text = capsys.readouterr().out
    assert "\x1b" not in text
    action = next(a for a in read_plan(path).actions if a.connector == name)
    assert action.guid is not None
    assert action.parameters["Identity"] == action.guid  # by Guid, not by the attacker's name
    assert action.powershell == f"Set-InboundConnector -Identity '{action.guid}' -Enabled $false"


def test_baseline_commit_recorded_when_in_git(setup: Setup) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for argv in (["init", "-q"], ["add", "."], ["commit", "-qm", "baseline"]):
        subprocess.run([git, "-C", str(setup.baseline), *argv], env=env, check=True)
    head = subprocess.run(
        [git, "-C", str(setup.baseline), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    _, path, _ = setup.plan()
    assert read_plan(path).baseline_commit == head


def test_connector_carrying_mail_needs_force(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    received = datetime.now(UTC) - timedelta(hours=2)
    for n in range(3):  # mail through the rogue connector's range, twice in the trace
        row = {
            "MessageTraceId": f"00000000-0000-4000-8000-{n:012d}",
            "MessageId": f"<m{n}@evil.example>",
            "Received": received.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
            "SenderAddress": "ceo@contoso.com",
            "RecipientAddress": f"user{n}@tenant-0003.example.com",
            "FromIP": "203.0.113.9",
            "ToIP": None,
            "Subject": "Invoice",
            "Status": "Delivered",
            "Size": 1000,
        }
        setup.sim.tenant(TENANT).message_trace.extend([row, dict(row)])
    code, path, _ = setup.plan("--mail-window", "24")
    assert code == 1
    err = capsys.readouterr().err
    assert "'Inbound relay (temp)' carried 3 messages recently" in err
    assert not path.exists()
    assert setup.plan("--mail-window", "24", "--force")[0] == 2
    assert setup.plan()[0] == 2  # off by default
