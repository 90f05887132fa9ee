"""Audit record parsing and attribution (pure parts of the investigation)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from driftguard.investigate.attribution import MAX_EVENTS_PER_FINDING, attribute
from driftguard.investigate.auditlog import (
    AuditRecordError,
    client_ip,
    connector_name,
    event_from_row,
    parse_parameters,
    parse_time,
)
from driftguard.model import (
    AuditEvent,
    Finding,
    FindingKind,
    Severity,
    TenantConfig,
)

T0 = datetime(2026, 11, 28, 2, 38, 12, tzinfo=UTC)
START = T0 - timedelta(days=30)
END = T0 + timedelta(days=1)
TENANT = TenantConfig(
    name="contoso",
    tenant_id="5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13",
    trusted_ip_ranges=("198.51.100.0/24",),
    admins=("exadmin@contoso.com",),
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.66:50912", "203.0.113.66"),
        ("203.0.113.66", "203.0.113.66"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:0000::0001", "2001:db8::1"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("fe80::1%eth0", "fe80::1"),
        ("", None),
        (None, None),
        ("not-an-ip", None),
    ],
)
def test_client_ip_forms(raw: str | None, expected: str | None) -> None:
    assert client_ip(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hybrid relay", "Hybrid relay"),
        (
            "NAMPR01A001.prod.outlook.com/Microsoft Exchange Hosted Organizations/"
            "contoso.onmicrosoft.com/Configuration/Transport Settings/"
            "Inbound Connectors/Hybrid relay",
            "Hybrid relay",
        ),
        (
            "EURPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/"
            "contoso.onmicrosoft.com/Inbound relay (temp)",
            "Inbound relay (temp)",
        ),
        ("contoso.onmicrosoft.com\\Hybrid relay", "Hybrid relay"),
        ("Relay A/B", "Relay A/B"),
    ],
)
def test_object_id_forms(raw: str, expected: str) -> None:
    assert connector_name(raw) == expected


def test_times_without_zone_are_utc_and_seven_digits_parse() -> None:
    assert parse_time("2026-11-28T02:38:12") == T0
    assert parse_time("2026-11-28T02:38:12.1234567Z") == T0.replace(microsecond=123456)
    assert parse_time("2026-11-28T03:38:12+01:00") == T0
    assert parse_time("/Date(1795833492000)/") == datetime.fromtimestamp(1795833492, tz=UTC)
    with pytest.raises(AuditRecordError):
        parse_time("yesterday")


def test_parameters_list_and_string() -> None:
    raw = [
        {"Name": "SenderIPAddresses", "Value": "1.2.3.0/24,5.6.7.8"},
        {"Name": "Enabled", "Value": True},
    ]
    assert parse_parameters(raw) == {"SenderIPAddresses": "1.2.3.0/24,5.6.7.8", "Enabled": "True"}
    assert parse_parameters(json.dumps(raw))["Enabled"] == "True"
    with pytest.raises(AuditRecordError):
        parse_parameters([{"Value": "x"}])


def test_row_audit_data_parsed_twice() -> None:
    record = {
        "CreationTime": "2026-11-28T02:38:12",
        "Id": "r1",
        "Operation": "Set-InboundConnector",
        "UserId": "svc-relay@contoso.onmicrosoft.com",
        "ClientIP": "[2001:db8::66]:50912",
        "ObjectId": "contoso.onmicrosoft.com\\Hybrid relay",
        "ResultStatus": "False",
        "ExternalAccess": True,
        "AppId": "abc",
        "Parameters": [{"Name": "Identity", "Value": "Hybrid relay"}],
    }
    row = json.loads(json.dumps({"RecordType": "ExchangeAdmin", "AuditData": json.dumps(record)}))
    event = event_from_row(row)
    assert event.time == T0
    assert event.client_ip == "2001:db8::66"
    assert event.connector == "Hybrid relay"
    assert event.succeeded is False
    assert event.external_access is True
    assert event.app_id == "abc"
    with pytest.raises(AuditRecordError):
        event_from_row({"AuditData": "{not json"})


# --------------------------------------------------------------------------- attribution


def _event(
    op: str,
    connector: str,
    *,
    at: datetime = T0,
    actor: str = "exadmin@contoso.com",
    ip: str | None = "198.51.100.10",
    external: bool = False,
    ok: bool = True,
    **params: str,
) -> AuditEvent:
    return AuditEvent(
        time=at,
        actor=actor,
        client_ip=ip,
        operation=op,
        connector=connector,
        parameters=params,
        succeeded=ok,
        external_access=external,
    )


def _changed(field: str, connector: str = "Hybrid relay", guid: str | None = None) -> Finding:
    return Finding(
        kind=FindingKind.CHANGED,
        connector=connector,
        guid=guid,
        severity=Severity.HIGH,
        reason="r",
        field=field,
    )


def test_changed_finding_gets_latest_matching_events_first() -> None:
    events = [
        _event("Set-InboundConnector", "Hybrid relay", at=T0 - timedelta(days=2), Comment="x"),
        _event(
            "Set-InboundConnector", "hybrid RELAY", at=T0 - timedelta(days=1), RequireTls="False"
        ),
        _event("Set-InboundConnector", "Hybrid relay", at=T0, RequireTls="True"),
        _event("Set-InboundConnector", "Other", at=T0, RequireTls="True"),
        _event("Set-InboundConnector", "Hybrid relay", at=T0, ok=False, RequireTls="True"),
        _event("Set-InboundConnector", "Hybrid relay", at=T0 - timedelta(days=90), RequireTls="T"),
    ]
    result = attribute([_changed("RequireTls")], events, TENANT, start=START, end=END)
    got = result.findings[0].events
    assert [e.time for e in got] == [T0, T0 - timedelta(days=1)]
    assert all(e.succeeded for e in got)
    assert not result.unattributed


def test_match_by_guid_identity_and_rename() -> None:
    guid = "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9"
    by_guid = _event("Set-InboundConnector", guid, Identity=guid, Enabled="False")
    rename = _event("Set-InboundConnector", "Old name", Identity="Old name", Name="New name")
    findings = [
        _changed("Enabled", "Hybrid relay", guid),
        Finding(
            kind=FindingKind.CHANGED,
            connector="New name",
            guid=None,
            severity=Severity.HIGH,
            reason="r",
            field="Name",
            baseline="Old name",
            live="New name",
        ),
        Finding(
            kind=FindingKind.MISSING,
            connector="Gone",
            guid=None,
            severity=Severity.HIGH,
            reason="r",
        ),
    ]
    removal = _event("Remove-InboundConnector", "Gone", Identity="Gone")
    result = attribute(findings, [by_guid, rename, removal], TENANT, start=START, end=END)
    assert result.findings[0].events == (by_guid,)
    assert result.findings[1].events == (rename,)
    assert result.findings[2].events == (removal,)


def test_unattributed_change_is_flagged_with_a_reason() -> None:
    changed_at = {"hybrid relay": START - timedelta(days=3)}
    result = attribute(
        [_changed("Comment"), _changed("RequireTls", "Fabrikam")],
        [_event("Set-InboundConnector", "Hybrid relay", RequireTls="True")],
        TENANT,
        start=START,
        end=END,
        changed_at=changed_at,
    )
    assert [u.index for u in result.unattributed] == [0, 1]
    late = attribute(
        [_changed("Comment")],
        [],
        TENANT,
        start=START,
        end=END,
        changed_at={"hybrid relay": END + timedelta(hours=1)},
    )
    assert "after the log window" in late.unattributed[0].note
    assert "before the log window" in result.unattributed[0].note
    assert "outside the audited admin path" in result.unattributed[1].note


def test_suspicious_actors() -> None:
    events = [
        _event("Set-InboundConnector", "A", at=T0 - timedelta(hours=5), Comment="1"),
        _event(
            "Set-InboundConnector", "A", at=T0 - timedelta(hours=4), ip="203.0.113.9", Comment="2"
        ),
        _event(
            "Set-InboundConnector", "A", at=T0 - timedelta(hours=3), ip="203.0.113.9", Comment="3"
        ),
        _event("Set-InboundConnector", "A", actor="mallory@evil.example", Comment="4"),
        _event(
            "Set-InboundConnector", "A", actor="exadmin@contoso.com", external=True, Comment="5"
        ),
    ]
    result = attribute([], events, TENANT, start=START, end=END)
    flags = {f.actor: f for f in result.actors}
    assert set(flags) == {"mallory@evil.example", "exadmin@contoso.com"}
    assert "not a listed admin" in flags["mallory@evil.example"].reasons
    admin = flags["exadmin@contoso.com"]
    assert any("unusual IP 203.0.113.9" in r for r in admin.reasons)
    assert any("external" in r for r in admin.reasons)
    # The first use of the odd IP and the external access are flagged; the repeat is not.
    assert len(admin.events) == 2


def test_driftguards_own_apps_are_known_actors() -> None:
    read_app, write_app = "11111111-aaaa-4bbb-8ccc-000000000001", "22222222-AAAA-4bbb-8ccc-2"
    tenant = dataclasses.replace(
        TENANT, auth={"client_id": read_app, "write": {"client_id": write_app}}
    )

    def by_app(app: str, comment: str) -> AuditEvent:  # app-only, from a CI runner's address
        event = _event(
            "Set-InboundConnector", "A", actor=f"app:{app}", ip="20.1.2.3", Comment=comment
        )
        return dataclasses.replace(event, app_id=app)

    events = [by_app(write_app.lower(), "1"), by_app(read_app, "2"), by_app("33333333-x", "3")]
    flags = attribute([], events, tenant, start=START, end=END).actors
    assert [f.actor for f in flags] == ["app:33333333-x"]  # a stranger app still is flagged
    assert "not a listed admin" in flags[0].reasons
    assert attribute([], events[:2], TENANT, start=START, end=END).actors  # unknown without auth


def test_trusted_admin_from_trusted_range_is_not_flagged() -> None:
    events = [_event("Set-InboundConnector", "A", Comment=str(i)) for i in range(5)]
    assert attribute([], events, TENANT, start=START, end=END).actors == ()


def test_events_per_finding_are_capped_but_counted() -> None:
    events = [
        _event("Set-InboundConnector", "Hybrid relay", at=T0 - timedelta(minutes=i), Comment=str(i))
        for i in range(MAX_EVENTS_PER_FINDING + 10)
    ]
    result = attribute([_changed("Comment")], events, TENANT, start=START, end=END)
    assert len(result.findings[0].events) == MAX_EVENTS_PER_FINDING
    assert result.matched[0] == MAX_EVENTS_PER_FINDING + 10


# --------------------------------------------------------------------------- alerts


@pytest.mark.parametrize(
    "evidence",
    [
        None,
        "not a list",
        [{"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.66"}],
        [{"unknownShape": {"nested": [{"connectorName": "Hybrid relay"}, 42, None]}}],
        {"odd": ["203.0.113.66,", "(Hybrid relay)"]},
    ],
)
def test_alert_evidence_of_any_shape(evidence: object) -> None:
    from driftguard.investigate.alerts import alert_from

    item = {
        "id": "a1",
        "title": "Suspicious Connector Activity",
        "severity": "high",
        "status": "new",
        "createdDateTime": "2026-11-28T06:10:00.123Z",
        "description": "A connector was restricted.",
        "evidence": evidence,
    }
    alert = alert_from(item, ["Hybrid relay", "Legacy scanner"])
    assert alert is not None
    assert alert.created == datetime(2026, 11, 28, 6, 10, 0, 123000, tzinfo=UTC)
    mentions = json.dumps(evidence)
    assert ("Hybrid relay" in alert.connectors) == ("Hybrid relay" in mentions)
    assert ("203.0.113.66" in alert.ips) == ("203.0.113.66" in mentions)
    assert "Legacy scanner" not in alert.connectors


def test_other_alert_titles_and_missing_dates() -> None:
    from driftguard.investigate.alerts import alert_from

    assert alert_from({"title": "Malware campaign detected"}, []) is None
    alert = alert_from({"title": "Suspicious connector activity", "createdDateTime": 5}, [])
    assert alert is not None and alert.created is None


def test_window_dates() -> None:
    import argparse

    from driftguard.cli._investigating import parse_moment, parse_until, window

    assert parse_until("2026-11-29") == datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_until("2026-11-29T00:00:00Z") == datetime(2026, 11, 29, tzinfo=UTC)
    assert parse_moment("2026-11-29T01:00:00+01:00") == datetime(2026, 11, 29, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_moment("29/11/2026")
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    args = argparse.Namespace(since=None, until=None, tenants=["contoso"])
    assert window(args, now) == (now - timedelta(days=30), now)
