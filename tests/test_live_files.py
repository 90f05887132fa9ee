"""--live FILE: the three forms, their encodings, every way a file can be incomplete or wrong."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from driftguard.demo.source import DemoSource, live_bytes
from driftguard.errors import LiveReadError, ServiceError, TruncatedReadError
from driftguard.live.files import FileSource, read_live_file, snapshot_digest
from driftguard.model import Status, TenantConfig
from driftkit import HYBRID, PARTNER, SCANNER, TENANT_ID, diff_files, wire, write_baseline

CONFIG = TenantConfig(name="contoso", tenant_id=TENANT_ID)
RECORDS = (wire(HYBRID), wire(PARTNER), wire(SCANNER))


def _baseline(tmp_path: Path) -> Path:
    return write_baseline(tmp_path / "baseline", [HYBRID, PARTNER, SCANNER])


def _powershell(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ConvertTo-Json writes: no sidecars, PowerShell's own properties added."""
    out = []
    for r in records:
        rec = {k: v for k, v in r.items() if "@" not in k}
        rec.update({"PSComputerName": "outlook.office365.com", "RunspaceId": "5e0c..."})
        out.append(rec)
    return out


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
    ],
)
def test_powershell_array_in_every_encoding_shows_no_drift(
    tmp_path: Path, encoding: str, bom: bytes
) -> None:
    text = json.dumps(_powershell(list(RECORDS)), indent=4)
    live = tmp_path / "live.json"
    live.write_bytes(bom + text.encode(encoding))
    result = diff_files(_baseline(tmp_path), live)
    assert result.status is Status.OK, result.findings
    assert result.findings == ()
    assert read_live_file(live).form == "powershell"


def test_powershell_single_object(tmp_path: Path) -> None:
    root = write_baseline(tmp_path / "baseline", [HYBRID])
    live = tmp_path / "one.json"
    live.write_text(json.dumps(_powershell([wire(HYBRID)])[0]), "utf-8")
    assert read_live_file(live).form == "powershell"
    assert diff_files(root, live).status is Status.OK


def test_powershell_value_count_wrapper(tmp_path: Path) -> None:
    """Windows PowerShell sometimes wraps arrays as {"value": [...], "Count": n}."""
    live = tmp_path / "wrapped.json"
    live.write_text(json.dumps({"value": _powershell(list(RECORDS)), "Count": 3}), "utf-8")
    assert diff_files(_baseline(tmp_path), live).status is Status.OK


def test_invokecommand_body_with_sidecars(tmp_path: Path) -> None:
    live = tmp_path / "body.json"
    body = {
        "@odata.context": "https://outlook.office365.com/adminapi/beta/x/$metadata#Collection",
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": [],
        "value": list(RECORDS),
    }
    live.write_text(json.dumps(body), "utf-8")
    parsed = read_live_file(live)
    assert parsed.form == "invokecommand"
    assert len(parsed.records) == 3
    assert diff_files(_baseline(tmp_path), live).status is Status.OK


def test_warnings_mean_truncated(tmp_path: Path) -> None:
    live = tmp_path / "warned.json"
    warning = "There are more results, use ResultSize to view more results."
    live.write_text(json.dumps({"value": RECORDS[:1], "@adminapi.warnings": [warning]}), "utf-8")
    with pytest.raises(TruncatedReadError) as info:
        FileSource(live).snapshot(CONFIG)
    assert str(live) in info.value.message
    assert "ResultSize" in info.value.message
    assert info.value.tenant == "contoso"


def test_unfollowed_next_link_means_truncated(tmp_path: Path) -> None:
    live = tmp_path / "page1.json"
    body = {
        "value": RECORDS[:2],
        "@adminapi.warnings": [],
        "@odata.nextLink": "https://outlook.office365.com/adminapi/beta/x/InvokeCommand?$skiptoken=2",
    }
    live.write_text(json.dumps(body), "utf-8")
    with pytest.raises(TruncatedReadError, match=r"nextLink.*first page") as info:
        FileSource(live).snapshot(CONFIG)
    assert str(live) in info.value.message


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    live = tmp_path / "broken.json"
    live.write_text('[\n  {"Name": "Hybrid relay",\n   "Enabled": tru}\n]\n', "utf-8")
    with pytest.raises(LiveReadError) as info:
        FileSource(live).snapshot(CONFIG)
    assert info.value.message.startswith(f"{live}:3:15: invalid JSON")


def test_service_error_body(tmp_path: Path) -> None:
    live = tmp_path / "error.json"
    error = {
        "error": {
            "code": "BadRequest",
            "message": "Invalid Operation",
            "details": [{"message": "|Microsoft.Exchange.Exception|Access denied for the role"}],
        }
    }
    live.write_text(json.dumps(error), "utf-8")
    with pytest.raises(ServiceError, match="Access denied for the role"):
        read_live_file(live)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([{"Enabled": True}], "record 1 has no Name"),
        ([1, 2], "record 1 is int"),
        ({"something": "else"}, "not a connector"),
        ("text", "expected a JSON object or array"),
    ],
)
def test_not_connectors(tmp_path: Path, doc: Any, message: str) -> None:
    live = tmp_path / "odd.json"
    live.write_text(json.dumps(doc), "utf-8")
    with pytest.raises(LiveReadError, match=message):
        read_live_file(live)


def test_undecodable_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'[{"Name": "caf\xe9"}]')
    with pytest.raises(LiveReadError, match=r"not readable as utf-8"):
        read_live_file(bad)
    with pytest.raises(LiveReadError, match="cannot read"):
        read_live_file(tmp_path / "absent.json")


def test_unreadable_record_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    """The odd record fails its own connector loudly; the other baseline files are still judged
    (here: the other two are missing from the file), and Hybrid relay is not reported as missing."""
    live = tmp_path / "v6.json"
    live.write_text(json.dumps({"value": [wire(HYBRID, SenderIPAddresses=["2001:db8::1"])]}))
    result = diff_files(_baseline(tmp_path), live)
    assert result.status is Status.ERROR
    assert result.error is not None and "IPv6" in result.error and "Hybrid relay" in result.error
    assert {(f.kind.value, f.connector) for f in result.findings} == {
        ("missing", "Fabrikam partner TLS"),
        ("missing", "Legacy scanner"),
    }


# --------------------------------------------------------------------------- snapshots


def _snapshot_doc(records: tuple[dict[str, Any], ...], **over: Any) -> dict[str, Any]:
    doc = {
        "driftguard_snapshot": 1,
        "tenant": "contoso",
        "tenant_id": TENANT_ID,
        "taken_at": "2026-11-29T20:00:00Z",
        "source": "exchange:https://outlook.office365.com",
        "digest": snapshot_digest(records),
        "records": list(records),
        "warnings": [],
    }
    doc.update(over)
    return doc


def test_snapshot_round_trip(tmp_path: Path) -> None:
    live = tmp_path / "snap.json"
    live.write_text(json.dumps(_snapshot_doc(RECORDS)), "utf-8")
    snap = FileSource(live).snapshot(CONFIG)
    assert snap.taken_at.isoformat() == "2026-11-29T20:00:00+00:00"
    assert snap.source == f"file:{live}"
    assert diff_files(_baseline(tmp_path), live).status is Status.OK


def test_snapshot_digest_mismatch_is_refused(tmp_path: Path) -> None:
    doc = _snapshot_doc(RECORDS)
    doc["records"][0] = wire(HYBRID, TreatMessagesAsInternal=True)
    live = tmp_path / "edited.json"
    live.write_text(json.dumps(doc), "utf-8")
    with pytest.raises(LiveReadError, match="digest"):
        FileSource(live).snapshot(CONFIG)


def test_snapshot_of_another_tenant_is_refused(tmp_path: Path) -> None:
    live = tmp_path / "other.json"
    other = "99999999-2222-4333-8444-555555555555"
    live.write_text(json.dumps(_snapshot_doc(RECORDS, tenant_id=other)), "utf-8")
    with pytest.raises(LiveReadError, match="tenant_id 9999"):
        FileSource(live).snapshot(CONFIG)


def test_snapshot_version_and_records(tmp_path: Path) -> None:
    live = tmp_path / "v2.json"
    live.write_text(json.dumps(_snapshot_doc(RECORDS, driftguard_snapshot=2)), "utf-8")
    with pytest.raises(LiveReadError, match="version 2 is not supported"):
        read_live_file(live)
    doc = _snapshot_doc(RECORDS)
    doc["records"] = {"a": 1}
    live.write_text(json.dumps(doc), "utf-8")
    with pytest.raises(LiveReadError, match="no records list"):
        read_live_file(live)


def test_snapshot_digest_ignores_formatting_order_and_bookkeeping() -> None:
    reformatted = [
        {**wire(SCANNER), "SenderIPAddresses": ["198.51.100.25"], "WhenChangedUTC": "later"},
        {
            **wire(PARTNER),
            "ConnectorType": "partner",
            "TlsSenderCertificateName": "MAIL.fabrikam.com",
        },
        wire(HYBRID),
    ]
    digest = snapshot_digest(RECORDS)
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert snapshot_digest(reformatted) == digest
    assert snapshot_digest([wire(HYBRID, RequireTls=False), *RECORDS[1:]]) != digest
    assert snapshot_digest([*RECORDS, {"Name": "x", "NewThing": 1}]) != digest
    # a record that cannot be normalised is still hashed, never an exception
    odd = [{"Name": "v6", "SenderIPAddresses": ["2001:db8::1"]}]
    assert snapshot_digest(odd) == snapshot_digest(odd)


def test_demo_source_reads_the_packaged_body() -> None:
    snap = DemoSource().snapshot(TenantConfig(name="demo", tenant_id=TENANT_ID))
    names = sorted(r["Name"] for r in snap.records)
    assert names == [
        "Fabrikam partner TLS",
        "Hybrid relay",
        "Inbound relay (temp)",
        "Legacy scanner",
    ]
    assert snap.source == "demo"
    body = json.loads(live_bytes())
    assert body["@adminapi.warnings"] == []
    assert any(k.endswith("@data.type") for k in body["value"][0])
