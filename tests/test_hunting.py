"""Explorer's evidence through advanced hunting: the query, the reader, the export, the
simulator's endpoint, and the investigation end to end over real HTTPS (msal, requests, TLS)."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from driftguard.baseline.load import load_baseline
from driftguard.errors import LiveReadError, ServiceError, TruncatedReadError
from driftguard.investigate import hunting, kql
from driftguard.investigate.graph import GraphClient
from driftguard.investigate.huntingrules import Scope
from driftguard.investigation import (
    ForeignSenders,
    HuntingConnector,
    HuntingDay,
    HuntingSection,
    Investigation,
    from_json,
    to_json,
)
from driftguard.model import Report, Status, TenantReport
from driftguard.sim import Simulator
from driftguard.sim.hunting import TYPES, HuntingStore, store_for
from driftguard.sim.kqlsubset import KqlError, run
from investigate_kit import SINCE, baseline_for, demo_args, run_json
from simulator import pinned_session, sim_token

FIXTURE = Path(__file__).parent / "fixtures" / "evidence" / "hunting_emailevents.csv"
TENANT = "tenant-0001"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOSTILE = (
    'Relay "quoted"',
    "back\\slash\\",
    "new\nline | take 1",
    "semi; colon; drop",
    "x // a comment",
    '" | where 1 == 1 //',
    "tab\there\r",
    "it's",
)


def _scope(start: datetime = datetime(2026, 11, 1, tzinfo=UTC)) -> Scope:
    """The demo tenant's connectors as the baseline approves them."""
    return Scope(
        start=start,
        end=NOW,
        accepted_domains=("contoso.com", "contoso.onmicrosoft.com"),
        ranges={
            "Fabrikam partner TLS": (),
            "Hybrid relay": ("198.51.100.0/24",),
            "Inbound relay (temp)": (),
        },
        judge_domains={
            "Fabrikam partner TLS": False,
            "Hybrid relay": True,
            "Inbound relay (temp)": True,
        },
    )


def _fixture_rows() -> list[dict[str, str]]:
    with FIXTURE.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _table(rows: list[dict[str, Any]]) -> HuntingStore:
    store = HuntingStore()
    for row in rows:
        store.add(row)
    return store


def _sim_run(store: HuntingStore, text: str) -> list[dict[str, Any]]:
    result = run(text, {"EmailEvents": (TYPES, store.column, len(store))})
    names = [name for name, _ in result.columns]
    return [dict(zip(names, row, strict=True)) for row in result.rows]


# --------------------------------------------------------------------------- the query


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_connector_name_stays_data(name: str) -> None:
    text = kql.HuntingQuery(name, NOW - timedelta(days=3), NOW, ("contoso.com",), ()).text
    assert text.endswith(kql.BODY)  # the body never changes
    assert text.count("\n") == kql.BODY.count("\n") + 8  # eight let lines, nothing spliced
    when = NOW - timedelta(hours=1)
    base = {
        "Timestamp": when,
        "EmailDirection": "Inbound",
        "SenderMailFromDomain": "evil.example",
        "SenderFromDomain": "contoso.com",
        "SenderIPv4": "203.0.113.9",
    }
    store = _table(
        [
            {**base, "Connectors": name},
            {**base, "Connectors": name},
            {**base, "Connectors": "Hybrid relay"},
        ]
    )
    rows = _sim_run(store, text)
    assert [(r["Connectors"], r["Messages"], r["Mismatched"]) for r in rows] == [(name, 2, 2)]


def test_a_control_character_in_a_value_is_refused() -> None:
    with pytest.raises(kql.QueryValueError, match="U\\+001B"):
        _ = kql.HuntingQuery("red\x1b[31m", NOW, NOW, (), ()).text
    assert kql.string('a"b\\c\n') == '"a\\"b\\\\c\\n"'


# --------------------------------------------------------------------------- one definition


def test_the_export_and_the_service_count_alike(sim: Simulator, tmp_path: Path) -> None:
    """The fixture counted locally and the same rows counted by the simulated service's own
    evaluator of driftguard's query, read over HTTPS: the same connectors, days and counts."""
    rows = _fixture_rows()
    store = store_for(sim.tenant(TENANT))
    for row in rows:
        store.add(row)
    local, skips = hunting.read_export(FIXTURE, _scope())
    assert skips.count == 0
    assert local.rows == len(rows)  # the intra-org row is read, not counted for a connector
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    config = load_baseline(folder).tenants[TENANT].config
    with _graph(config) as graph:
        remote = hunting.hunt(graph, _scope(), datetime.now(UTC))
    assert remote.queries == 6 and 0 < remote.rows < 30  # daily + foreign senders, each
    assert remote.connectors == local.connectors
    relay = {c.connector: c for c in local.connectors}["Inbound relay (temp)"]
    assert sum(d.mismatched for d in relay.days) == 9
    assert relay.reasons and "P1 MailFrom" in relay.reasons[0]
    hybrid = {c.connector: c for c in local.connectors}["Hybrid relay"]
    assert any("outside the connector's approved ranges" in r for r in hybrid.reasons)
    partner = {c.connector: c for c in local.connectors}["Fabrikam partner TLS"]
    assert sum(d.messages for d in partner.days) == 3 and not partner.reasons


def test_a_name_inside_another_is_not_counted_twice(sim: Simulator, tmp_path: Path) -> None:
    store = store_for(sim.tenant(TENANT))
    when = datetime.now(UTC) - timedelta(hours=2)
    for name, count in (("Relay", 2), ("Relay 2", 3), ("relay, Partner", 1)):
        for _ in range(count):
            store.add({"Timestamp": when, "EmailDirection": "Inbound", "Connectors": name})
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    config = load_baseline(folder).tenants[TENANT].config
    scope = dataclasses.replace(
        _scope(), end=datetime.now(UTC), ranges={"Relay": (), "Relay 2": ()}, judge_domains={}
    )
    with _graph(config) as graph:
        section = hunting.hunt(graph, scope, datetime.now(UTC))
    counted = {c.connector: sum(d.messages for d in c.days) for c in section.connectors}
    assert counted == {"Relay": 3, "Relay 2": 3}  # "relay, Partner" lists Relay too


@contextmanager
def _graph(config: Any) -> Iterator[Any]:
    from driftguard.app.investigate import service_clients
    from driftguard.live.service import ExchangeSource

    with service_clients(ExchangeSource(), 60.0)(config) as (_client, graph):
        yield graph


# --------------------------------------------------------------------------- end to end


def _args(folder: Path, *extra: str) -> list[str]:
    return ["investigate", "--baseline", str(folder), "--tenant", TENANT, "--since", SINCE, *extra]


def _relay_rows(sim: Simulator, count: int) -> None:
    """Mail through the tenant's "Hybrid relay" from outside its range, P1 at a foreign domain."""
    store = store_for(sim.tenant(TENANT))
    when = datetime.now(UTC) - timedelta(days=1)
    for i in range(count):
        store.add(
            {
                "Timestamp": when + timedelta(seconds=i),
                "EmailDirection": "Inbound",
                "Connectors": "Hybrid relay",
                "SenderMailFromAddress": f"b{i}@bulk.example",
                "SenderMailFromDomain": "bulk.example",
                "SenderFromAddress": "ceo@tenant-0001.example.com",
                "SenderFromDomain": "tenant-0001.example.com",
                "SenderIPv4": "203.0.113.7",
                "DeliveryAction": "Delivered",
                "DeliveryLocation": "Inbox/folder",
            }
        )


def test_relayed_mail_makes_the_tenant_suspicious(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    code, report = run_json(capsys, *_args(folder))
    assert code == 0  # nothing in the store: nothing suspicious
    assert report["tenants"][0]["evidence"]["sources"]["hunting"].startswith(hunting.SOURCE)
    _relay_rows(sim, 25)
    code, report = run_json(capsys, *_args(folder))
    assert code == 2
    tenant = report["tenants"][0]
    section = tenant["evidence"]["hunting"]
    relay = next(c for c in section["connectors"] if c["connector"] == "Hybrid relay")
    assert [d["messages"] for d in relay["days"]] == [25]
    assert relay["days"][0]["outside_ips"] == ["203.0.113.7"]
    assert any("hunting: connector 'Hybrid relay'" in w for w in tenant["warnings"])
    assert section["rows"] == 2  # 25 messages: one day, one foreign pair
    assert relay["top_foreign"] == [
        {
            "mail_from_domain": "bulk.example",
            "from_domain": "tenant-0001.example.com",
            "messages": 25,
        }
    ]


def test_a_window_older_than_the_service_keeps_is_said(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    old = ["investigate", "--baseline", str(folder), "--tenant", TENANT]
    code, report = run_json(capsys, *old, "--since", "2025-01-01", "--until", "2025-01-31")
    assert code == 0
    assert report["tenants"][0]["evidence"]["sources"]["hunting"] == (
        "not available: the window ends before the 30 days the service keeps"
    )
    assert store_for(sim.tenant(TENANT)).queries == []


def test_a_missing_permission_fails_the_tenant_naming_it(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    store_for(sim.tenant(TENANT)).permission = False
    capsys.readouterr()
    assert main(_args(folder)) == 1
    err = capsys.readouterr().err
    assert "hunting" in err and "403" in err and "ThreatHunting.Read.All" in err
    code, report = run_json(capsys, *_args(folder), "--skip", "hunting")
    assert code == 0
    assert report["tenants"][0]["evidence"]["sources"]["hunting"] == "not requested"
    assert "hunting" not in report["tenants"][0]["evidence"]


def test_without_the_licence_message_trace_is_used_and_said(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    store = store_for(sim.tenant(TENANT))
    store.licensed = False
    _relay_rows(sim, 3)  # invisible without the licence
    capsys.readouterr()
    assert main(_args(folder)) == 0
    out = capsys.readouterr().out
    assert "hunting: not available (no Defender for Office 365 Plan 2): message trace used" in out
    # Without message trace either, nothing stands in for it: an error naming the licence.
    assert main(_args(folder, "--skip", "message-trace")) == 1
    err = capsys.readouterr().err
    assert "hunting" in err and "Defender for Office 365 Plan 2" in err
    assert "EmailEvents" in err  # the service's own words


def test_throttling_is_retried_then_named(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main

    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    sim.state.knobs.retry_after = 0
    store = store_for(sim.tenant(TENANT))
    _relay_rows(sim, 2)
    store.throttled = 1
    code, _report = run_json(capsys, *_args(folder))
    assert code == 2 and store.throttled == 0
    store.throttled = 1000
    capsys.readouterr()
    assert main(_args(folder)) == 1
    err = capsys.readouterr().err
    assert "hunting" in err and "45 calls per minute" in err and "429" in err


def test_the_demo_tells_the_p1_p2_story(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "investigate", "--tenant", "demo")
    assert code == 2
    section = report["tenants"][0]["evidence"]["hunting"]
    by_name = {c["connector"]: c for c in section["connectors"]}
    rogue = by_name["Inbound relay (temp)"]
    assert rogue["reasons"] and "P1 MailFrom" in rogue["reasons"][0]
    assert all(ip.startswith("203.0.113.") for d in rogue["days"] for ip in d["outside_ips"])
    assert not by_name["Fabrikam partner TLS"]["reasons"]
    with_foreign = [c for c in by_name.values() if any(d["foreign"] for d in c["days"])]
    assert section["rows"] < 100 and section["queries"] == len(by_name) + len(with_foreign)
    assert {f["from_domain"] for f in rogue["top_foreign"]} == {"contoso.com"}


def test_an_export_gives_the_same_evidence_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = demo_args(tmp_path, "--hunting-export", str(FIXTURE))
    code, report = run_json(capsys, *args)
    assert code == 2
    evidence = report["tenants"][0]["evidence"]
    assert evidence["sources"]["hunting"] == "file:hunting_emailevents.csv"
    rogue = next(
        c for c in evidence["hunting"]["connectors"] if c["connector"] == "Inbound relay (temp)"
    )
    assert sum(d["mismatched"] for d in rogue["days"]) == 9
    code, report = run_json(capsys, *demo_args(tmp_path))
    assert report["tenants"][0]["evidence"]["sources"]["hunting"].startswith("not available")


def test_an_unreadable_export_row_is_skipped_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = FIXTURE.read_text(encoding="utf-8-sig").splitlines()
    broken = lines[1].replace(lines[1].split(",")[0], "yesterday", 1)
    damaged = tmp_path / "export.csv"
    damaged.write_text("\n".join([*lines, broken]) + "\n", encoding="utf-8")
    code, report = run_json(capsys, *demo_args(tmp_path, "--hunting-export", str(damaged)))
    assert code == 2
    evidence = report["tenants"][0]["evidence"]
    assert evidence["skipped_rows"] == 1
    assert evidence["skipped"] == [
        f"{damaged}:{len(lines) + 1}:1: row skipped: Timestamp: not a time: 'yesterday'"
    ]


def test_an_export_without_its_columns_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main

    other = tmp_path / "other.csv"
    other.write_text("Timestamp,Subject\n2026-11-28T00:00:00Z,hello\n", encoding="utf-8")
    capsys.readouterr()
    assert main(demo_args(tmp_path, "--hunting-export", str(other))) == 1
    err = capsys.readouterr().err
    assert "other.csv:1: not an EmailEvents export" in err and "SenderMailFromDomain" in err


# --------------------------------------------------------------------------- the reader


class _Answers:
    """A canned transport for GraphClient (as in test_graph_client.py): the payloads in turn,
    the last one again."""

    def __init__(self, status: int, *payloads: Any) -> None:
        self.status, self.bodies = status, [json.dumps(p).encode() for p in payloads]
        self.calls = 0

    def request(self, method: str, url: str, **_kwargs: Any) -> requests.Response:
        resp = requests.Response()
        resp.status_code = self.status
        resp._content = self.bodies[min(self.calls, len(self.bodies) - 1)]
        self.calls += 1
        resp.headers["Content-Type"] = "application/json"
        resp.url = url
        return resp


class _Tokens:
    def token(self, *, force_refresh: bool = False) -> str:
        return "token-of-the-test-0123456789"

    def redact(self, text: str) -> str:
        return text


def _hunt(status: int, *payloads: Any) -> HuntingSection:
    session: Any = _Answers(status, *payloads)
    graph = GraphClient(session, "graph.example", _Tokens(), sleep=lambda _s: None, max_attempts=1)
    scope = dataclasses.replace(_scope(), ranges={"Hybrid relay": ()})
    return hunting.hunt(graph, scope, NOW)


_SCHEMA = [{"name": name, "type": types[0]} for name, types in kql.COLUMNS]
_ROW = {
    "Day": "2026-11-28T00:00:00Z",
    "Connectors": "Hybrid relay",
    "Messages": 5,
    "Junked": 1,
    "Mismatched": 2,
    "Foreign": 2,
    "OutsideRanges": 5,
    "ForeignFromDomains": [],
    "ForeignMailFromDomains": ["bulk.example"],
    "OutsideIPs": ["203.0.113.7"],
}


_FOREIGN_SCHEMA = [{"name": name, "type": types[0]} for name, types in kql.FOREIGN_COLUMNS]
_PAIR = {
    "SenderMailFromDomain": "bulk.example",
    "SenderFromDomain": "contoso.com",
    "Connectors": "Hybrid relay",
    "Messages": 2,
}


def test_a_good_answer_is_read() -> None:
    section = _hunt(
        200,
        {"schema": _SCHEMA, "results": [_ROW]},
        {"schema": _FOREIGN_SCHEMA, "results": [_PAIR, {**_PAIR, "Connectors": "Other"}]},
    )
    (connector,) = section.connectors
    assert connector.days[0].messages == 5
    assert connector.days[0].foreign_domains == ("bulk.example",)
    assert connector.top_foreign == (ForeignSenders("bulk.example", "contoso.com", 2),)
    assert section.queries == 2 and section.rows == 3


@pytest.mark.parametrize(
    ("payload", "error", "words"),
    [
        ({"schema": _SCHEMA}, ServiceError, "no schema and results"),
        ({"schema": _SCHEMA[:-1], "results": []}, ServiceError, "column OutsideIPs"),
        (
            {"schema": [*_SCHEMA, {"name": "X", "type": "String"}], "results": []},
            ServiceError,
            "columns other than",
        ),
        ({"schema": _SCHEMA, "results": [{**_ROW, "Junked": 9}]}, ServiceError, "larger"),
        ({"schema": _SCHEMA, "results": [{**_ROW, "Messages": "5"}]}, ServiceError, "count"),
        ({"schema": _SCHEMA, "results": [_ROW] * 100_000}, TruncatedReadError, "limit"),
        (
            {"schema": _FOREIGN_SCHEMA, "results": [{**_PAIR, "Messages": 0}]},
            ServiceError,
            "foreign answer.*Messages",
        ),
    ],
)
def test_an_answer_out_of_shape_is_an_error(
    payload: Any, error: type[Exception], words: str
) -> None:
    daily = {"schema": _SCHEMA, "results": [_ROW]}
    payloads = (daily, payload) if payload.get("schema") == _FOREIGN_SCHEMA else (payload,)
    with pytest.raises(error, match=words) as info:
        _hunt(200, *payloads)
    assert "hunting" in str(info.value)


def test_a_syntax_error_is_an_error_and_a_missing_table_means_no_licence() -> None:
    syntax = {"error": {"code": "BadRequest", "message": "Syntax error at offset 3"}}
    with pytest.raises(ServiceError, match=r"hunting.*400.*Syntax error"):
        _hunt(400, syntax)
    missing = {
        "error": {
            "code": "BadRequest",
            "message": "'where' operator: Failed to resolve table or column expression named "
            "'EmailEvents'. Fix semantic errors in your query.",
        }
    }
    with pytest.raises(hunting.NotLicensed):
        _hunt(400, missing)
    licence = {"error": {"code": "Forbidden", "message": "Requires a Defender license: Plan 2"}}
    with pytest.raises(hunting.NotLicensed):
        _hunt(403, licence)
    with pytest.raises(LiveReadError, match=r"ThreatHunting\.Read\.All"):
        _hunt(403, {"error": {"code": "Forbidden", "message": "Insufficient privileges"}})


# --------------------------------------------------------------------------- the simulator


def test_the_simulator_refuses_what_it_cannot_compile(sim: Simulator) -> None:
    token = sim_token(sim, TENANT, scope="https://graph.microsoft.com/.default")
    session = pinned_session(sim.ca_path)
    url = f"{sim.url}/v1.0/security/runHuntingQuery"
    headers = {"Authorization": f"Bearer {token}"}
    for query in ("EmailEvents | join kind=inner (X) on Y", "EmailEvents | where", "Nope | take 1"):
        resp = session.post(url, json={"Query": query}, headers=headers, timeout=10)
        assert resp.status_code == 400
        error = resp.json()["error"]
        assert error["code"] == "BadRequest" and error["message"]
    resp = session.post(url, json={"Query": "EmailEvents | take 3"}, headers=headers, timeout=10)
    assert resp.status_code == 200
    assert (
        resp.json()["results"] == []
        and {"name": "Timestamp", "type": "DateTime"} in (resp.json()["schema"])
    )


def test_the_simulator_shows_30_days_narrowed_by_the_timespan(sim: Simulator) -> None:
    now = datetime.now(UTC)
    store = store_for(sim.tenant(TENANT))
    for days in (40, 20, 2):
        store.add({"Timestamp": now - timedelta(days=days), "Connectors": f"{days} days"})
    token = sim_token(sim, TENANT, scope="https://graph.microsoft.com/.default")
    session = pinned_session(sim.ca_path)

    def seen(body: dict[str, str]) -> list[str]:
        resp = session.post(
            f"{sim.url}/v1.0/security/runHuntingQuery",
            json={"Query": "EmailEvents | project Connectors", **body},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert resp.status_code == 200
        return sorted(r["Connectors"] for r in resp.json()["results"])

    assert seen({}) == ["2 days", "20 days"]
    start = (now - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert seen({"Timespan": f"{start}/{now.strftime('%Y-%m-%dT%H:%M:%SZ')}"}) == ["2 days"]


def test_the_evaluator_follows_kusto() -> None:
    when = datetime(2026, 11, 28, 10, tzinfo=UTC)
    store = _table(
        [
            {"Timestamp": when, "Connectors": "Hybrid relay", "SenderFromDomain": "A.example"},
            {"Timestamp": when, "Connectors": "Hybrid relay 2", "SenderFromDomain": "b.example"},
            {"Timestamp": when, "Connectors": "relay", "SenderFromDomain": "a.example"},
        ]
    )
    rows = _sim_run(store, 'EmailEvents | where Connectors has "relay" | project Connectors')
    assert [r["Connectors"] for r in rows] == ["Hybrid relay", "Hybrid relay 2", "relay"]
    rows = _sim_run(store, 'EmailEvents | where Connectors has "hybrid rel" | take 5')
    assert rows == []  # whole terms only
    rows = _sim_run(store, 'EmailEvents | where Connectors contains "BRID REL" | take 5')
    assert len(rows) == 2
    text = (
        'let d = dynamic(["a.example"]); EmailEvents | where SenderFromDomain in~ (d) '
        "| summarize N = count(), S = make_set(Connectors, 1) by SenderFromDomain"
    )
    assert _sim_run(store, text) == [
        {"SenderFromDomain": "A.example", "N": 1, "S": ["Hybrid relay"]},
        {"SenderFromDomain": "a.example", "N": 1, "S": ["relay"]},
    ]
    with pytest.raises(KqlError):
        _sim_run(store, "EmailEvents | where Connectors has tolower(Connectors)")


# --------------------------------------------------------------------------- the report


def _section(name: str) -> HuntingSection:
    day = HuntingDay(
        day=datetime(2026, 11, 28, tzinfo=UTC).date(),
        messages=3,
        junked=0,
        mismatched=3,
        foreign=3,
        outside_ranges=0,
        foreign_domains=(name,),
        outside_ips=(),
    )
    return HuntingSection(
        source="graph:security/runHuntingQuery",
        since=NOW - timedelta(days=2),
        until=NOW,
        queries=1,
        rows=1,
        accepted_domains=("contoso.com",),
        connectors=(HuntingConnector(name, (), (day,), (f"3 messages from {name}",)),),
    )


def _investigation(section: HuntingSection | None) -> Investigation:
    return Investigation(
        since=NOW - timedelta(days=2),
        until=NOW,
        timeline=(),
        blocked=None,
        mail_flow=None,
        alerts=None,
        attribution=None,
        actors=None,
        audit_events_outside_window=0,
        other_audit_events=0,
        skipped_rows=0,
        skipped=(),
        sources={"hunting": "graph:security/runHuntingQuery"},
        suspicious=True,
        hunting=section,
    )


def test_the_section_survives_a_round_trip_and_old_reports_still_read() -> None:
    inv = _investigation(_section("evil.example"))
    assert from_json(json.loads(json.dumps(to_json(inv)))) == inv
    old = to_json(_investigation(None))
    assert "hunting" not in old and from_json(old).hunting is None
    assert from_json({**old, "hunting": None}).hunting is None
    broken = to_json(inv)
    broken["hunting"]["connectors"][0]["days"][0]["messages"] = -1
    with pytest.raises(ValueError, match=r"hunting\.connectors\[0\]\.days\[0\]\.messages"):
        from_json(broken)


def test_attacker_text_is_escaped_in_every_format() -> None:
    from driftguard.report import html_format, markdown_format
    from driftguard.report.investigation_text import render

    name = "<script>x</script>|\x1b[31mred\nline"
    tenant = TenantReport(tenant="t", status=Status.OK, evidence=_investigation(_section(name)))
    report = Report(generated_at=NOW, tenants=(tenant,), command="investigate")
    text = render(report)
    assert "\x1b" not in text and "SUSPICIOUS: 3 messages from <script>x</script>|red line" in text
    markdown = markdown_format.render(report)
    assert "<script>" not in markdown and "Explorer evidence" in markdown
    html = html_format.render(report)
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
