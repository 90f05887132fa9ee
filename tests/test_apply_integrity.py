"""What you approve is what runs: crafted plans, a tenant that moved, forged journals, two applies
at once, journal links and unwritable outputs, through the real CLI against the HTTPS simulator."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from applykit import TENANT, Setup, drifted
from driftguard.cli import main
from driftguard.journal import read_journal
from driftguard.planfile import digest_of, read_plan, render_text
from driftguard.sim import Simulator
from driftguard.sim.cmdlets.blocked import block

APPLY = (sys.executable, "-m", "driftguard", "apply")


@pytest.fixture
def setup(sim_factory: Callable[..., Simulator], tmp_path: Path) -> Setup:
    return drifted(sim_factory, tmp_path)


def _rewrite(plan: Path, change: Callable[[dict[str, object]], None]) -> str:
    """Edit the plan file as an attacker with write access would, digest recomputed to match."""
    doc = json.loads(plan.read_text())
    change(doc)
    doc["digest"] = digest_of(doc)
    plan.write_text(json.dumps(doc, indent=2))
    return str(doc["digest"])


# --------------------------------------------------------------------------- 1. what runs


def test_a_crafted_plan_is_refused_even_when_its_own_digest_is_approved(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, _digest = setup.plan()

    def widen(doc: dict[str, object]) -> None:
        actions = doc["actions"]
        assert isinstance(actions, list)
        disable = actions[0]
        disable["parameters"] = {**disable["parameters"], "Enabled": True}

    crafted = _rewrite(plan, widen)
    shown = render_text(read_plan(plan))
    assert "-Enabled $true" in shown  # the reviewer sees what would run, from the parameters
    capsys.readouterr()
    assert setup.apply(plan, "--approve", crafted) == 1
    err = capsys.readouterr().err
    assert "not what the baseline gives" in err
    assert "action 001-disable differs: the baseline gives Set-InboundConnector" in err
    assert "-Enabled $false" in err
    assert setup.writes() == []


def test_stored_display_text_is_not_part_of_a_plan(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, _digest = setup.plan()

    def lie(doc: dict[str, object]) -> None:
        actions = doc["actions"]
        assert isinstance(actions, list)
        actions[0]["powershell"] = "Set-InboundConnector -Identity 'x' -Enabled $false"
        actions[0]["summary"] = "Harmless."

    crafted = _rewrite(plan, lie)
    assert setup.apply(plan, "--approve", crafted) == 1
    assert "not a valid driftguard plan" in capsys.readouterr().err
    assert setup.writes() == []


def test_a_baseline_changed_after_planning_refuses_the_plan(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, digest = setup.plan()
    hybrid = next((setup.baseline / TENANT / "inbound").glob("*.yaml"))
    text = hybrid.read_text()
    hybrid.write_text(text + "Comment: edited after the plan was reviewed\n")
    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest) == 1
    assert f"the baseline of tenant '{TENANT}' changed since the plan was made" in (
        capsys.readouterr().err
    )
    assert setup.writes() == []


def test_a_forged_recorded_live_state_is_refused(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    """Actions consistent with a recorded state that is not the tenant's: refused before writes."""
    _, plan, _digest = setup.plan()

    def forge(doc: dict[str, object]) -> None:
        live = doc["live"]
        assert isinstance(live, dict)
        for c in live["connectors"]:
            if c["name"] == "Partner TLS":
                c["settings"]["Enabled"] = True  # so the plan need not re-enable it

        actions = doc["actions"]
        assert isinstance(actions, list)
        kept = [a for a in actions if a["connector"] != "Partner TLS"]
        for n, a in enumerate(kept, start=1):
            a["id"] = f"{n:03d}-{a['kind']}"
        doc["actions"] = kept

    crafted = _rewrite(plan, forge)
    assert setup.apply(plan, "--approve", crafted) == 1
    err = capsys.readouterr().err
    assert "not what the baseline gives" not in err  # consistent with its (false) recorded state
    assert "the tenant changed since the plan was made; re-plan" in err
    assert "'Partner TLS': Enabled is now false, the plan saw true" in err
    assert setup.writes() == []


# --------------------------------------------------------------------------- 2. stale plan


def test_a_widened_reverted_connector_refuses_the_plan(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    """A property no action names changes on a connector the plan reverts."""
    _, plan, digest = setup.plan()
    setup.tamper("Set-InboundConnector", {"Identity": "Hybrid relay", "SenderDomains": ["*"]})
    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest) == 1
    err = capsys.readouterr().err
    assert "the tenant changed since the plan was made; re-plan" in err
    assert "'Hybrid relay': SenderDomains is now [*]" in err
    assert setup.writes() == []


def test_a_change_to_a_connector_the_plan_does_not_touch_refuses_the_plan(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = drifted(sim_factory, tmp_path, missing=False)
    _, plan, digest = setup.plan()
    assert "Scanner relay" not in {a.connector for a in read_plan(plan).actions}
    setup.tamper("Set-InboundConnector", {"Identity": "Scanner relay", "Enabled": True})
    setup.tamper(
        "New-InboundConnector",
        {"Name": "Second relay", "SenderDomains": ["*"], "SenderIPAddresses": ["192.0.2.1"]},
    )
    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest) == 1
    err = capsys.readouterr().err
    assert "'Scanner relay': Enabled is now true, the plan saw false" in err
    assert "'Second relay'" in err and "is new since the plan was made" in err
    assert setup.writes() == []


def test_a_new_block_refuses_the_plan(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    _, plan, digest = setup.plan()
    block(setup.sim.tenant(TENANT), "Partner TLS", datetime(2026, 11, 28, 6, 10, tzinfo=UTC))
    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest) == 1
    assert "'Partner TLS' was blocked since the plan was made" in capsys.readouterr().err
    assert setup.writes() == []


def test_a_connector_changed_during_apply_is_not_unblocked(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check right before the unblock: a change after the first writes still stops it."""
    tenant = setup.sim.tenant(TENANT)
    block(tenant, "Hybrid relay", datetime(2026, 11, 28, 6, 10, tzinfo=UTC))
    _, plan, digest = setup.plan("--remove-unknown")
    assert [a.kind.value for a in read_plan(plan).actions][-1] == "unblock"
    tenant.latency_ms = 150  # time enough to change the tenant between the last write and unblock
    stop = threading.Event()

    def widen_after_the_create() -> None:
        while not stop.is_set():
            if "New-InboundConnector" in setup.writes():
                setup.tamper(
                    "Set-InboundConnector", {"Identity": "Hybrid relay", "SenderDomains": ["*"]}
                )
                return
            time.sleep(0.005)

    attacker = threading.Thread(target=widen_after_the_create)
    attacker.start()
    try:
        code = setup.apply(plan, "--approve", digest)
    finally:
        stop.set()
        attacker.join()
    out = capsys.readouterr().out
    assert code == 1
    assert "not unblocked: its live state is not its baseline: SenderDomains is [*]" in out
    assert "Remove-BlockedConnector" not in setup.writes()
    assert tenant.blocked != []


# --------------------------------------------------------------------------- 3. resume


def test_resume_refuses_a_forged_journal(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    tenant = setup.sim.tenant(TENANT)
    _read, write, _public = setup.sim.apps
    setup.sim.state.add_app(write, role="read", tenants=[tenant])  # every write is refused
    _, plan, digest = setup.plan("--remove-unknown")
    assert setup.apply(plan, "--approve", digest) == 1
    journal = setup.journal(plan)
    forged = [
        json.dumps(
            {"type": "action", "plan_digest": digest, "action_id": a.id, "status": "applied"}
        )
        for a in read_plan(plan).actions
    ]
    with journal.open("a") as fh:
        fh.write("\n".join(forged) + "\n")
    assert set(read_journal(journal).last_status().values()) == {"applied"}
    setup.sim.state.add_app(write, role="write", tenants=[tenant])
    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest, "--resume", str(journal)) == 1
    err = capsys.readouterr().err
    assert "001-remove is journalled as done, but" in err
    assert "the journal is not genuine" in err
    assert setup.writes() == []


def test_resume_refuses_when_a_done_action_was_undone(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused, not redone: someone reverted what driftguard applied, which is a new change to
    investigate and review, not one to repeat on the strength of an old approval."""
    _, plan, digest = setup.plan("--remove-unknown")
    assert setup.apply(plan, "--approve", digest) == 0
    writes = len(setup.writes())
    setup.tamper(
        "Set-InboundConnector", {"Identity": "Hybrid relay", "TreatMessagesAsInternal": True}
    )
    capsys.readouterr()
    journal = setup.journal(plan)
    assert setup.apply(plan, "--approve", digest, "--resume", str(journal)) == 1
    err = capsys.readouterr().err
    assert "'Hybrid relay': 002-revert is journalled as done, but" in err
    assert "TreatMessagesAsInternal is now true" in err
    assert len(setup.writes()) == writes


# --------------------------------------------------------------------------- 4. one at a time


def test_a_second_apply_of_the_tenant_is_refused_while_one_runs(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, digest = setup.plan("--remove-unknown")
    setup.sim.tenant(TENANT).latency_ms = 400
    first = subprocess.Popen(
        [*APPLY, str(plan), "--approve", digest, "--baseline", str(setup.baseline)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        locks = list(setup.work.glob(".driftguard-apply-*.lock"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            locks and f'"pid": {first.pid}' in locks[0].read_text()
        ):
            time.sleep(0.05)
            locks = list(setup.work.glob(".driftguard-apply-*.lock"))
        assert locks, "the first apply never took the lock"
        other = str(setup.work / "other.jsonl")
        capsys.readouterr()
        assert setup.apply(plan, "--approve", digest, "--journal", other) == 1
        err = capsys.readouterr().err
        assert f"another apply of tenant '{TENANT}' is running (pid {first.pid} on host" in err
        assert f"plan {digest}" in err and "started 20" in err
        assert not Path(other).exists()
    finally:
        _out, errors = first.communicate(timeout=120)
    assert first.returncode == 0, errors
    assert len(setup.writes()) == 4  # the first run's writes, once each
    assert setup.diff() == 0


# --------------------------------------------------------------------------- 5. links, outputs


@pytest.mark.parametrize("dangling", [True, False])
def test_a_journal_that_is_a_link_is_refused(
    setup: Setup, capsys: pytest.CaptureFixture[str], dangling: bool
) -> None:
    _, plan, digest = setup.plan()
    target = setup.work / "elsewhere.txt"
    if not dangling:
        target.write_text("someone else's file\n")
    journal = setup.journal(plan)
    journal.symlink_to(target)
    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest) == 1
    assert f"journal {journal} is a symbolic link" in capsys.readouterr().err
    assert target.exists() is not dangling
    if not dangling:
        assert target.read_text() == "someone else's file\n"
    assert setup.apply(plan, "--approve", digest, "--resume", str(journal)) == 1
    assert "is a symbolic link" in capsys.readouterr().err
    assert setup.writes() == []


def _commands(out: Path, plan: Path) -> list[list[str]]:
    return [
        ["diff", "--tenant", "demo", "--format", "json", "--output", str(out)],
        ["investigate", "--tenant", "demo", "--output", str(out)],
        ["plan", "--tenant", "demo", "--out", str(out)],
        ["snapshot", "--tenant", "demo", "--out", str(out)],
        ["apply", str(plan), "--approve", "sha256:" + "0" * 64, "--journal", str(out)],
    ]


@pytest.mark.parametrize("index", range(5))
def test_an_output_that_cannot_exist_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], index: int
) -> None:
    plan = tmp_path / "plan.json"
    assert main(["plan", "--tenant", "demo", "--out", str(plan)]) == 2
    digest = json.loads(plan.read_text())["digest"]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker / "folder" / "out.json"
    argv = _commands(out, plan)[index]
    if argv[0] == "apply":
        argv[3] = digest
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert str(blocker) in errors[0] and "Traceback" not in err
    assert not out.exists()


def test_a_dry_run_judges_the_unblock_as_the_real_run_will(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo plan reverts the blocked connector, then unblocks it: the dry run must see the
    revert it did not write, and say "would apply", never "applied"."""
    plan = tmp_path / "plan.json"
    assert main(["plan", "--tenant", "demo", "--out", str(plan)]) == 2
    assert [a.kind.value for a in read_plan(plan).actions][-1] == "unblock"
    capsys.readouterr()
    assert main(["apply", str(plan), "--dry-run"]) == 0
    shown = capsys.readouterr()
    assert shown.out.count("Would apply [") == 3
    assert "applied" not in (shown.out + shown.err).lower()
    assert "3 would apply, 0 skipped, 0 failed (dry run: nothing was written)" in shown.err
