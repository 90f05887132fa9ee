"""Offline evidence: audit and message-trace exports, malformed rows named by line, and the
``investigate`` command on the demo tenant from files (every report format)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from driftguard.cli import main
from driftguard.errors import InputError
from driftguard.investigate.files import read_audit_log, read_message_trace
from driftguard.investigate.messagetrace import Aggregator
from driftguard.normalize import connector_from_baseline
from driftguard.report.json_format import schema
from investigate_kit import demo_args

ATTACKER = "svc-relay@contoso.onmicrosoft.com"


def _record(
    op: str,
    obj: str,
    params: dict[str, str],
    *,
    at: str = "2026-11-28T02:38:12",
    actor: str = ATTACKER,
    ip: str = "203.0.113.66:50912",
) -> dict[str, Any]:
    return {
        "CreationTime": at,
        "Id": f"{op}-{obj}-{at}",
        "Operation": op,
        "RecordType": 1,
        "ResultStatus": "True",
        "UserId": actor,
        "ClientIP": ip,
        "ObjectId": obj,
        "ExternalAccess": False,
        "Parameters": [{"Name": k, "Value": v} for k, v in params.items()],
    }


DEMO_RECORDS = [
    _record(
        "Set-InboundConnector",
        "Hybrid relay",
        {"Identity": "Hybrid relay", "SenderIPAddresses": "Add=203.0.113.0/24"},
    ),
    _record(
        "New-InboundConnector",
        "NAMPR01A001.prod.outlook.com/Microsoft Exchange Hosted Organizations/"
        "contoso.onmicrosoft.com/Inbound relay (temp)",
        {"Name": "Inbound relay (temp)", "SenderIPAddresses": "203.0.113.0/24"},
        at="2026-11-28T02:38:11",
    ),
    _record(
        "Set-InboundConnector",
        "Legacy scanner",
        {"Identity": "Legacy scanner", "Comment": "x"},
        at="2026-11-20T10:00:00",
        actor="exadmin@contoso.com",
        ip="198.51.100.10",
    ),
]


def _purview_csv(path: Path, records: list[Any], *, encoding: str = "utf-8-sig") -> None:
    """The portal's export: AuditData among other columns (here in lower case, to show the
    column is found by name)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["CreationDate", "UserIds", "Operations", "auditdata", "AssociatedAdminUnits"])
    for r in records:
        text = r if isinstance(r, str) else json.dumps(r, indent=2)  # multi-line JSON cells
        writer.writerow(["2026-11-28T02:38:12.0000000Z", "x", "y", text, ""])
    path.write_text(buf.getvalue(), encoding=encoding, newline="")


def test_purview_csv_with_malformed_rows_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.csv"
    _purview_csv(path, [DEMO_RECORDS[0], "{broken json", DEMO_RECORDS[1], "", DEMO_RECORDS[2]])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("only,three,columns\n")
    result = read_audit_log(path)
    assert [e.operation for e in result.events] == [
        "Set-InboundConnector",
        "New-InboundConnector",
        "Set-InboundConnector",
    ]
    assert result.events[1].connector == "Inbound relay (temp)"
    assert result.skipped.count == 3
    lines = path.read_text("utf-8-sig").splitlines()
    for problem in result.skipped.problems:
        assert problem.path == str(path)
    broken, empty, short = (p.line for p in result.skipped.problems)
    assert "{broken json" in lines[broken - 1]
    assert lines[empty - 1].endswith(',"",') or lines[empty - 1].endswith(",,")
    assert lines[short - 1] == "only,three,columns"
    assert "AuditData: not JSON" in result.skipped.problems[0].message


def test_purview_csv_in_utf16(tmp_path: Path) -> None:
    path = tmp_path / "audit16.csv"
    _purview_csv(path, DEMO_RECORDS, encoding="utf-16")
    assert len(read_audit_log(path).events) == 3


def test_csv_without_audit_data_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("CreationDate,UserIds\n2026,x\n", "utf-8")
    with pytest.raises(InputError) as info:
        read_audit_log(path)
    assert "no AuditData column" in str(info.value)
    assert info.value.problems[0].line == 1


def test_search_unified_audit_log_json_and_json_lines(tmp_path: Path) -> None:
    rows = [{"RecordType": "ExchangeAdmin", "AuditData": json.dumps(r)} for r in DEMO_RECORDS]
    rows.insert(1, {"RecordType": "ExchangeAdmin", "AuditData": json.dumps({"Id": "no-op"})})
    array = tmp_path / "sual.json"
    array.write_text(json.dumps(rows, indent=4), "utf-8")
    result = read_audit_log(array)
    assert len(result.events) == 3
    assert result.skipped.count == 1
    bad_line = result.skipped.problems[0].line
    assert array.read_text("utf-8").splitlines()[bad_line - 1].strip() == "{"
    assert "no-op" in "".join(array.read_text("utf-8").splitlines()[bad_line : bad_line + 3])

    lines = tmp_path / "audit.jsonl"
    lines.write_text(
        "\n".join([json.dumps(DEMO_RECORDS[0]), "{oops", json.dumps(DEMO_RECORDS[1]), "[1]"]),
        "utf-8",
    )
    result = read_audit_log(lines)
    assert len(result.events) == 2
    assert [p.line for p in result.skipped.problems] == [2, 4]


def test_broken_json_document_is_an_input_error_with_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"AuditData": "{}"},\n  {"AuditData": \n]\n', "utf-8")
    with pytest.raises(InputError) as info:
        read_audit_log(path)
    assert info.value.problems[0].line == 4


def _trace_csv(path: Path) -> None:
    header = [
        "Received",
        "SenderAddress",
        "RecipientAddress",
        "Subject",
        "Status",
        "ToIP",
        "FromIP",
        "Size",
        "MessageId",
        "MessageTraceId",
    ]
    rows = [
        [
            "2026-11-28T03:00:00.1234567Z",
            "a@spam.example",
            "u@contoso.com",
            "hi",
            "FilteredAsSpam",
            "",
            "203.0.113.9",
            "100",
            "<1@x>",
            "t1",
        ],
        [
            "11/28/2026 3:01:00 AM",
            "b@contoso.com",
            "u@contoso.com",
            "hi",
            "Delivered",
            "",
            "198.51.100.7",
            "100",
            "<2@x>",
            "t2",
        ],
        [
            "28/11/2026 03:02",
            "c@contoso.com",
            "u@contoso.com",
            "hi",
            "Delivered",
            "",
            "198.51.100.7",
            "100",
            "<3@x>",
            "t3",
        ],
        [
            "2026-11-28T03:00:00.1234567Z",
            "a@spam.example",
            "u@contoso.com",
            "hi",
            "FilteredAsSpam",
            "",
            "203.0.113.9",
            "100",
            "<1@x>",
            "t1",
        ],
        [
            "2026-12-15T03:00:00Z",
            "late@contoso.com",
            "u@contoso.com",
            "hi",
            "Delivered",
            "",
            "198.51.100.7",
            "100",
            "<9@x>",
            "t9",
        ],
    ]
    buf = io.StringIO()
    buf.write("#TYPE Deserialized.Microsoft.Exchange.Management.MessageTraceV2\n")
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), "utf-8")


def _aggregator() -> Aggregator:
    from datetime import UTC, datetime

    connectors = [
        connector_from_baseline(
            {
                "Name": "Hybrid relay",
                "ConnectorType": "OnPremises",
                "SenderIPAddresses": ["198.51.100.0/24"],
            }
        ),
        connector_from_baseline(
            {
                "Name": "Rogue",
                "ConnectorType": "OnPremises",
                "SenderIPAddresses": ["203.0.113.0/24"],
            }
        ),
    ]
    return Aggregator(
        connectors,
        ["contoso.com"],
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
    )


def test_message_trace_csv_skips_ambiguous_dates_by_line(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    _trace_csv(path)
    agg = _aggregator()
    skipped = read_message_trace(path, agg)
    flow = agg.result()
    assert skipped.count == 1
    assert skipped.problems[0].line == 5  # #TYPE, header, two good rows, then the day-first one
    assert "28/11/2026" in skipped.problems[0].message
    assert flow.duplicates == 1
    assert flow.outside_window == 1
    rogue = next(iter(flow.per_connector["Rogue"].values()))
    assert (rogue.volume, rogue.spam, rogue.outside_senders) == (1, 1, 1)
    assert next(iter(flow.per_connector["Hybrid relay"].values())).volume == 1


def test_message_trace_json(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    rows = [
        {
            "received": "2026-11-28T03:00:00Z",
            "fromip": "203.0.113.9",
            "MessageTraceId": "a",
            "RecipientAddress": "u@contoso.com",
            "Status": "Delivered",
        },
        {"FromIP": "203.0.113.9", "MessageTraceId": "b"},
    ]
    path.write_text(json.dumps({"value": rows}), "utf-8")
    agg = _aggregator()
    skipped = read_message_trace(path, agg)
    assert skipped.count == 1
    assert agg.result().per_connector["Rogue"]


def test_message_trace_csv_reads_as_its_rows_do_by_any_path(tmp_path: Path) -> None:
    """A full Get-MessageTraceV2 export (read field by field), the same export without a column
    the aggregator reads (read through a mapping per row) and its rows as JSON give one flow."""
    full = tmp_path / "trace.csv"
    _trace_csv(full)
    lines = full.read_text("utf-8-sig").splitlines()
    table = list(csv.reader(lines[1:]))
    header, rows = table[0], table[1:]
    narrow = tmp_path / "narrow.csv"
    keep = [i for i, name in enumerate(header) if name != "SenderAddress"]
    with narrow.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([[r[i] for i in keep] for r in table])
    as_json = tmp_path / "trace.json"
    as_json.write_text(json.dumps([dict(zip(header, r, strict=True)) for r in rows]), "utf-8")

    Counts = tuple[int, int, int, int, int]
    Days = dict[str, dict[object, tuple[int, int, int]]]

    def read(path: Path) -> tuple[Counts, Days]:
        agg = _aggregator()
        skipped = read_message_trace(path, agg)
        flow = agg.result()
        counts = (skipped.count, flow.rows, flow.duplicates, flow.unmatched, flow.outside_window)
        days = {
            name: {day: (s.volume, s.spam, s.outside_senders) for day, s in per_day.items()}
            for name, per_day in flow.per_connector.items()
        }
        return counts, days

    full_flow, narrow_flow, json_flow = read(full), read(narrow), read(as_json)
    assert full_flow == json_flow
    assert full_flow[0][0] == 1 and full_flow[0][2] == 1  # the skipped row and the repeat
    assert any(v[2] for days in full_flow[1].values() for v in days.values())
    # without SenderAddress no sender is outside; everything else is the same
    assert narrow_flow[0] == full_flow[0]
    assert {n: {d: v[:2] for d, v in days.items()} for n, days in narrow_flow[1].items()} == {
        n: {d: v[:2] for d, v in days.items()} for n, days in full_flow[1].items()
    }


# --------------------------------------------------------------------------- the command


def _demo_files(tmp_path: Path) -> tuple[Path, Path]:
    audit = tmp_path / "audit.csv"
    _purview_csv(audit, [*DEMO_RECORDS, "{not json"])
    trace = tmp_path / "trace.csv"
    _trace_csv(trace)
    return audit, trace


def test_investigate_demo_from_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audit, trace = _demo_files(tmp_path)
    args = demo_args(tmp_path, "--audit-log", str(audit), "--message-trace", str(trace))
    assert main([*args, "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, schema())
    tenant = report["tenants"][0]
    by_key = {(f["connector"], f["field"]): f for f in tenant["findings"]}
    ips = by_key[("Hybrid relay", "SenderIPAddresses")]["events"]
    assert [(e["actor"], e["client_ip"], e["operation"]) for e in ips] == [
        (ATTACKER, "203.0.113.66", "Set-InboundConnector")
    ]
    assert (
        by_key[("Inbound relay (temp)", None)]["events"][0]["operation"] == "New-InboundConnector"
    )
    assert by_key[("Hybrid relay", "TreatMessagesAsInternal")]["events"] == []
    evidence = tenant["evidence"]
    unattributed = [a for a in evidence["attribution"] if not a["attributed"]]
    assert [(a["connector"], a["field"]) for a in unattributed] == [
        ("Hybrid relay", "TreatMessagesAsInternal")
    ]
    assert [a["actor"] for a in evidence["actors"]] == [ATTACKER]
    assert evidence["skipped_rows"] == 2  # one audit row, one trace row
    assert evidence["audit_events_outside_window"] == 0
    assert any(":5:" in s for s in evidence["skipped"])
    assert evidence["sources"]["audit"] == "file:audit.csv"
    assert evidence["sources"]["blocked"] == "not available offline"
    assert [e["time"] for e in evidence["timeline"]] == sorted(
        e["time"] for e in evidence["timeline"]
    )

    assert main([*args, "--format", "text"]) == 2
    text = capsys.readouterr().out
    assert f"Set-InboundConnector by {ATTACKER} from 203.0.113.66" in text
    assert "UNATTRIBUTED Hybrid relay TreatMessagesAsInternal" in text
    assert "SUSPICIOUS ACTOR" in text
    assert "2 input rows skipped" in text
    for fmt in ("markdown", "html", "sarif", "junit"):
        out = tmp_path / f"report.{fmt}"
        assert main([*args, "--format", fmt, "--output", str(out)]) == 2
        # Markdown keeps GitHub from linking an address with a zero-width space after the @
        rendered = out.read_text("utf-8").replace("@&#8203;", "@")
        assert ATTACKER in rendered or fmt in ("sarif", "junit")


def test_investigate_files_need_one_tenant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit, _trace = _demo_files(tmp_path)
    code = main(
        [
            "investigate",
            "--baseline",
            str(tmp_path / "none"),
            "--tenant",
            "demo",
            "--tenant",
            "other",
            "--audit-log",
            str(audit),
        ]
    )
    assert code == 1


def test_investigate_bad_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(demo_args(tmp_path, since="2026-11-29", until="2026-11-01"))
    assert code == 1
    assert "--since must be before --until" in capsys.readouterr().err


def test_hostile_audit_text_is_defused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = _record(
        "Set-InboundConnector",
        "Hybrid relay",
        {
            "Identity": "Hybrid relay",
            "SenderIPAddresses": "\x1b[2J\x1b[31m<script>alert(1)</script>\u202e",
        },
        actor="\x1b]0;pwned\x07mallory@evil.example",
    )
    audit = tmp_path / "evil.jsonl"
    audit.write_text(json.dumps(evil) + "\n", "utf-8")
    args = demo_args(tmp_path, "--audit-log", str(audit))
    assert main(args) == 2
    text = capsys.readouterr().out
    assert "mallory@evil.example" in text
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    html = tmp_path / "r.html"
    assert main([*args, "--format", "html", "--output", str(html)]) == 2
    assert "<script>alert(1)" not in html.read_text("utf-8")
    md = tmp_path / "r.md"
    assert main([*args, "--format", "markdown", "--output", str(md)]) == 2
    assert "<script>" not in md.read_text("utf-8")


def test_a_saved_search_missing_records_is_refused(tmp_path: Path) -> None:
    rows = [
        {"AuditData": json.dumps(r), "ResultIndex": i, "ResultCount": 5}
        for i, r in enumerate(DEMO_RECORDS, start=1)
    ]
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(rows), "utf-8")
    with pytest.raises(InputError, match="holds 3 of its 5 records"):
        read_audit_log(path)
    for row in rows:
        row["ResultCount"] = 3
    path.write_text(json.dumps(rows), "utf-8")
    assert len(read_audit_log(path).events) == 3


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 16])
def test_json_records_across_read_chunks(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from driftguard.investigate import jsonstream
    from driftguard.investigate.jsonstream import BadLine, records

    monkeypatch.setattr(jsonstream, "_CHUNK", chunk)
    array = '\ufeff[\n {"a": 1},\n {"b": [1, 2], "s": "x\\ny"}\n]\n'
    assert list(records(io.StringIO(array))) == [(2, {"a": 1}), (3, {"b": [1, 2], "s": "x\ny"})]
    lines = '{"a":1}\n{"b":2}\nnot json\n\n{"c":3}'
    got = list(records(io.StringIO(lines)))
    assert got[:2] == [(1, {"a": 1}), (2, {"b": 2})]
    assert isinstance(got[2], BadLine) and got[2].line == 3
    assert got[3] == (5, {"c": 3})
    body = '{"value": [{"x": 1}, {"y": 2}]}'
    assert [r for _, r in records(io.StringIO(body))] == [{"x": 1}, {"y": 2}]
    with pytest.raises(jsonstream.JsonSyntax) as info:
        list(records(io.StringIO('[{"a":1},\n {"b":}]')))
    assert info.value.line == 2
