"""driftguard apply and rollback against the HTTPS simulator: convergence and every refusal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from applykit import TENANT, Setup, drifted
from driftguard.app.clients import clients
from driftguard.apply import apply_plan
from driftguard.baseline.load import load_baseline
from driftguard.cli import main
from driftguard.errors import PlanError
from driftguard.journal import read_journal
from driftguard.planfile import read_plan
from driftguard.sim import Simulator


@pytest.fixture
def setup(sim_factory: Callable[..., Simulator], tmp_path: Path) -> Setup:
    return drifted(sim_factory, tmp_path)


def test_plan_then_apply_converges(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert setup.diff() == 2
    code, plan, digest = setup.plan("--remove-unknown")
    assert code == 2
    actions = read_plan(plan).actions
    assert [a.kind.value for a in actions] == ["remove", "revert", "revert", "create"]
    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest) == 0
    out = capsys.readouterr()
    assert out.out.count("Applied") == 4
    assert "4 applied, 0 skipped, 0 failed" in out.err
    assert setup.writes() == [
        "Remove-InboundConnector",
        "Set-InboundConnector",
        "Set-InboundConnector",
        "New-InboundConnector",
    ]
    assert setup.diff() == 0
    journal = read_journal(setup.journal(plan))
    statuses = [(e["action_id"], e["status"]) for e in journal.entries]
    assert statuses == [(a.id, s) for a in actions for s in ("started", "applied")]
    assert all(e["verified"] for e in journal.entries if e["status"] == "applied")
    # applying the same plan again: the journal exists, so it is refused, not repeated
    assert setup.apply(plan, "--approve", digest) == 1
    assert "already exists" in capsys.readouterr().err
    assert len(setup.writes()) == 4


def test_default_plan_disables_the_unknown_connector(setup: Setup) -> None:
    _, plan, digest = setup.plan()
    assert setup.apply(plan, "--approve", digest) == 0
    rogue = next(r for r in setup.records() if r["Name"] == "Inbound relay (temp)")
    assert rogue["Enabled"] is False  # kept, as evidence, but no longer accepting mail


def test_refused_without_approval(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    _, plan, digest = setup.plan()
    assert setup.apply(plan) == 1
    err = capsys.readouterr().err
    assert "not approved" in err and digest in err
    assert setup.writes() == []
    assert not setup.journal(plan).exists()


def test_refused_with_another_digest(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    _, plan, digest = setup.plan()
    wrong = digest[:-4] + ("0000" if not digest.endswith("0000") else "1111")
    assert setup.apply(plan, "--approve", wrong) == 1
    assert "does not match" in capsys.readouterr().err
    assert setup.writes() == []


def test_bare_hex_digest_is_accepted(setup: Setup) -> None:
    _, plan, digest = setup.plan("--remove-unknown")
    assert setup.apply(plan, "--approve", digest.removeprefix("sha256:").upper()) == 0
    assert setup.diff() == 0


def test_tampered_plan_refused(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    _, plan, digest = setup.plan()
    doc = json.loads(plan.read_text())
    doc["actions"][1]["parameters"]["SenderIPAddresses"].append("192.0.2.0/24")
    plan.write_text(json.dumps(doc, indent=2))
    assert setup.apply(plan, "--approve", digest) == 1
    assert "digest does not match its content" in capsys.readouterr().err
    # re-computing the digest does not help: the approval binds the reviewed one
    from driftguard.planfile import digest_of

    doc["digest"] = digest_of(doc)
    plan.write_text(json.dumps(doc, indent=2))
    assert setup.apply(plan, "--approve", digest) == 1
    err = capsys.readouterr().err
    assert "action 002-revert differs: the baseline gives Set-InboundConnector" in err
    assert setup.writes() == []


def test_expired_plan_refused(setup: Setup) -> None:
    _, path, digest = setup.plan()
    plan = read_plan(path)
    tenant = load_baseline(setup.baseline).tenants[TENANT]
    with clients(tenant.config) as (reader, writer), pytest.raises(PlanError, match="expired"):
        apply_plan(
            plan,
            approve=digest,
            tenant=tenant,
            reader=reader,
            writer=writer,
            clock=lambda: plan.expires_at + timedelta(seconds=1),
            journal=None,
        )
    assert setup.writes() == []


def test_plan_for_another_tenant_refused(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    _, plan, digest = setup.plan()
    tenant_yaml = setup.baseline / TENANT / "tenant.yaml"
    data = yaml.safe_load(tenant_yaml.read_text())
    data["tenant_id"] = "00000000-0000-4000-8000-000000000001"
    tenant_yaml.write_text(yaml.safe_dump(data))
    assert setup.apply(plan, "--approve", digest) == 1
    err = capsys.readouterr().err
    assert "the plan is for tenant_id" in err and "00000000-0000-4000-8000-000000000001" in err
    assert setup.writes() == []


def test_live_change_between_plan_and_apply_refused(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, digest = setup.plan()
    setup.tamper(
        "Set-InboundConnector",
        {"Identity": "Hybrid relay", "SenderIPAddresses": ["10.0.3.0/24", "192.0.2.0/24"]},
    )
    before = len(setup.writes())
    assert setup.apply(plan, "--approve", digest) == 1
    err = capsys.readouterr().err
    assert "the tenant changed since the plan was made; re-plan" in err
    assert "'Hybrid relay': SenderIPAddresses is now [10.0.3.0/24, 192.0.2.0/24]" in err
    assert len(setup.writes()) == before  # nothing written, not even the first action


def test_new_connector_with_the_missing_name_makes_the_plan_stale(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, digest = setup.plan()
    setup.tamper(
        "New-InboundConnector",
        {"Name": "Scanner relay", "SenderDomains": ["*"], "SenderIPAddresses": ["192.0.2.1"]},
    )
    before = len(setup.writes())
    assert setup.apply(plan, "--approve", digest) == 1
    assert "'Scanner relay' exists now" in capsys.readouterr().err
    assert len(setup.writes()) == before


def test_deleted_unknown_connector_makes_the_plan_stale(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, digest = setup.plan()
    setup.tamper("Remove-InboundConnector", {"Identity": "Inbound relay (temp)"})
    assert setup.apply(plan, "--approve", digest) == 1
    assert "'Inbound relay (temp)'" in capsys.readouterr().err


def test_change_already_in_place_is_skipped(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, digest = setup.plan()
    setup.tamper("Set-InboundConnector", {"Identity": "Partner TLS", "Enabled": True})
    before = len(setup.writes())
    assert setup.apply(plan, "--approve", digest) == 0
    out = capsys.readouterr().out
    assert "Skipped  [003-revert] Partner TLS: already in place" in out
    assert len(setup.writes()) == before + 3


def test_dry_run_writes_nothing(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    _, plan, _digest = setup.plan()
    before = setup.records()
    assert setup.apply(plan, "--dry-run") == 0
    out = capsys.readouterr()
    assert out.out.count("Would apply [") == 4
    assert "applied" not in out.out.lower() and "applied" not in out.err.lower()
    assert "4 would apply, 0 skipped, 0 failed (dry run: nothing was written)" in out.err
    assert setup.writes() == []
    assert setup.records() == before
    assert not setup.journal(plan).exists()


def test_rollback_restores_the_exact_before_state(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    before = setup.normalised()
    _, plan, digest = setup.plan("--remove-unknown")
    assert setup.apply(plan, "--approve", digest) == 0
    assert setup.normalised() != before
    journal = str(setup.journal(plan))
    capsys.readouterr()
    assert setup.run("rollback", journal, "--baseline", str(setup.baseline)) == 1
    shown = capsys.readouterr()
    assert "Rollback plan" in shown.out and "not approved" in shown.err
    rollback_digest = shown.out.split("digest: ")[1].split()[0]
    assert (
        setup.run(
            "rollback", journal, "--baseline", str(setup.baseline), "--approve", rollback_digest
        )
        == 0
    )
    assert setup.normalised() == before
    entries = read_journal(f"{journal}.rollback.jsonl").entries
    assert [e["status"] for e in entries].count("applied") == 4
    assert setup.diff() == 2  # the drift is back, exactly as it was


def test_demo_tenant_plan_apply_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The newcomer's walk-through: the demo keeps its state between commands."""
    plan = tmp_path / "demo-plan.json"
    assert main(["diff", "--tenant", "demo"]) == 2
    assert main(["plan", "--tenant", "demo", "--remove-unknown", "--out", str(plan)]) == 2
    digest = json.loads(plan.read_text())["digest"]
    capsys.readouterr()
    assert main(["apply", str(plan), "--approve", digest]) == 0
    assert "3 applied, 0 skipped, 0 failed" in capsys.readouterr().err
    assert main(["diff", "--tenant", "demo"]) == 0
    assert main(["plan", "--tenant", "demo", "--out", str(tmp_path / "again.json")]) == 0


def test_blocked_connector_unblocked_last(setup: Setup) -> None:
    from datetime import UTC, datetime

    from driftguard.sim.cmdlets.blocked import block

    block(setup.sim.tenant(TENANT), "Hybrid relay", datetime(2026, 11, 28, 6, 10, tzinfo=UTC))
    _, plan, digest = setup.plan("--remove-unknown")
    actions = read_plan(plan).actions
    assert [a.kind.value for a in actions][-1] == "unblock"
    assert setup.apply(plan, "--approve", digest) == 0
    assert setup.writes()[-2:] == ["New-InboundConnector", "Remove-BlockedConnector"]
    assert setup.sim.tenant(TENANT).blocked == []
    assert setup.diff() == 0


def test_rejected_writes_are_failed_exit_1_and_resume_retries_them(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = setup.sim.tenant(TENANT)
    _read, write, _public = setup.sim.apps
    setup.sim.state.add_app(write, role="read", tenants=[tenant])  # no Exchange Administrator
    _, plan, digest = setup.plan("--remove-unknown")
    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest) == 1
    out = capsys.readouterr()
    assert out.out.count("FAILED") == 4
    assert "0 applied, 0 skipped, 4 failed" in out.err
    assert setup.writes() == []
    journal = str(setup.journal(plan))
    assert set(read_journal(journal).last_status().values()) == {"failed"}
    setup.sim.state.add_app(write, role="write", tenants=[tenant])
    assert setup.apply(plan, "--approve", digest, "--resume", journal) == 0
    assert len(setup.writes()) == 4
    assert setup.diff() == 0


def test_resume_refuses_the_journal_of_another_plan(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first, digest = setup.plan()
    assert (
        setup.apply(
            first, "--approve", digest, "--dry-run", "--journal", str(setup.work / "dry.jsonl")
        )
        == 0
    )
    _, second, digest2 = setup.plan("--remove-unknown", name="second.json")
    assert setup.apply(second, "--approve", digest2, "--resume", str(setup.work / "dry.jsonl")) == 1
    assert "dry run" in capsys.readouterr().err
    assert setup.apply(first, "--approve", digest) == 0
    assert setup.apply(second, "--approve", digest2, "--resume", str(setup.journal(first))) == 1
    assert "journal of another plan" in capsys.readouterr().err


def test_rollback_refuses_when_the_state_moved_on(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, digest = setup.plan()
    assert setup.apply(plan, "--approve", digest) == 0
    widened = {"Identity": "Hybrid relay", "SenderIPAddresses": ["10.0.3.0/24", "192.0.2.0/24"]}
    setup.tamper("Set-InboundConnector", widened)  # neither the applied nor the before value
    journal = str(setup.journal(plan))
    capsys.readouterr()
    assert setup.run("rollback", journal, "--baseline", str(setup.baseline)) == 1
    rollback_digest = capsys.readouterr().out.split("digest: ")[1].split()[0]
    writes = len(setup.writes())
    argv = ["rollback", journal, "--baseline", str(setup.baseline), "--approve", rollback_digest]
    assert setup.run(*argv) == 1
    assert "'Hybrid relay': SenderIPAddresses is now [10.0.3.0/24, 192.0.2.0/24]" in (
        capsys.readouterr().err
    )
    assert len(setup.writes()) == writes


def test_rollback_refuses_an_unreadable_before_state(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journalled before-state that is not a connector record is a one-line error, not a
    traceback, whichever action it belongs to (here the removal of the rogue connector)."""
    _, plan, digest = setup.plan("--remove-unknown")
    assert setup.apply(plan, "--approve", digest) == 0
    journal = setup.journal(plan)
    lines = []
    for line in journal.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("action_id") == "001-remove" and entry.get("status") == "started":
            entry["before"] = ["not", "a", "record"]
        lines.append(json.dumps(entry))
    journal.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert setup.run("rollback", str(journal), "--baseline", str(setup.baseline)) == 1
    err = capsys.readouterr().err
    assert "before-state of 'Inbound relay (temp)' unreadable" in err
    assert "Traceback" not in err
