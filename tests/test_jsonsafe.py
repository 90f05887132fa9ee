"""Strict JSON (driftguard.jsonsafe) and every reader that uses it: live files, snapshots, plans,
report read-back and evidence files. Each hostile document gives one clear error, never the last
of two values, a traceback or a clean verdict."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from driftguard import jsonsafe
from driftguard.cli import main
from driftguard.errors import InputError, JsonError, LiveReadError, PlanError
from driftguard.investigate.files import read_audit_log
from driftguard.live import files as live_files
from driftguard.live.files import read_live_file
from driftguard.planfile import read_plan
from driftguard.report.merge import load_report
from driftkit import HYBRID, wire, write_baseline

DUPLICATE_TMI = (
    '[{"Name": "Hybrid relay", "TreatMessagesAsInternal": true, "TreatMessagesAsInternal": false}]'
)
CASE_TMI = (
    '[{"Name": "Hybrid relay", "TreatMessagesAsInternal": true, "treatMessagesAsInternal": false}]'
)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (DUPLICATE_TMI, "duplicate key 'TreatMessagesAsInternal'"),
        (CASE_TMI, "'TreatMessagesAsInternal' and 'treatMessagesAsInternal' of one object differ"),
        ("[" * 100_000 + "]" * 100_000, "nested deeper than 64 levels"),
        ("[" * 65 + "]" * 65, "nested deeper than 64 levels"),
        ('{"a": ' * 70 + "1" + "}" * 70, "nested deeper than 64 levels"),
        ("[" + "9" * 5000 + "]", "5000 digits"),
        ("-" + "9" * 21, "22 digits"),
        ("[NaN]", "NaN is not a JSON number"),
        ('{"x": -Infinity}', "-Infinity is not a JSON number"),
        ("[1e999]", "out of range"),
        ("[1.5" + "0" * 100 + "]", "characters"),
        ('{"Name": "x",}', "invalid JSON"),
    ],
)
def test_unsafe_documents_are_refused(text: str, detail: str) -> None:
    with pytest.raises(JsonError) as info:
        jsonsafe.loads(text, source="live.json")
    assert detail in info.value.message
    assert info.value.message.startswith("live.json")
    assert len(info.value.message) < 200  # the offending token, not the document


def test_well_formed_documents_read_as_json_does() -> None:
    text = json.dumps({"a": [1, -2, 3.5, True, None, "x"], "b": {"c": "9" * 30}, "n": 10**19})
    assert jsonsafe.loads(text, source="x") == json.loads(text)
    assert jsonsafe.loads(text.encode("utf-16"), source="x") == json.loads(text)
    assert jsonsafe.loads("\ufeff[1]", source="x") == [1]
    assert jsonsafe.loads("[" * 64 + "]" * 64, source="x") is not None


def test_lone_surrogates_become_replacement_characters() -> None:
    value = jsonsafe.loads(
        '{"Name": "evil \\ud800", "L": ["\\udc80", "ok"], "\\ud800k": 1}', source="x"
    )
    assert value == {"Name": "evil \ufffd", "L": ["\ufffd", "ok"], "\ufffdk": 1}
    assert json.dumps(value, ensure_ascii=False).encode("utf-8")  # printable as UTF-8
    # a real surrogate pair is a character, not broken text
    assert jsonsafe.loads('"\\ud83d\\ude00"', source="x") == "\U0001f600"


def test_decode_at_reads_one_value_and_places_errors() -> None:
    text = '  {"a": 1} [2]'
    assert jsonsafe.decode_at(text, 2, source="s") == ({"a": 1}, 10)
    with pytest.raises(JsonError) as info:
        jsonsafe.decode_at('x {"a": 1, "A": 2}', 2, source="s")
    assert info.value.pos == 2


# --------------------------------------------------------------------------- through the readers


def test_duplicate_keys_in_a_live_file_fail_the_tenant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_baseline(tmp_path / "baseline", [HYBRID])
    for name, text in (("dup.json", DUPLICATE_TMI), ("case.json", CASE_TMI)):
        live = tmp_path / name
        live.write_text(text, "utf-8")
        with pytest.raises(LiveReadError, match="TreatMessagesAsInternal"):
            read_live_file(live)
        rc = main(["diff", "--baseline", str(root), "--live", str(live), "--format", "json"])
        out, err = capsys.readouterr()
        assert rc == 1, (out, err)
        tenant = json.loads(out)["tenants"][0]
        assert tenant["status"] == "error"
        assert "TreatMessagesAsInternal" in tenant["error"]


@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '[{"Name": "x", "Count": ' + "7" * 5000 + "}]"]
)
def test_hostile_live_files_give_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    root = write_baseline(tmp_path / "baseline", [HYBRID])
    live = tmp_path / "live.json"
    live.write_text(text, "utf-8")
    assert main(["diff", "--baseline", str(root), "--live", str(live)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "levels" in out + err or "digits" in out + err


def test_live_files_are_bounded_in_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_files, "MAX_FILE_BYTES", 1024)
    live = tmp_path / "big.json"
    live.write_text(json.dumps([wire(HYBRID, Comment="x" * 2000)]), "utf-8")
    with pytest.raises(LiveReadError, match="larger than"):
        read_live_file(live)


def test_duplicate_keys_in_a_snapshot_are_refused(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text('{"driftguard_snapshot": 1, "records": [], "records": []}', "utf-8")
    with pytest.raises(LiveReadError, match="duplicate key 'records'"):
        read_live_file(snap)


def test_duplicate_keys_in_a_plan_are_refused(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"digest": "sha256:a", "Digest": "sha256:b"}', "utf-8")
    with pytest.raises(PlanError, match="differ only in case"):
        read_plan(plan)


def test_duplicate_keys_in_a_report_are_refused(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text('{"schema_version": 1, "schema_version": 2}', "utf-8")
    with pytest.raises(InputError) as info:
        load_report(report)
    assert any("duplicate key 'schema_version'" in str(p) for p in info.value.problems)


def _good_audit_lines(count: int) -> str:
    """AuditData records as the service writes them (the Search-UnifiedAuditLog fixture's)."""
    fixture = Path(__file__).parent / "fixtures" / "evidence" / "audit_sual.csv"
    with fixture.open(encoding="utf-8", newline="") as fh:
        record = next(csv.DictReader(fh))["AuditData"]
    return "".join(record.replace("0a1b2c3d", f"0a1b2c{i:02x}") + "\n" for i in range(count))


def test_duplicate_keys_in_evidence_skip_the_row(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.write_text(
        _good_audit_lines(2)
        + '{"Operation": "Set-InboundConnector", "Operation": "Get-InboundConnector"}\n',
        "utf-8",
    )
    result = read_audit_log(audit)
    assert len(result.events) == 2
    assert result.skipped.count == 1
    assert "duplicate key 'Operation'" in str(result.skipped.problems[0])
    array = tmp_path / "audit.json"
    array.write_text('[{"AuditData": "{}", "auditdata": "{}"}]', "utf-8")
    with pytest.raises(InputError) as info:
        read_audit_log(array)
    assert "differ only in case" in str(info.value.problems[0])


def test_an_evidence_record_larger_than_the_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonsafe, "MAX_CHARS", 100_000)
    audit = tmp_path / "audit.json"
    audit.write_text('[{"AuditData": "' + "x" * 300_000 + '"}]', "utf-8")
    with pytest.raises(InputError) as info:
        read_audit_log(audit)
    assert "MiB of JSON" in str(info.value.problems[0])


def test_deep_audit_data_inside_a_csv_export_skips_the_row(tmp_path: Path) -> None:
    audit = tmp_path / "audit.csv"
    deep = '"' + "[" * 100_000 + "]" * 100_000 + '"'
    good = "".join(
        "2026-11-28," + '"' + line.replace('"', '""') + '"\n'
        for line in _good_audit_lines(2).splitlines()
    )
    audit.write_text(f"CreationDate,AuditData\n{good}2026-11-28,{deep}\n", "utf-8")
    result = read_audit_log(audit)
    assert len(result.events) == 2
    assert result.skipped.count == 1
    assert "AuditData: not JSON" in str(result.skipped.problems[0])
