"""Evidence exports in the service's real shapes (tests/fixtures/evidence, sources in its README):
every form is read, and a file that could not be read is never evidence of nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main
from driftguard.errors import InputError
from driftguard.investigate.auditrecords import event_from_row, parse_time
from driftguard.investigate.files import read_audit_log, read_message_trace
from driftguard.investigate.messagetrace import Aggregator
from driftguard.investigate.savedsearch import Verdict, judge
from driftguard.normalize import connector_from_baseline
from investigate_kit import demo_args, run_json

FIXTURES = Path(__file__).parent / "fixtures" / "evidence"
ATTACKER = "svc-relay@contoso.onmicrosoft.com"
_SERVICE = "https://reports.office365.com/ecp/ReportingWebService/Reporting.svc"


def _aggregator() -> Aggregator:
    """The demo tenant's ranges: a shared /24 (two connectors) and a /32."""
    connectors = [
        connector_from_baseline(
            {"Name": name, "ConnectorType": "OnPremises", "SenderIPAddresses": ips}
        )
        for name, ips in (
            ("Hybrid relay", ["198.51.100.0/24", "203.0.113.0/24"]),
            ("Legacy scanner", ["198.51.100.25/32"]),
            ("Inbound relay (temp)", ["203.0.113.0/24"]),
        )
    ]
    return Aggregator(
        connectors,
        ["contoso.com"],
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
    )


def _volumes(path: Path) -> tuple[dict[str, tuple[int, int]], int, int]:
    """(connector -> (messages, spam), rows, rows from no connector's range) of a trace file."""
    agg = _aggregator()
    skipped = read_message_trace(path, agg)
    assert skipped.count == 0
    flow = agg.result()
    per = {
        name: (sum(s.volume for s in days.values()), sum(s.spam for s in days.values()))
        for name, days in flow.per_connector.items()
    }
    return per, flow.rows, flow.unmatched


# --------------------------------------------------------------------------- message trace


@pytest.mark.parametrize("name", ["trace_odata_v2.json", "trace_odata_v3.json"])
def test_reporting_web_service_bodies(name: str) -> None:
    per, rows, unmatched = _volumes(FIXTURES / name)
    assert rows == 4
    assert unmatched == 1  # 192.0.2.14: ordinary internet mail
    # 203.0.113.66 lies in a range two connectors share: both get the two wire-transfer rows.
    assert per == {
        "Hybrid relay": (2, 1),
        "Inbound relay (temp)": (2, 1),
        "Legacy scanner": (1, 0),  # the /32 is more specific than Hybrid relay's /24
    }


def test_odata_v2_dates_are_read_as_utc() -> None:
    agg = _aggregator()
    read_message_trace(FIXTURES / "trace_odata_v2.json", agg)
    days = agg.result().per_connector["Legacy scanner"]
    assert [d.isoformat() for d in days] == ["2026-11-27"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_historical_search_csv_one_row_per_recipient(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "historical.csv"  # the portal hands it out as UTF-16
    path.write_text((FIXTURES / "trace_historical.csv").read_text("utf-8"), encoding)
    per, rows, unmatched = _volumes(path)
    assert rows == 5  # the wire transfer went to three recipients
    assert unmatched == 1
    assert per["Inbound relay (temp)"] == (3, 0)
    assert per["Legacy scanner"] == (1, 0)


def test_historical_search_csv_without_client_ip_is_named(tmp_path: Path) -> None:
    text = (FIXTURES / "trace_historical.csv").read_text("utf-8")
    path = tmp_path / "historical.csv"
    path.write_text(text.replace('"original_client_ip"', '"client_ip"'), "utf-8")
    with pytest.raises(InputError) as info:
        read_message_trace(path, _aggregator())
    assert "no FromIP (original_client_ip) column" in info.value.problems[0].message


@pytest.mark.parametrize(
    ("name", "link"),
    [("trace_odata_v2.json", "__next"), ("trace_odata_v3.json", "odata.nextLink")],
)
def test_a_saved_page_of_more_is_refused(tmp_path: Path, name: str, link: str) -> None:
    body = json.loads((FIXTURES / name).read_text("utf-8"))
    page = body.get("d", body)
    page[link] = (
        "https://reports.office365.com/ecp/ReportingWebService/Reporting.svc/MessageTrace?$skiptoken=4"
    )
    path = tmp_path / name
    path.write_text(json.dumps(body), "utf-8")
    with pytest.raises(InputError, match="one page of a longer answer"):
        read_message_trace(path, _aggregator())


def _trace_rows(path: Path, good: int, bad: int) -> None:
    rows: list[dict[str, Any]] = [
        {"Received": f"2026-11-28T03:0{i}:00Z", "FromIP": "203.0.113.9", "MessageTraceId": f"g{i}"}
        for i in range(good)
    ]
    rows += [{"Received": "28/11/2026 03:00", "FromIP": "203.0.113.9"} for _ in range(bad)]
    path.write_text(json.dumps(rows), "utf-8")


def test_half_the_rows_skipped_is_still_evidence(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    _trace_rows(path, good=2, bad=2)
    assert read_message_trace(path, _aggregator()).count == 2


def test_most_rows_skipped_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    _trace_rows(path, good=1, bad=2)
    with pytest.raises(InputError) as info:
        read_message_trace(path, _aggregator())
    message = str(info.value)
    assert message.startswith(f"{path}: most rows could not be read as message trace")
    assert "2 of 3 rows skipped" in message
    assert "28/11/2026" in message  # the first reason, with its line


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"value": []}',
        '{"d": {"results": []}}',
        "Received,FromIP\r\n",
    ],
)
def test_an_empty_export_is_not_evidence_of_nothing(tmp_path: Path, text: str) -> None:
    path = tmp_path / "trace.json"
    path.write_text(text, "utf-8")
    with pytest.raises(InputError, match="holds no message trace"):
        read_message_trace(path, _aggregator())


def test_rows_of_another_shape_are_not_a_trace(tmp_path: Path) -> None:
    """Graph-like rows with no FromIP would match no connector: read as nothing, refused."""
    path = tmp_path / "trace.json"
    rows = [{"Received": "2026-11-28T03:00:00Z", "senderIp": "203.0.113.9"}] * 3
    path.write_text(json.dumps(rows), "utf-8")
    with pytest.raises(InputError, match=r"no row could be read as message trace.*no FromIP field"):
        read_message_trace(path, _aggregator())


def test_odata_v2_trace_through_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once "0 rows, 1 skipped", status ok: now read, and counted per connector."""
    trace = FIXTURES / "trace_odata_v2.json"
    code, report = run_json(capsys, *demo_args(tmp_path, "--message-trace", str(trace)))
    assert code == 2
    flow = report["tenants"][0]["evidence"]["mail_flow"]
    assert (flow["rows"], flow["skipped_rows"], flow["unattributed_rows"]) == (4, 0, 1)
    assert report["tenants"][0]["evidence"]["recent_messages"]["Inbound relay (temp)"] == 2


def test_an_unreadable_trace_fails_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "trace.json"
    wrong.write_text(json.dumps({"d": {"MessageTrace": [{"Received": "/Date(0)/"}]}}), "utf-8")
    assert main([*demo_args(tmp_path, "--message-trace", str(wrong)), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # no report, so no verdict
    assert err.startswith(f"error: {wrong}: no row could be read as message trace")


def test_a_trace_of_another_period_is_not_a_quiet_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No row in the window would read as "no mail went through" (plan's safety check)."""
    trace = FIXTURES / "trace_odata_v3.json"
    args = demo_args(
        tmp_path, "--message-trace", str(trace), since="2026-10-01", until="2026-10-31"
    )
    assert main(args) == 1
    assert capsys.readouterr().err.startswith(
        f"error: {trace}: none of its 4 rows falls in the window "
        "2026-10-01T00:00:00Z .. 2026-10-31T23:59:59Z"
    )


@pytest.mark.parametrize(
    ("option", "name", "form", "advice"),
    [
        ("--audit-log", "audit_format_list.txt", "Format-List", "ConvertTo-Json"),
        ("--message-trace", "trace_format_table.txt", "Format-Table", "Export-Csv"),
    ],
)
def test_powershell_screen_text_gets_its_own_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: str,
    name: str,
    form: str,
    advice: str,
) -> None:
    path = FIXTURES / name
    assert main(demo_args(tmp_path, option, str(path))) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"error: {path}: PowerShell {form} text")
    assert lines[1].startswith("hint: ") and advice in lines[1]


# --------------------------------------------------------------------------- audit saves


def test_filtered_save_is_accepted_with_a_warning() -> None:
    result = read_audit_log(FIXTURES / "audit_sual_filtered.json")
    assert [e.operation for e in result.events] == [
        "Set-InboundConnector",
        "New-InboundConnector",
        "Set-InboundConnector",
    ]
    assert result.events[0].client_ip == "203.0.113.66"
    assert result.warnings == (
        "audit_sual_filtered.json: a filtered save (Where-Object): 3 of its 57 records "
        "(ResultCount), scattered between records 4..42; only the records the filter kept are "
        "evidence",
    )


def test_truncated_save_is_an_error() -> None:
    with pytest.raises(InputError) as info:
        read_audit_log(FIXTURES / "audit_sual_truncated.json")
    assert "holds 3 of its 12 records (ResultCount), records 1..3 in a row" in str(info.value)
    assert "may be incomplete" in str(info.value)


def _rewrite_csv(source: Path, target: Path, **changes: str) -> None:
    rows = list(csv.DictReader(io.StringIO(source.read_text("utf-8"))))
    for row in rows:
        row.update(changes)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    target.write_text(buf.getvalue(), "utf-8")


def test_export_csv_save_keeps_its_result_count(tmp_path: Path) -> None:
    source = FIXTURES / "audit_sual.csv"
    result = read_audit_log(source)
    assert len(result.events) == 3 and result.warnings == ()
    short = tmp_path / "short.csv"
    _rewrite_csv(source, short, ResultCount="40")
    with pytest.raises(InputError, match="holds 3 of its 40 records"):
        read_audit_log(short)


def test_filtered_save_warning_reaches_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = FIXTURES / "audit_sual_filtered.json"
    code, report = run_json(capsys, *demo_args(tmp_path, "--audit-log", str(audit)))
    assert code == 2  # the demo's drift; the warning alone changes no verdict
    warnings = report["tenants"][0]["warnings"]
    assert any(w.startswith("demo: audit_sual_filtered.json: a filtered save") for w in warnings)


def test_truncated_save_fails_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = FIXTURES / "audit_sual_truncated.json"
    assert main(demo_args(tmp_path, "--audit-log", str(audit))) == 1
    assert "the audit log may be incomplete" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("rows", "indexes", "verdict"),
    [
        (5, [1, 2, 3, 4, 5], Verdict.COMPLETE),
        (5, [5, 3, 1, 2, 4], Verdict.COMPLETE),  # ReturnLargeSet: unsorted, still whole
        (3, [1, 2, 3], Verdict.TRUNCATED),  # the first page only
        (2, [9, 10], Verdict.TRUNCATED),  # the last page only
        (3, [2, 5, 9], Verdict.FILTERED),
        (2, [4, 5], Verdict.FILTERED),  # one run in the middle: a filter, not a cut
        (3, [], Verdict.TRUNCATED),  # no index: a filter cannot be told from a cut
        (3, [2, 2, 7], Verdict.TRUNCATED),
    ],
)
def test_saved_search_verdicts(rows: int, indexes: list[int], verdict: Verdict) -> None:
    assert judge(10 if rows < 5 else 5, rows, indexes).verdict is verdict


def test_purview_forms() -> None:
    assert parse_time("11/29/2026 9:12:45 PM") == datetime(2026, 11, 29, 21, 12, 45, tzinfo=UTC)
    record = {"Operation": "Set-InboundConnector", "UserId": "a@contoso.com", "ObjectId": "X"}
    row = {"AuditData": json.dumps(record), "CreationDate": "11/28/2026 2:38:12 AM"}
    event = event_from_row(row)
    assert event.time == datetime(2026, 11, 28, 2, 38, 12, tzinfo=UTC)


def test_only_connector_operations_must_be_read_whole() -> None:
    """A compliance search's Parameters are command-line text: counted, not an unreadable row;
    the same text on a connector change is."""
    from driftguard.investigate.auditrecords import AuditRecordError, event_from_record

    record: dict[str, Any] = {
        "CreationTime": "2026-11-27T15:30:04",
        "Operation": "New-ComplianceSearch",
        "UserId": "exadmin@contoso.com",
        "ResultStatus": "Queued",
        "Parameters": '-Name "Vendor check" -ExchangeLocation "All"',
    }
    event = event_from_record(record)
    assert (event.operation, event.actor, event.parameters) == (
        "New-ComplianceSearch",
        "exadmin@contoso.com",
        {},
    )
    with pytest.raises(AuditRecordError, match="Parameters: not JSON"):
        event_from_record({**record, "Operation": "Set-InboundConnector"})
    with pytest.raises(AuditRecordError, match="time"):
        event_from_record({**record, "CreationTime": "yesterday"})


# --------------------------------------------------------------------------- the timeline


def test_full_purview_export_timeline_is_for_connectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = FIXTURES / "audit_purview_export.csv"
    args = demo_args(tmp_path, "--audit-log", str(audit))
    code, report = run_json(capsys, *args)
    assert code == 2
    evidence = report["tenants"][0]["evidence"]
    audit_rows = [e for e in evidence["timeline"] if e["kind"] == "audit"]
    assert {e["operation"] for e in audit_rows} == {"New-InboundConnector", "Set-InboundConnector"}
    assert len(audit_rows) == 3
    assert {e["connector"] for e in audit_rows} == {
        "Hybrid relay",
        "Inbound relay (temp)",
        "Legacy scanner",
    }
    assert evidence["other_audit_events"] == 12  # sign-ins, SharePoint, a compliance search
    assert evidence["audit_events_outside_window"] == 0
    assert evidence["skipped_rows"] == 0
    assert [a["actor"] for a in evidence["actors"]] == [ATTACKER]
    new = next(e for e in audit_rows if e["operation"] == "New-InboundConnector")
    assert new["client_ip"] == "203.0.113.66"  # the port of Purview's ClientIP dropped

    assert main(args) == 2
    text = capsys.readouterr().out
    assert "12 other audit events not shown" in text
    assert "UserLoggedIn" not in text and "FileDownloaded" not in text
    html = tmp_path / "report.html"
    assert main([*args, "--format", "html", "--output", str(html)]) == 2
    page = html.read_text("utf-8")
    assert "Other audit events not shown" in page
    assert "sharepoint.com" not in page


def test_events_outside_the_window_count_only_connector_operations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = FIXTURES / "audit_purview_export.csv"
    args = demo_args(tmp_path, "--audit-log", str(audit), since="2026-11-25")
    _code, report = run_json(capsys, *args)
    evidence = report["tenants"][0]["evidence"]
    assert evidence["audit_events_outside_window"] == 1  # the Legacy scanner change of 11-20
    assert evidence["other_audit_events"] == 12
    assert len([e for e in evidence["timeline"] if e["kind"] == "audit"]) == 2


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('{"value": [' + ",".join(['{"FromIP": "203.0.113.9"}'] * 200) + "]}", "one JSON value"),
        ('{"a": 1}\n{"b": "' + "x" * 3000 + '"}\n', "a JSON line"),
    ],
)
def test_one_value_or_line_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, complaint: str
) -> None:
    from driftguard.investigate import jsonstream

    monkeypatch.setattr(jsonstream, "MAX_VALUE", 1024)
    monkeypatch.setattr(jsonstream, "_CHUNK", 256)
    path = tmp_path / "trace.json"
    path.write_text(text, "utf-8")
    with pytest.raises(InputError) as info:
        read_message_trace(path, _aggregator())
    assert info.value.problems[0].message.startswith(complaint)
