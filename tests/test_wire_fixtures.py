"""The first night on a real tenant: records in the real module's shapes (tests/fixtures/exchange)
through the real CLI. No noise from bookkeeping, documented value forms accepted, one odd value
fails its own connector only, and wrong input is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main
from driftguard.live.files import parse_live
from driftguard.normalize import connector_from_record
from driftguard.properties import READ_ONLY
from driftkit import assert_valid_report

FIXTURES = Path(__file__).parent / "fixtures" / "exchange"
BOOKKEEPING = (
    "NameHashGuid",
    "OrganizationalUnitRoot",
    "OrganizationalUnitRootInternal",
    "DirectoryObjectVersion",
    "ExchangeObjectId",
    "Identity",
    "Id",
    "DistinguishedName",
    "ObjectCategory",
    "ObjectClass",
    "OriginatingServer",
    "WhenChanged",
    "WhenChangedUTC",
    "WhenCreated",
    "WhenCreatedUTC",
    "IsValid",
    "ObjectState",
    "ExchangeVersion",
    "OrganizationId",
    "PSComputerName",
    "PSShowComputerName",
    "PSSourceJobInstanceId",
    "RunspaceId",
)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    root = tmp_path / "baseline"
    shutil.copytree(FIXTURES / "baseline", root)
    return root


def _records(name: str) -> list[dict[str, Any]]:
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data if isinstance(data, list) else [data]


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def _diff_json(
    base: Path, live: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any], str]:
    argv = ["diff", "--baseline", str(base), "--tenant", "contoso", "--live", str(live)]
    code = main([*argv, "--format", "json"])
    out, err = capsys.readouterr()
    [tenant] = assert_valid_report(out)["tenants"]
    return code, tenant, err


# --------------------------------------------------------------------------- point 1: no noise


def test_the_fixture_carries_every_bookkeeping_property() -> None:
    for record in _records("inbound.powershell.json"):
        assert set(BOOKKEEPING) <= set(record)
    assert set(BOOKKEEPING) <= READ_ONLY


@pytest.mark.parametrize("name", ["inbound.powershell.json", "inbound.invokecommand.json"])
def test_an_unchanged_tenant_in_the_real_shapes_is_clean(
    base: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Done when: every property the real module returns, unchanged: exit 0, no findings, no
    warnings."""
    code, tenant, err = _diff_json(base, FIXTURES / name, capsys)
    assert (code, tenant["status"], tenant["findings"], tenant["warnings"]) == (0, "ok", [], [])
    assert err == ""


def test_bookkeeping_that_moves_by_itself_is_neither_drift_nor_a_warning(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records("inbound.powershell.json")
    for r in records:
        r.update(
            NameHashGuid="99999999-9999-4999-8999-999999999999",
            DirectoryObjectVersion=r["DirectoryObjectVersion"] + 7,
            ExchangeObjectId="88888888-8888-4888-8888-888888888888",
            OrganizationalUnitRootInternal="elsewhere/contoso.onmicrosoft.com",
            OriginatingServer="AM0PR05A002DC07.EURPR05A002.prod.outlook.com",
            WhenChangedUTC="2026-12-01T01:02:03.0000000Z",
            ObjectState="Changed",
            PSShowComputerName=True,
            RunspaceId="77777777-7777-4777-8777-777777777777",
        )
    code, tenant, _ = _diff_json(base, _write(tmp_path / "live.json", records), capsys)
    assert (code, tenant["findings"], tenant["warnings"]) == (0, [], [])


def test_a_single_object_export_reads_with_nothing_unknown() -> None:
    live = parse_live((FIXTURES / "inbound-single.powershell.json").read_bytes(), "one.json")
    [record] = live.records
    conn = connector_from_record(record)
    assert conn.unknown == ()
    assert conn.settings["SenderIPAddresses"] == ("198.51.100.0/24", "203.0.113.7/32")
    assert conn.settings["SenderDomains"] == ("contoso.com",)


# --------------------------------------------------------------------------- point 3: value forms


def test_microsofts_host_bit_example_is_compared_by_its_addresses_with_a_note(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hybrid = base / "contoso" / "inbound" / "hybrid-relay.yaml"
    text = hybrid.read_text(encoding="utf-8")
    hybrid.write_text(text.replace("[198.51.100.0/24, 203.0.113.7]", "[192.168.0.1/25]"), "utf-8")
    assert main(["validate", "--baseline", str(base)]) == 0
    err = capsys.readouterr().err
    assert "hybrid-relay.yaml:8:" in err and "'192.168.0.1/25' is written with host bits" in err

    records = _records("inbound.powershell.json")
    records[0]["SenderIPAddresses"] = ["192.168.0.0/25"]
    code, tenant, _ = _diff_json(base, _write(tmp_path / "live.json", records), capsys)
    assert (code, tenant["status"], tenant["findings"]) == (0, "ok", [])
    [note] = tenant["warnings"]
    assert "hybrid-relay.yaml" in note and "compared as 192.168.0.0/25" in note


def test_host_bits_on_the_wire_are_not_drift(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records("inbound.invokecommand.json")[0]["value"]
    records[0]["SenderIPAddresses"] = ["198.51.100.77/24", "203.0.113.7"]
    live = tmp_path / "live.json"
    live.write_text(json.dumps({"value": records}), encoding="utf-8")
    code, tenant, _ = _diff_json(base, live, capsys)
    assert (code, tenant["findings"]) == (0, [])
    [note] = tenant["warnings"]
    assert "'Hybrid relay'" in note and "'198.51.100.77/24'" in note


def test_a_wider_range_with_host_bits_is_still_drift(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records("inbound.powershell.json")
    records[0]["SenderIPAddresses"] = ["198.51.100.77/23", "203.0.113.7"]
    code, tenant, _ = _diff_json(base, _write(tmp_path / "live.json", records), capsys)
    assert code == 2
    [finding] = tenant["findings"]
    assert finding["field"] == "SenderIPAddresses"
    assert finding["added"] == ["198.51.100.0/23"] and finding["removed"] == ["198.51.100.0/24"]


def test_one_odd_value_fails_its_connector_and_the_others_are_still_judged(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records("inbound.powershell.json")
    records[0]["SenderIPAddresses"] = ["198.51.100.0/24", "mail.contoso.com"]
    records[1]["RequireTls"] = False  # real drift on the other connector
    code, tenant, _ = _diff_json(base, _write(tmp_path / "live.json", records), capsys)
    assert code == 1 and tenant["status"] == "error"
    assert "'Hybrid relay'" in tenant["error"] and "'mail.contoso.com'" in tenant["error"]
    assert "1 connector not judged" in tenant["error"]
    assert [(f["connector"], f["kind"], f["field"]) for f in tenant["findings"]] == [
        ("Fabrikam partner TLS", "changed", "RequireTls")
    ]


def test_plan_refuses_a_tenant_with_an_unreadable_connector(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records("inbound.powershell.json")
    records[0]["SenderIPAddresses"] = ["2001:db8::/64"]
    live = _write(tmp_path / "live.json", records)
    argv = ["plan", "--baseline", str(base), "--tenant", "contoso", "--live", str(live)]
    assert main([*argv, "--out", str(tmp_path / "plan.json")]) == 1
    assert "IPv6" in capsys.readouterr().err
    assert not (tmp_path / "plan.json").exists()


# --------------------------------------------------------------------------- point 6: wrong input


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        (
            "outbound.powershell.json",
            [
                "'Outbound to Contoso on-premises'",
                "is an outbound connector",
                "Get-InboundConnector",
            ],
        ),
        (
            "inbound-ps51-numeric-enums.powershell.json",
            ["ConnectorType is the number 2", "-EnumsAsStrings", "[string]$_.ConnectorType"],
        ),
        (
            "error-invalid-operation.json",
            ["holds a service error", "doesn't have permission to run Get-InboundConnector"],
        ),
    ],
)
def test_wrong_input_is_named(
    base: Path, name: str, fragments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, tenant, _ = _diff_json(base, FIXTURES / name, capsys)
    assert code == 1 and tenant["status"] == "error" and tenant["findings"] == []
    for fragment in fragments:
        assert fragment in tenant["error"]
    assert "unknown" not in json.dumps(tenant["findings"])


def test_an_outbound_record_in_an_invokecommand_body_is_refused_too(tmp_path: Path) -> None:
    from driftguard.errors import LiveReadError

    [outbound] = _records("outbound.powershell.json")
    body = json.dumps({"@adminapi.warnings": [], "value": [outbound]}).encode()
    with pytest.raises(LiveReadError, match="outbound connector"):
        parse_live(body, "body.json")


# --------------------------------------------------------------------------- point 2: new ones


def test_a_property_the_service_adds_warns_until_adopt_pins_it(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records("inbound.powershell.json")
    records[1]["SenderCertificateIssuer"] = "CN=Fabrikam Issuing CA 02, O=Fabrikam Inc"
    live = _write(tmp_path / "live.json", records)
    code, tenant, _ = _diff_json(base, live, capsys)
    assert (code, tenant["findings"]) == (0, [])
    [warning] = tenant["warnings"]
    assert "fabrikam-partner.yaml" in warning and "Unmodelled:" in warning

    common = ["--baseline", str(base), "--tenant", "contoso", "--live", str(live)]
    assert main(["adopt", *common]) == 0
    capsys.readouterr()
    assert _diff_json(base, live, capsys)[:2] == (0, {**tenant, "warnings": []})

    records[1]["SenderCertificateIssuer"] = "CN=Someone Else"
    code, tenant, _ = _diff_json(base, _write(live, records), capsys)
    assert code == 2
    [finding] = tenant["findings"]
    assert finding["field"] == "Unmodelled.SenderCertificateIssuer"
    assert finding["live"] == "CN=Someone Else"
