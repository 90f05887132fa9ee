"""The investigation against the HTTPS simulator: real msal, requests, TLS and InvokeCommand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftguard.baseline.load import load_baseline
from driftguard.cli import main
from driftguard.errors import TruncatedReadError
from driftguard.investigate.auditlog import AuditWindow, search_unified_audit_log
from driftguard.investigate.messagetrace import aggregate, trace_rows
from driftguard.live.exchange import ExchangeClient
from driftguard.live.service import ExchangeSource
from driftguard.model import TenantConfig
from driftguard.sim import Simulator
from driftguard.sim.cmdlets import audit as sim_audit
from driftguard.sim.cmdlets.blocked import block
from driftguard.sim.graph_alerts import raise_alert
from driftguard.sim.traffic import Source, SpikeSpec, audit_records
from driftguard.sim.traffic import trace_rows as synthetic_rows
from investigate_kit import DRIFT_TIME, SINCE, baseline_for, run_json, tamper
from simulator import invoke, pinned_session, sim_token

TENANT = "tenant-0001"
ATTACKER = "svc-relay@tenant-0001.onmicrosoft.com"


def _args(folder: Path, *extra: str) -> list[str]:
    return ["investigate", "--baseline", str(folder), "--tenant", TENANT, "--since", SINCE, *extra]


@contextmanager
def _client(folder: Path) -> Iterator[tuple[ExchangeClient, TenantConfig]]:
    config = load_baseline(folder).tenants[TENANT].config
    with ExchangeSource().client(config) as client:
        yield client, config


@contextmanager
def _flagged(flags: set[str], tenant_id: str) -> Iterator[None]:
    """Turn on one of the simulator's per-tenant misbehaviours for the ``with`` block."""
    flags.add(tenant_id)
    try:
        yield
    finally:
        flags.discard(tenant_id)


@contextmanager
def _quirk(tenant_id: str, quirk: str) -> Iterator[None]:
    """Make the simulated audit search behave as ``quirk`` for the ``with`` block."""
    sim_audit.QUIRKS[tenant_id] = quirk
    try:
        yield
    finally:
        sim_audit.QUIRKS.pop(tenant_id, None)


def test_each_finding_is_attributed_to_its_actor(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "widened-ips", "rogue-connector", "internal")
    code, report = run_json(capsys, *_args(folder))
    assert code == 2
    tenant = report["tenants"][0]
    findings = tenant["findings"]
    assert {(f["connector"], f["field"]) for f in findings} == {
        ("Hybrid relay", "SenderIPAddresses"),
        ("Hybrid relay", "TreatMessagesAsInternal"),
        ("Inbound relay (temp)", None),
    }
    for finding in findings:
        assert finding["events"], finding
        event = finding["events"][0]
        assert (event["actor"], event["client_ip"]) == (ATTACKER, "203.0.113.66")
        assert event["time"] == "2026-11-28T02:38:12Z"
    ips = next(f for f in findings if f["field"] == "SenderIPAddresses")["events"][0]
    assert ips["parameters"]["SenderIPAddresses"] == "Add=203.0.113.0/24"
    actors = tenant["evidence"]["actors"]
    assert [a["actor"] for a in actors] == [ATTACKER]
    assert "not a listed admin" in actors[0]["reasons"]
    assert tenant["evidence"]["sources"]["audit"] == "exchange:Search-UnifiedAuditLog"
    assert all(a["attributed"] for a in tenant["evidence"]["attribution"])


def test_a_change_outside_the_audit_trail_is_flagged(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    record = sim.tenant(TENANT).find_connector("Hybrid relay")
    assert record is not None
    record["RequireTls"] = False  # changed behind the admin API's back: no audit record
    record["WhenChangedUTC"] = "2026-11-27T10:00:00.0000000Z"
    code, report = run_json(capsys, *_args(folder))
    assert code == 2
    evidence = report["tenants"][0]["evidence"]
    assert [(a["field"], a["attributed"]) for a in evidence["attribution"]] == [
        ("RequireTls", False)
    ]
    assert "outside the audited admin path" in evidence["attribution"][0]["note"]
    assert evidence["actors"] == []


def test_an_admin_acting_normally_is_not_suspicious(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    code, report = run_json(capsys, *_args(folder))
    assert code == 0
    assert report["tenants"][0]["status"] == "ok"
    assert report["tenants"][0]["evidence"]["actors"] == []


def test_blocked_connector_is_a_finding_and_the_plan_unblocks_after_the_revert(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "widened-ips")
    entry = block(sim.tenant(TENANT), "Hybrid relay", DRIFT_TIME + timedelta(hours=3))
    code, report = run_json(capsys, *_args(folder))
    assert code == 2
    tenant = report["tenants"][0]
    blocked = [f for f in tenant["findings"] if f["kind"] == "blocked"]
    assert len(blocked) == 1
    assert blocked[0]["connector"] == "Hybrid relay"
    assert blocked[0]["guid"] == entry["ConnectorId"]
    assert blocked[0]["severity"] == "critical"
    assert "5.7.711" in blocked[0]["reason"] and "up to an hour" in blocked[0]["reason"]
    assert tenant["evidence"]["blocked"][0]["connector_id"] == entry["ConnectorId"]
    assert any(e["kind"] == "blocked" for e in tenant["evidence"]["timeline"])

    # The plan: revert first, unblock last.
    from driftguard.core import tenant_diff
    from driftguard.investigate.blocked import blocked_findings, get_blocked
    from driftguard.model import Snapshot
    from driftguard.plan import plan_for

    baseline = load_baseline(folder)
    with _client(folder) as (client, _config):
        records = client.invoke("Get-InboundConnector", {"ResultSize": "Unlimited"})
        snapshot = Snapshot(TENANT, tuple(records), "test", datetime.now(UTC))
        drift = tenant_diff(baseline.tenants[TENANT], snapshot, (), date(2026, 11, 29)).drift
        drift = drift.with_blocked(blocked_findings(get_blocked(client), drift.live))
    now = datetime(2026, 11, 29, tzinfo=UTC)
    plan = plan_for(
        drift,
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    cmdlets = [a.cmdlet for a in plan.actions]
    assert cmdlets[-1] == "Remove-BlockedConnector"
    assert "Set-InboundConnector" in cmdlets[:-1]
    assert plan.actions[-1].parameters["ConnectorId"] == entry["ConnectorId"]

    # The simulator's Remove-BlockedConnector needs a write role and lifts the block.
    read = sim_token(sim, TENANT)
    assert (
        invoke(
            sim, TENANT, read, "Remove-BlockedConnector", ConnectorId=entry["ConnectorId"]
        ).status_code
        == 403
    )
    write = sim_token(sim, TENANT, "write")
    done = invoke(sim, TENANT, write, "Remove-BlockedConnector", ConnectorId=entry["ConnectorId"])
    assert done.status_code == 200
    assert invoke(sim, TENANT, read, "Get-BlockedConnector").json()["value"] == []


def _load_traffic(sim: Simulator, spike: SpikeSpec | None) -> None:
    rows = synthetic_rows(
        seed=11,
        first=date(2026, 10, 1),
        days=42,
        sources=(
            Source("198.51.100", 150, ("tenant-0001.example.com",)),
            Source("203.0.113", 60, ("partner.example",)),
        ),
        spike=spike,
    )
    sim.tenant(TENANT).message_trace = list(rows)


def test_spike_found_through_the_service(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "rogue-connector")
    _load_traffic(sim, SpikeSpec("203.0.113", day=38, messages=700))
    code, report = run_json(
        capsys,
        "investigate",
        "--baseline",
        str(folder),
        "--tenant",
        TENANT,
        "--since",
        "2026-10-01",
        "--until",
        "2026-11-11",
    )
    assert code == 2
    flow = report["tenants"][0]["evidence"]["mail_flow"]
    assert [(s["connector"], s["day"]) for s in flow["spikes"]] == [
        ("Inbound relay (temp)", "2026-11-08")
    ]
    assert flow["rows"] == len(
        {(r["MessageTraceId"], r["RecipientAddress"]) for r in sim.tenant(TENANT).message_trace}
    )


def _row(i: int, when: datetime, recipient: str) -> dict[str, Any]:
    return {
        "MessageTraceId": f"00000000-0000-4000-8000-{i:012d}",
        "Received": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}0Z",
        "RecipientAddress": recipient,
        "SenderAddress": "x@contoso.com",
        "FromIP": "198.51.100.5",
        "Status": "Delivered",
    }


def test_continuation_and_slice_edges_repeat_rows_and_dedupe_removes_them(
    sim: Simulator, tmp_path: Path
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    end = datetime(2026, 11, 20, tzinfo=UTC)
    start = end - timedelta(days=25)
    edge = end - timedelta(days=10)  # where the first and second slices meet
    rows = []
    for i in range(120):
        rows.append(_row(i, end - timedelta(hours=5 * i, microseconds=i), "a@contoso.com"))
    for j, who in enumerate(("a@contoso.com", "b@contoso.com", "c@contoso.com")):
        rows.append(_row(1000, edge, who))  # one message, three recipients, on the edge
        rows.append(_row(2000 + j, edge - timedelta(hours=1), who))  # ties within a page
    sim.tenant(TENANT).message_trace = rows
    expected = {(r["MessageTraceId"], r["RecipientAddress"]) for r in rows if start <= _t(r) <= end}
    with _client(folder) as (client, _config):
        raw = list(trace_rows(client, start, end, page_size=7))
    keys = [(r["MessageTraceId"], r["RecipientAddress"]) for r in raw]
    assert set(keys) == expected  # nothing lost at any edge
    assert len(keys) > len(expected)  # the service repeated rows
    edge_key = ("00000000-0000-4000-8000-000000001000", "a@contoso.com")
    assert keys.count(edge_key) >= 2  # repeated across the slice edge
    from driftguard.normalize import connector_from_baseline

    hybrid = connector_from_baseline(
        {
            "Name": "Hybrid relay",
            "ConnectorType": "OnPremises",
            "SenderIPAddresses": ["198.51.100.0/24"],
        }
    )
    flow = aggregate(iter(raw), [hybrid], [], start, end)
    assert flow.rows == len(expected)
    assert flow.duplicates == len(keys) - len(expected)


def _t(row: dict[str, Any]) -> datetime:
    from driftguard.investigate.messagetrace import received_at

    return received_at(row["Received"])


@pytest.mark.slow
def test_fifty_thousand_audit_records_in_one_session(sim: Simulator, tmp_path: Path) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tenant = sim.tenant(TENANT)
    end = datetime(2026, 11, 20, tzinfo=UTC)
    tenant.audit.extend(
        audit_records(
            seed=3,
            count=50_000,
            end=end,
            connectors=["Hybrid relay", "Partner TLS"],
            tenant_id=tenant.tenant_id,
        )
    )
    window = AuditWindow(end - timedelta(days=61), end)
    with _client(folder) as (client, _config):
        events = search_unified_audit_log(client, window)
        assert len(events) == 50_000
        assert len({e.record_id for e in events}) == 50_000
        tenant.audit.append(dict(tenant.audit[-1], Id="one-too-many"))
        with pytest.raises(TruncatedReadError, match="may be incomplete"):
            search_unified_audit_log(client, window)


@pytest.mark.parametrize("quirk", ["count-drift", "lose-page", "repeat-row"])
def test_inconsistent_sessions_fail_closed(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], quirk: str
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tenant = sim.tenant(TENANT)
    tenant.audit.extend(
        audit_records(
            seed=4,
            count=6_000,
            end=datetime(2026, 11, 20, tzinfo=UTC),
            connectors=["Hybrid relay"],
            tenant_id=tenant.tenant_id,
        )
    )
    with _quirk(tenant.tenant_id, quirk):
        capsys.readouterr()
        from driftguard.cli import main

        code = main([*_args(folder)[:-2], "--since", "2026-09-01"])
        err = capsys.readouterr().err
    assert code == 1
    assert "may be incomplete" in err


def test_alerts_are_read_from_graph(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tenant = sim.tenant(TENANT)
    raise_alert(tenant, "Hybrid relay", DRIFT_TIME + timedelta(hours=4), ("203.0.113.66",))
    other = raise_alert(tenant, "Hybrid relay", DRIFT_TIME + timedelta(hours=5))
    other["title"] = "Email messages containing malicious URL removed after delivery"
    old = raise_alert(tenant, "Hybrid relay", datetime(2026, 1, 1, tzinfo=UTC))
    assert old
    code, report = run_json(capsys, *_args(folder))
    assert code == 2
    alerts = report["tenants"][0]["evidence"]["alerts"]
    assert [(a["title"], a["connectors"], a["ips"]) for a in alerts] == [
        ("Suspicious connector activity", ["Hybrid relay"], ["203.0.113.66"])
    ]
    # The service refuses a filter on title: it has to be matched in code.
    token = _graph_token(sim)
    resp = pinned_session(sim.ca_path).get(
        f"{sim.url}/v1.0/security/alerts_v2",
        params={"$filter": "title eq 'Suspicious connector activity'"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert resp.status_code == 400


def _graph_token(sim: Simulator) -> str:
    return sim_token(sim, TENANT, scope="https://graph.microsoft.com/.default")


def test_the_demo_tells_its_story(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``investigate --tenant demo`` reads the in-process simulator: who, from where, blocked,
    alerted, and the one change nobody can explain from the log is none (all attributed)."""
    code, report = run_json(
        capsys, "investigate", "--baseline", str(tmp_path / "none"), "--tenant", "demo"
    )
    assert code == 2
    tenant = report["tenants"][0]
    drift = [f for f in tenant["findings"] if f["kind"] != "blocked"]
    assert drift and all(f["events"] for f in drift)
    intruders = {f["events"][0]["actor"] for f in drift}
    assert len(intruders) == 1
    (intruder,) = intruders
    assert intruder not in ("exadmin@contoso.com",)
    evidence = tenant["evidence"]
    assert [a["actor"] for a in evidence["actors"]] == [intruder]
    assert [f["connector"] for f in tenant["findings"] if f["kind"] == "blocked"] == [
        "Hybrid relay"
    ]
    assert [a["title"] for a in evidence["alerts"]] == ["Suspicious connector activity"]
    assert set(evidence["sources"]) == {
        "audit",
        "blocked",
        "message_trace",
        "alerts",
        "accounts",
        "hunting",
    }
    assert all(not v.startswith("not") for v in evidence["sources"].values())
    # The spike through the intruder's range, on the day of the intrusion (the demo is dated from
    # the moment its state was made), on the two connectors holding that range and no other.
    from driftguard.sim.inprocess import load_demo_state

    state, _path = load_demo_state()
    created = next(
        a
        for a in state.tenants["demo"].audit
        if a["Operation"] == "New-InboundConnector" and a["ObjectId"] == "Inbound relay (temp)"
    )
    day = created["CreationTime"][:10]
    assert [(s["connector"], s["day"]) for s in evidence["mail_flow"]["spikes"]] == [
        ("Hybrid relay", day),
        ("Inbound relay (temp)", day),
    ]


def test_explain_attaches_the_trail_without_changing_the_verdict(
    sim: Simulator, tmp_path: Path
) -> None:
    import argparse

    from driftguard.cli._investigating import explain, parse_moment
    from driftguard.cli._live import snapshots_for
    from driftguard.core import tenant_report
    from driftguard.model import Report, Status

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "partner-disabled")
    baseline = load_baseline(folder)
    args = argparse.Namespace(
        tenants=[TENANT],
        live=None,
        since=parse_moment(SINCE),
        until=None,
        audit_log=None,
        concurrency=1,
        shard=None,
        deadline=60.0,
    )
    snapshots = snapshots_for(args, baseline, [TENANT])
    snapshot = snapshots[TENANT]
    assert not isinstance(snapshot, Exception)
    plain = tenant_report(baseline.tenants[TENANT], snapshot, (), date(2026, 11, 29))
    report = Report(generated_at=datetime.now(UTC), tenants=(plain,), command="diff")
    explained = explain(report, baseline, args, snapshots).tenants[0]
    assert explained.status is Status.DRIFT
    assert [f.kind for f in explained.findings] == [f.kind for f in plain.findings]  # no blocked
    (finding,) = explained.findings
    assert finding.field == "Enabled"
    assert [(e.actor, e.operation) for e in finding.events] == [(ATTACKER, "Set-InboundConnector")]
    assert explained.evidence is not None
    assert explained.evidence.sources["message_trace"] == "not requested"


@pytest.mark.slow
def test_graph_sources_give_the_same_answers(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "widened-ips")
    _load_traffic(sim, None)
    args = [
        "investigate",
        "--baseline",
        str(folder),
        "--tenant",
        TENANT,
        "--since",
        "2026-10-01",
        "--until",
        "2026-11-29",
    ]
    code, exchange = run_json(capsys, *args)
    assert code == 2
    code, graph = run_json(capsys, *args, "--audit-source", "graph", "--trace-source", "graph")
    assert code == 2
    ex, gr = exchange["tenants"][0], graph["tenants"][0]
    assert gr["evidence"]["sources"]["audit"] == "graph:security/auditLog/queries"
    assert gr["evidence"]["sources"]["message_trace"].startswith("graph:")
    assert [f["events"] for f in gr["findings"]] == [f["events"] for f in ex["findings"]]
    assert gr["evidence"]["mail_flow"]["connectors"] == ex["evidence"]["mail_flow"]["connectors"]
    assert gr["evidence"]["mail_flow"]["rows"] > 1000


def test_graph_sources_are_global_only(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    path = folder / TENANT / "tenant.yaml"
    config = yaml.safe_load(path.read_text("utf-8"))
    config["cloud"] = "gcc-high"
    path.write_text(yaml.safe_dump(config), "utf-8")
    capsys.readouterr()
    from driftguard.cli import main

    assert main([*_args(folder), "--audit-source", "graph", "--skip", "alerts"]) == 1
    assert "only in the global cloud" in capsys.readouterr().err


def test_skipped_sources_are_named(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    code, report = run_json(capsys, *_args(folder), "--skip", "alerts", "--skip", "message-trace")
    assert code == 0
    sources = report["tenants"][0]["evidence"]["sources"]
    assert sources["alerts"] == sources["message_trace"] == "not requested"
    assert report["tenants"][0]["evidence"]["mail_flow"] is None


def test_diff_explain_on_the_command_line(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "internal")
    base = ["diff", "--baseline", str(folder), "--tenant", TENANT]
    code, plain = run_json(capsys, *base)
    assert code == 2
    assert plain["tenants"][0]["findings"][0]["events"] == []
    code, explained = run_json(capsys, *base, "--explain", "--since", SINCE)
    assert code == 2
    (finding,) = explained["tenants"][0]["findings"]
    assert [(e["actor"], e["client_ip"]) for e in finding["events"]] == [(ATTACKER, "203.0.113.66")]
    from driftguard.cli import main

    capsys.readouterr()
    assert main([*base, "--explain", "--since", SINCE]) == 2
    text = capsys.readouterr().out
    assert f"TreatMessagesAsInternal: Set-InboundConnector by {ATTACKER} from 203.0.113.66" in text


def test_plan_explain_goes_to_stderr_and_leaves_the_plan_alone(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from driftguard.cli import main

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "widened-ips")
    base = ["plan", "--baseline", str(folder), "--tenant", TENANT, "--format", "json"]
    capsys.readouterr()
    assert main(base) == 2
    plain = json.loads(capsys.readouterr().out)
    assert main([*base, "--explain", "--since", SINCE]) == 2
    captured = capsys.readouterr()
    explained = json.loads(captured.out)
    assert [a["cmdlet"] for a in explained["actions"]] == [a["cmdlet"] for a in plain["actions"]]
    assert f"SenderIPAddresses: Set-InboundConnector by {ATTACKER}" in captured.err


def test_unsorted_large_sets_are_complete(sim: Simulator, tmp_path: Path) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tenant = sim.tenant(TENANT)
    end = datetime(2026, 11, 20, tzinfo=UTC)
    tenant.audit.extend(
        audit_records(
            seed=5, count=7_000, end=end, connectors=["Hybrid relay"], tenant_id=tenant.tenant_id
        )
    )
    with _quirk(tenant.tenant_id, "unsorted"), _client(folder) as (client, _config):
        events = search_unified_audit_log(client, AuditWindow(end - timedelta(days=61), end))
    assert len({e.record_id for e in events}) == 7_000


def test_refused_alerts_fail_the_tenant_unless_skipped(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main
    from driftguard.sim import graph_alerts

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tenant_id = sim.tenant(TENANT).tenant_id
    with _flagged(graph_alerts.REFUSE, tenant_id):
        capsys.readouterr()
        assert main(_args(folder)) == 1
        err = capsys.readouterr().err
        assert "403" in err and "SecurityAlert.Read.All" in err
        code, report = run_json(capsys, *_args(folder), "--skip", "alerts")
    assert code == 0
    assert report["tenants"][0]["evidence"]["sources"]["alerts"] == "not requested"


def test_many_tenants_each_get_their_own_evidence(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ["tenant-0001", "tenant-0002", "tenant-0003"]
    folder = baseline_for(sim, tmp_path / "b", names)
    tamper(sim, "tenant-0002", "partner-disabled")
    code, report = run_json(
        capsys, "investigate", "--baseline", str(folder), "--since", SINCE, "--concurrency", "3"
    )
    assert code == 2
    by_name = {t["tenant"]: t for t in report["tenants"]}
    assert [t["tenant"] for t in report["tenants"]] == names
    assert by_name["tenant-0001"]["status"] == by_name["tenant-0003"]["status"] == "ok"
    (finding,) = by_name["tenant-0002"]["findings"]
    assert finding["events"][0]["actor"] == "svc-relay@tenant-0002.onmicrosoft.com"


def test_no_drift_but_a_stranger_in_the_log_is_still_suspicious(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "internal")
    record = sim.tenant(TENANT).find_connector("Hybrid relay")
    assert record is not None
    record["TreatMessagesAsInternal"] = False  # put back, but the log remembers who did it
    code, report = run_json(capsys, *_args(folder))
    assert code == 2
    tenant = report["tenants"][0]
    assert tenant["status"] == "ok" and tenant["findings"] == []
    assert tenant["evidence"]["suspicious"] is True
    assert any(
        "possibly compromised admin account" in w and ATTACKER in w for w in tenant["warnings"]
    )


def test_graph_next_link_to_another_host_is_not_followed(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main
    from driftguard.sim import graph_alerts

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tenant = sim.tenant(TENANT)
    for hour in range(60):  # more than one page of alerts
        raise_alert(tenant, "Hybrid relay", DRIFT_TIME + timedelta(minutes=hour))
    with _flagged(graph_alerts.FOREIGN_NEXTLINK, tenant.tenant_id):
        capsys.readouterr()
        assert main(_args(folder)) == 1
    assert "another host" in capsys.readouterr().err
    assert sim.foreign_requests() == []  # nothing, let alone the token, went there


def test_an_unreadable_live_audit_record_fails_the_tenant(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "widened-ips")
    broken = dict(sim.tenant(TENANT).audit[-1], UserId="", AppId="", Id="broken")
    sim.tenant(TENANT).audit.append(broken)
    capsys.readouterr()
    assert main(_args(folder)) == 1
    err = capsys.readouterr().err
    assert "cannot be read" in err and "UserId" in err


def test_a_continuation_that_cannot_move_on_fails_closed(sim: Simulator, tmp_path: Path) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    when = datetime(2026, 11, 20, 10, tzinfo=UTC)
    # More rows share one time and one recipient than a page holds: keyset paging cannot pass.
    sim.tenant(TENANT).message_trace = [_row(i, when, "a@contoso.com") for i in range(12)]
    with _client(folder) as (client, _config), pytest.raises(TruncatedReadError):
        list(trace_rows(client, when - timedelta(days=1), when + timedelta(days=1), page_size=5))


def test_a_failed_graph_audit_query_fails_the_tenant(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main
    from driftguard.sim import graph_evidence

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tenant_id = sim.tenant(TENANT).tenant_id
    with _flagged(graph_evidence.FAIL_QUERIES, tenant_id):
        capsys.readouterr()
        assert main([*_args(folder), "--audit-source", "graph", "--skip", "alerts"]) == 1
    assert "the Graph audit query failed" in capsys.readouterr().err


def test_the_text_summary_states_the_exit_code_the_run_returns(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "internal")
    record = sim.tenant(TENANT).find_connector("Hybrid relay")
    assert record is not None
    record["TreatMessagesAsInternal"] = False  # no drift left, a stranger in the log
    code = main(_args(folder))
    out = capsys.readouterr().out
    assert code == 2
    assert "1 tenant: 1 ok, 1 with suspicious evidence; exit code 2" in out
    assert "exit code 0" not in out
