"""The pure parts of doctor: token claims, wire shapes, the redacted sample, the renderers.

Records come from tests/fixtures/doctor (real shapes, invented values; sources in its README).
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from driftguard.doctor import render
from driftguard.doctor.claims import (
    EXCHANGE_ADMINISTRATOR,
    GLOBAL_READER,
    ClaimsError,
    claim_checks,
    claims_of,
)
from driftguard.doctor.model import Check, Seen, Status, TenantDoctor, Wire, exit_code
from driftguard.doctor.redact import Redactor, sample_document
from driftguard.doctor.shapes import ip_form, shape_checks

FIXTURE = Path(__file__).parent / "fixtures" / "doctor" / "inbound-connectors.json"
RESOURCE = "https://outlook.office365.com"
TENANT_ID = "3f1c5a7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"


def _records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["value"]
    return records


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def _claims(**changes: Any) -> dict[str, Any]:
    base = {
        "aud": RESOURCE,
        "tid": TENANT_ID,
        "appid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "roles": ["Exchange.ManageAsApp"],
        "wids": [GLOBAL_READER],
    }
    base.update(changes)
    return base


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# --------------------------------------------------------------------------- claims


def test_claims_of_a_good_read_token_pass() -> None:
    checks = claim_checks(
        claims_of(_jwt(_claims())), purpose="read", resource=RESOURCE, tenant_id=TENANT_ID
    )
    assert [c.status for c in checks] == [Status.OK] * 4
    assert "Global Reader" in _by_name(checks)["read app role"].detail


@pytest.mark.parametrize(
    ("changes", "name", "status", "phrase"),
    [
        ({"aud": "https://graph.microsoft.com"}, "read app audience", Status.FAIL, RESOURCE),
        ({"aud": "https://outlook.office365.com/"}, "read app audience", Status.OK, RESOURCE),
        ({"tid": "11111111-2222-4333-8444-555555555555"}, "read app tenant", Status.FAIL, "tenant"),
        ({"roles": []}, "read app permission", Status.FAIL, "401"),
        ({"roles": None}, "read app permission", Status.FAIL, "Exchange.ManageAsApp"),
        ({"wids": []}, "read app role", Status.WARN, "View-Only Organization Management"),
        ({"wids": [EXCHANGE_ADMINISTRATOR]}, "read app role", Status.OK, "Exchange Admin"),
    ],
)
def test_each_claim_fails_on_its_own(
    changes: dict[str, Any], name: str, status: Status, phrase: str
) -> None:
    checks = _by_name(
        claim_checks(
            claims_of(_jwt(_claims(**changes))),
            purpose="read",
            resource=RESOURCE,
            tenant_id=TENANT_ID,
        )
    )
    assert checks[name].status is status
    assert phrase in checks[name].detail + checks[name].hint


def test_write_app_needs_exchange_administrator() -> None:
    def role(wids: list[str]) -> Check:
        checks = claim_checks(
            claims_of(_jwt(_claims(wids=wids))),
            purpose="write",
            resource=RESOURCE,
            tenant_id=TENANT_ID,
        )
        return _by_name(checks)["write app role"]

    assert role([EXCHANGE_ADMINISTRATOR]).status is Status.OK
    refused = role([GLOBAL_READER])
    assert refused.status is Status.FAIL
    assert "Exchange Administrator" in refused.detail and "403" in refused.detail


@pytest.mark.parametrize(
    "token", ["opaque-token", "a.b", "a.!!!.c", "a." + "A" * 20_000 + ".c", "a.bnVsbA.c"]
)
def test_unreadable_tokens_are_refused(token: str) -> None:
    with pytest.raises(ClaimsError):
        claims_of(token)


# --------------------------------------------------------------------------- wire shapes


def test_fixture_shapes_are_counted_and_numeric_enums_fail() -> None:
    checks = _by_name(shape_checks(_records(), Seen(answers=1)))
    assert checks["wire: SenderDomains"].detail.endswith("plain 1, smtp:x;1 3")
    ips = checks["wire: IP forms"].detail
    assert "SenderIPAddresses: cidr 1, cidr-host-bits 1, single 2" in ips
    assert "EFSkipIPs: range 1" in ips
    enums = checks["wire: enum form"]
    assert enums.status is Status.FAIL and "numbers 2" in enums.detail
    assert "-EnumsAsStrings" in enums.hint
    assert checks["wire: paging"].status is Status.OK


def test_records_that_cannot_be_read_fail_and_are_named() -> None:
    records = [*_records()[:2], {"ConnectorType": "Partner", "Enabled": True}]
    check = _by_name(shape_checks(records, Seen()))["wire: records"]
    assert check.status is Status.FAIL
    assert "record 3" in check.detail and "of 3" in check.detail


def test_a_property_driftguard_does_not_model_is_a_warning_when_set() -> None:
    records = copy.deepcopy(_records()[1:2])
    records[0]["FutureSetting"] = "Enforced"
    check = _by_name(shape_checks(records, Seen()))["wire: properties"]
    assert check.status is Status.WARN
    assert "FutureSetting (set on 1)" in check.detail
    records[0]["FutureSetting"] = []
    check = _by_name(shape_checks(records, Seen()))["wire: properties"]
    assert check.status is Status.OK and "FutureSetting" in check.detail


def test_envelope_checks_report_paging_warnings_and_redirects() -> None:
    seen = Seen(
        answers=3,
        next_links=1,
        warnings=("WARNING: the result may be incomplete",),
        followed=("nampr01.outlook.office365.com",),
    )
    checks = _by_name(shape_checks(None, seen))
    assert checks["wire: records"].status is Status.SKIPPED
    assert checks["wire: paging"].status is Status.WARN
    assert "1 of 3 answers" in checks["wire: paging"].detail
    assert checks["wire: warnings"].status is Status.WARN
    region = checks["wire: region"]
    assert region.status is Status.OK
    assert region.detail == "the admin API redirected to nampr01.outlook.office365.com; followed"
    refused = _by_name(shape_checks(None, Seen(refused=("evil.example",))))["wire: region"]
    assert refused.status is Status.FAIL and "not followed" in refused.detail
    assert "exchange_domain" in refused.hint


@pytest.mark.parametrize(
    ("item", "form"),
    [
        ("203.0.113.7", "single"),
        ("198.51.100.0/24", "cidr"),
        ("192.168.0.1/25", "cidr-host-bits"),
        ("10.0.0.1-10.0.0.9", "range"),
        ("2001:db8::1", "ipv6"),
        ("mail.example.com", "other"),
        (7, "non-text (int)"),
    ],
)
def test_ip_forms(item: Any, form: str) -> None:
    assert ip_form(item) == form


# --------------------------------------------------------------------------- redaction


def _sample(records: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    wire = Wire(connectors=tuple(records), **more)
    return sample_document(wire, TENANT_ID)


def test_sample_of_the_fixture_leaks_nothing_and_keeps_forms() -> None:
    records = _records()
    doc = _sample(records)
    text = json.dumps(doc)
    for original in (
        "Lyon",
        "fabrikam",
        "Partner TLS",
        "Legacy export",
        "partner2.example.net",
        "192.168.0",
        "198.51.100.14",
        "10.20.0.",
        "mailops",
        "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9",
        "6b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        TENANT_ID,
    ):
        assert original.lower() not in text.lower(), original
    lyon, partner, legacy = doc["value"]
    assert list(lyon) == list(records[0])  # every property name, in order
    assert lyon["SenderDomains"] == ["smtp:*;1"]
    ips = lyon["SenderIPAddresses"]
    assert ips[0].endswith(".1/25") and ips[1].endswith(".0/24") and ips[2].endswith(".7")
    assert [ip_form(i) for i in ips] == ["cidr-host-bits", "cidr", "single"]
    assert ip_form(lyon["EFSkipIPs"][0]) == "range"
    assert lyon["TlsSenderCertificateName"].startswith("*.domain-")
    assert lyon["ExchangeObjectId"] == lyon["Guid"]  # same input, same placeholder
    assert lyon["Name"] == lyon["Identity"] == lyon["Id"]
    assert lyon["Name"] in lyon["DistinguishedName"]
    assert lyon["DirectoryObjectVersion"] == 4 and lyon["ObjectClass"] == records[0]["ObjectClass"]
    assert lyon["ExchangeVersion"] == "0.20 (15.0.0.0)"
    assert partner["Comment"] is None
    assert partner["SenderDomains"][0].startswith("smtp:") and partner["SenderDomains"][0].endswith(
        ";1"
    )
    assert "smtp:" not in partner["SenderDomains"][1]
    assert partner["TlsSenderCertificateName"].endswith(".example")
    assert legacy["ConnectorType"] == 1 and legacy["ConnectorSource"] == 0
    assert doc["@driftguard.sample"]["tenant_id"] != TENANT_ID
    assert doc["@adminapi.warnings"] == []


def test_placeholders_are_consistent_across_sources_and_case() -> None:
    redactor = Redactor()
    redactor.learn({"Name": "Lyon relay"})
    one = redactor.scrub("Set by Ops@Fabrikam.com from 81.2.69.160:443 on LYON RELAY")
    two = redactor.scrub("ops@fabrikam.com 81.2.69.160 lyon relay")
    assert one.split()[2] == two.split()[0]
    assert one.split()[4] == two.split()[1] + ":443"
    assert "connector-1" in one and "connector-1" in two
    assert redactor.scrub("2001:db8:0:0:0:0:0:1 and 2001:db8::1").split()[0].startswith("2001:db8")


def test_audit_data_is_redacted_inside_and_stays_a_string() -> None:
    audit_data = {
        "CreationTime": "2026-11-28T02:38:12",
        "UserId": "j.doe@fabrikam-lyon.com",
        "ClientIP": "[2a01:4f8:1c0c:1234::1]:51432",
        "ObjectId": "Lyon relay",
        "Parameters": [{"Name": "Comment", "Value": "temporary, Lyon cutover"}],
    }
    row = {"UserIds": "j.doe@fabrikam-lyon.com", "AuditData": json.dumps(audit_data)}
    doc = _sample(_records()[:1], audit=(row,))
    (out,) = doc["@driftguard.audit"]
    inner = json.loads(out["AuditData"])
    assert inner["UserId"] == out["UserIds"]
    assert inner["ObjectId"] == doc["value"][0]["Name"]
    assert inner["ClientIP"].startswith("[2001:db8::") and inner["ClientIP"].endswith("]:51432")
    assert inner["Parameters"][0]["Name"] == "Comment"
    assert inner["Parameters"][0]["Value"].startswith("comment-")
    assert inner["CreationTime"] == audit_data["CreationTime"]


def test_principals_that_are_not_addresses_are_replaced_whole() -> None:
    redactor = Redactor()
    row = {"UserId": "Fabrikam Relay Automation", "UserKey": "10032001A1B2C3D4", "Actor": "x@y.com"}
    out = redactor.redact(row)
    assert out["UserId"] == "principal-1" and out["UserKey"] == "principal-2"
    assert out["Actor"].startswith("user-") and out["Actor"].endswith(".example")
    assert redactor.redact({"UserIds": "Fabrikam Relay Automation"})["UserIds"] == "principal-1"


# --------------------------------------------------------------------------- rendering


def _result(*checks: Check, tenant: str = "contoso") -> TenantDoctor:
    return TenantDoctor(tenant, TENANT_ID, tuple(checks))


def test_text_strips_control_characters_and_gives_hints_only_for_problems() -> None:
    result = _result(
        Check("read: connectors", Status.OK, "fine", "never shown"),
        Check("wire: records", Status.FAIL, "record 1 (\x1b[31mevil\x1b[0m\x07): bad", "fix it"),
        tenant="con\x1b]0;title\x07toso",
    )
    out = render.text([result])
    assert "\x1b" not in out and "\x07" not in out
    assert "never shown" not in out
    assert "fix: fix it" in out
    assert out.splitlines()[-1].strip() == "=> 1 check failed, 0 warnings"


def test_json_document_and_exit_codes() -> None:
    warned = _result(Check("wire: paging", Status.WARN, "paged", "hint"))
    failed = _result(Check("read: alerts", Status.FAIL, "403", "grant"), tenant="other")
    doc = json.loads(render.json_document([warned, failed], datetime(2026, 12, 1, tzinfo=UTC)))
    jsonschema.validate(doc, render.schema())
    assert doc["generated_at"] == "2026-12-01T00:00:00Z"
    assert [t["status"] for t in doc["tenants"]] == ["warn", "fail"]
    assert doc["tenants"][1]["checks"][0] == {
        "check": "read: alerts",
        "status": "fail",
        "detail": "403",
        "hint": "grant",
    }
    assert exit_code([warned]) == 0
    assert exit_code([warned, failed]) == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["tenants"][0].update(status="error"),
        lambda d: d["tenants"][0]["checks"][0].update(status="maybe"),
        lambda d: d["tenants"][0]["checks"][0].pop("hint"),
        lambda d: d["tenants"][0].update(checks=[]),
        lambda d: d.update(extra=1),
    ],
)
def test_the_schema_refuses_what_doctor_never_writes(damage: Any) -> None:
    doc = json.loads(
        render.json_document(
            [_result(Check("endpoints", Status.OK, "fine"))], datetime(2026, 12, 1, tzinfo=UTC)
        )
    )
    jsonschema.validate(doc, render.schema())
    damage(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, render.schema())
