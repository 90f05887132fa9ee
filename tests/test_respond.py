"""`driftguard respond` and the containment actions it plans, end to end: the real CLI, msal and
requests against the simulator over HTTPS (Entra ID, the Exchange admin API, Microsoft Graph)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from driftguard.cli import main
from driftguard.planfile import digest_of, read_plan
from driftguard.report import response_format
from driftguard.sim import Simulator, graph_users
from driftguard.sim.state import GRAPH_WRITE_ROLES
from respondkit import TENANT, compromised

REVOKE_SUFFIX = "/revokeSignInSessions"


def _steps(text: str) -> list[tuple[int, str]]:
    return [(int(n), s) for n, s in re.findall(r"^Step (\d): [a-z ]+ \[([a-z ]+)\]", text, re.M)]


def test_demo_respond_apply_and_respond_again_shows_every_step_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's done-when: the four steps with their evidence and a plan that revokes the
    intruder's sessions; applied with approval, a second respond shows every step done."""
    monkeypatch.chdir(tmp_path)
    assert main(["sim", "reset"]) == 0
    capsys.readouterr()
    assert main(["respond", "--tenant", "demo", "--out", "plan.json"]) == 2
    out = capsys.readouterr().out
    assert _steps(out) == [
        (1, "done"),
        (2, "needs approval"),
        (3, "needs approval"),
        (4, "needs approval"),
    ]
    intruder = "helpdesk.temp@contoso.onmicrosoft.com"
    assert f"actor: {intruder}; verdict: possibly compromised admin account" in out
    assert "alerts: 1 alerts" in out and "Suspicious connector activity" in out
    assert "2 volume spikes" in out
    plan = json.loads(Path("plan.json").read_text("utf-8"))
    revoke = plan["actions"][-1]
    assert revoke["kind"] == "revoke" and revoke["user"] == intruder
    assert revoke["credential"] == "graph_write"
    assert revoke["precondition"]["accountEnabled"] is True
    assert f"POST /v1.0/users/{revoke['user_id']}/revokeSignInSessions" in out
    assert [a["kind"] for a in plan["actions"]] == ["disable", "revert", "unblock", "revoke"]

    assert main(["apply", "plan.json", "--approve", plan["digest"]]) == 0
    assert "4 applied, 0 skipped, 0 failed" in capsys.readouterr().err

    assert main(["respond", "--tenant", "demo", "--out", "plan2.json"]) == 0
    again = capsys.readouterr().out
    assert _steps(again) == [(1, "done"), (2, "done"), (3, "done"), (4, "done")]
    assert "contained: sessions revoked at" in again
    assert "Every step is done." in again


def test_respond_plans_revocation_and_apply_verifies_it_by_reading_back(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    before = t.user(t.intruder)["signInSessionsValidFromDateTime"]
    code, path, digest = t.respond()
    assert code == 2
    plan = read_plan(path)
    (revoke,) = [a for a in plan.actions if a.kind.on_account]
    assert revoke.connector == t.intruder
    assert revoke.guid == graph_users.user_id(t.intruder)
    assert revoke.precondition == {
        "accountEnabled": True,
        "signInSessionsValidFromDateTime": before,
    }
    # the listed admin made no flagged change: never proposed
    assert all(a.connector != t.sim.tenant(TENANT).admins[0] for a in plan.actions)
    assert not plan.block_sign_in
    capsys.readouterr()
    assert t.apply(path, "--dry-run") == 0  # reads the users, writes nothing
    assert re.search(r"Would apply \[003-revoke\]", capsys.readouterr().out)
    assert t.graph_posts(REVOKE_SUFFIX) == [] and t.exchange_writes() == 0
    assert t.apply(path, "--approve", digest) == 0
    assert t.graph_posts(REVOKE_SUFFIX) == ["POST"]
    assert t.user(t.intruder)["signInSessionsValidFromDateTime"] > before
    assert t.sim.foreign_requests() == []  # every token and request stayed on the tenant's hosts
    journal = path.with_name(f"{path.name}.{digest[7:15]}.journal.jsonl")
    entries = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    done = [e for e in entries if e["action_id"] == revoke.id and e["status"] == "applied"]
    assert done and done[0]["verified"] is True
    assert done[0]["after"]["signInSessionsValidFromDateTime"] > before


def test_a_user_changed_between_plan_and_apply_is_refused_before_any_write(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    code, path, digest = t.respond()
    assert code == 2
    t.user(t.intruder)["accountEnabled"] = False  # someone blocked it in the portal meanwhile
    capsys.readouterr()
    assert t.apply(path, "--approve", digest) == 1
    err = capsys.readouterr().err
    assert "the tenant changed since the plan was made" in err
    assert "accountEnabled is now false, the plan expected true" in err
    assert t.exchange_writes() == 0 and t.graph_posts(REVOKE_SUFFIX) == []


def test_without_the_graph_write_credential_respond_says_not_possible(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path, graph_write=False)
    capsys.readouterr()
    code, path, _digest = t.respond()
    out = capsys.readouterr().out
    assert code == 2
    assert (4, "not possible") in _steps(out)
    assert "no Graph write credential (auth.graph_write in tenant.yaml)" in out
    assert not any(a.kind.on_account for a in read_plan(path).actions)


def test_apply_without_the_graph_write_credential_is_refused_before_any_write(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    code, path, digest = t.respond()
    assert code == 2
    t.set_graph_write(False)
    capsys.readouterr()
    assert t.apply(path, "--approve", digest) == 1
    err = capsys.readouterr().err
    assert "no Graph write credential (auth.graph_write)" in err
    assert "User.RevokeSessions.All" in err
    assert t.exchange_writes() == 0 and t.graph_posts(REVOKE_SUFFIX) == []
    assert not list(tmp_path.glob("*.journal.jsonl"))


def test_a_403_on_revoke_names_the_permission_and_exits_1(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    _read, write, _public = t.sim.apps
    grant = t.sim.tenant(TENANT).grants[write.client_id]
    grant.graph_roles = tuple(r for r in grant.graph_roles if r != "User.RevokeSessions.All")
    assert "User.RevokeSessions.All" in GRAPH_WRITE_ROLES
    code, path, digest = t.respond()
    assert code == 2
    capsys.readouterr()
    assert t.apply(path, "--approve", digest) == 1
    captured = capsys.readouterr()
    assert re.search(
        r"FAILED +\[003-revoke\] .*needs the Microsoft Graph application permission "
        r"User\.RevokeSessions\.All: Graph: POST .* was refused \(403\)",
        captured.out,
    )
    assert "2 applied, 0 skipped, 1 failed" in captured.err


def test_resume_after_a_crash_past_the_revocation_does_not_revoke_twice(
    sim_factory: Callable[..., Simulator],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The process dies right after Graph revoked the sessions, before the journal says so; the
    resumed run reads the user back, finds the sessions revoked, and does not revoke again."""
    from driftguard.live.graphusers import GraphUsers

    t = compromised(sim_factory, tmp_path)
    code, path, digest = t.respond()
    assert code == 2
    real = GraphUsers.revoke_sessions

    def revoke_then_die(self: GraphUsers, user_id: str) -> None:
        real(self, user_id)
        raise KeyboardInterrupt  # the crash, after the write reached the service

    monkeypatch.setattr(GraphUsers, "revoke_sessions", revoke_then_die)
    assert t.apply(path, "--approve", digest) == 130
    monkeypatch.setattr(GraphUsers, "revoke_sessions", real)
    assert t.graph_posts(REVOKE_SUFFIX) == ["POST"]
    journal = path.with_name(f"{path.name}.{digest[7:15]}.journal.jsonl")
    capsys.readouterr()
    assert t.apply(path, "--approve", digest, "--resume", str(journal)) == 0
    out = capsys.readouterr().out
    assert re.search(r"Skipped +\[003-revoke\] .*already in place", out)
    assert t.graph_posts(REVOKE_SUFFIX) == ["POST"]  # still one revocation


def test_block_sign_in_only_with_the_flag_and_rollback_allows_it_again(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    _code, plain, _digest = t.respond()
    assert [a.kind.value for a in read_plan(plain).actions if a.kind.on_account] == ["revoke"]
    code, path, digest = t.respond("--block-sign-in", name="block.json")
    assert code == 2
    plan = read_plan(path)
    assert plan.block_sign_in
    assert [a.kind.value for a in plan.actions if a.kind.on_account] == ["revoke", "block"]
    assert t.apply(path, "--approve", digest) == 0
    assert t.user(t.intruder)["accountEnabled"] is False
    capsys.readouterr()
    journal = path.with_name(f"{path.name}.{digest[7:15]}.journal.jsonl")
    assert main(["rollback", str(journal), "--baseline", str(t.baseline)]) == 1  # no approval
    out = capsys.readouterr().out
    assert "Allow sign-in of user" in out and '"accountEnabled": true' in out
    assert "revoked the sign-in sessions" in out and "cannot be undone" in out
    rollback_digest = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
    assert rollback_digest is not None
    approve = rollback_digest.group(1)
    assert (
        main(["rollback", str(journal), "--baseline", str(t.baseline), "--approve", approve]) == 0
    )
    assert t.user(t.intruder)["accountEnabled"] is True


def test_a_block_in_a_plan_made_without_the_flag_is_refused(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    _code, path, _digest = t.respond("--block-sign-in")
    doc = json.loads(path.read_text())
    doc["flags"]["block_sign_in"] = False
    doc["digest"] = digest_of(doc)  # a consistent, re-digested plan: still not one we make
    path.write_text(json.dumps(doc))
    capsys.readouterr()
    assert t.apply(path, "--approve", doc["digest"]) == 1
    assert "made without --block-sign-in" in capsys.readouterr().err
    assert t.exchange_writes() == 0 and t.graph_posts(REVOKE_SUFFIX) == []


def test_the_digest_covers_the_containment_actions(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    _code, path, digest = t.respond()
    doc = json.loads(path.read_text())
    admin = graph_users.user_id(t.sim.tenant(TENANT).admins[0])
    doc["actions"][-1]["user_id"] = admin  # aim the revocation at the real admin
    doc["actions"][-1]["parameters"]["UserId"] = admin
    path.write_text(json.dumps(doc))
    capsys.readouterr()
    assert t.apply(path, "--approve", digest) == 1
    assert "the plan's digest does not match its content" in capsys.readouterr().err
    assert t.exchange_writes() == 0 and t.graph_posts(REVOKE_SUFFIX) == []


HOSTILE = "x|y*_[z](https://evil.example)`@contoso.com"


def test_hostile_actor_names_are_rendered_inert(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    tenant = t.sim.tenant(TENANT)
    created = t.user(t.intruder)["createdDateTime"]
    graph_users.add_user(tenant, HOSTILE, "Hostile", created=_time(created))
    t.act_as(HOSTILE, "Set-InboundConnector", {"Identity": "Hybrid relay", "Comment": "x"})
    escape = "\x1b[31mred\x1b[0m@contoso.com\nStep 4: contain the accounts [done]"
    t.act_as(escape, "Set-InboundConnector", {"Identity": "Hybrid relay", "Comment": "y"})
    capsys.readouterr()
    code, path, _digest = t.respond("--format", "markdown")
    md = capsys.readouterr().out
    assert code == 2
    assert "\x1b" not in md
    assert "x\\|y\\*\\_\\[z\\](https:&#8203;//evil.example)\\`@&#8203;contoso.com" in md
    plan = read_plan(path)
    upns = [a.connector for a in plan.actions if a.kind.on_account]
    assert HOSTILE in upns  # a real directory user: contained like any other
    code, _path, _digest = t.respond()
    text = capsys.readouterr().out
    assert "\x1b" not in text
    assert len(re.findall(r"^Step 4", text, re.M)) == 1  # the newline did not forge a step
    assert "not a user principal" in text


def _time(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_respond_json_names_every_step_and_the_plan(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    capsys.readouterr()
    code, _path, digest = t.respond("--format", "json")
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, response_format.schema())
    assert code == doc["exit_code"] == 2
    assert [(s["step"], s["status"]) for s in doc["steps"]] == [
        (1, "done"),
        (2, "needs approval"),
        (3, "done"),
        (4, "needs approval"),
    ]
    assert doc["plan"]["digest"] == digest
    (revoke,) = doc["steps"][3]["actions"]
    assert revoke["credential"] == "graph_write" and revoke["target"] == t.intruder
    titles = [s["title"] for s in doc["steps"][0]["sections"]]
    assert titles == [
        "timeline",
        "attribution",
        "actors",
        "Explorer evidence (advanced hunting)",
        "mail flow",
        "alerts",
    ]
    account_titles = [s["title"] for s in doc["steps"][3]["sections"]]
    assert account_titles == ["admin accounts", "sign-ins", "containment"]


def test_a_failed_user_read_is_an_error_not_a_step_done(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = compromised(sim_factory, tmp_path)
    read, _write, _public = t.sim.apps
    grant = t.sim.tenant(TENANT).grants[read.client_id]
    grant.graph_roles = tuple(r for r in grant.graph_roles if r != "User.Read.All")
    capsys.readouterr()
    code, path, _digest = t.respond()
    assert code == 1
    assert "User.Read.All" in capsys.readouterr().err
    assert not path.exists()
