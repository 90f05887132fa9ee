"""A connector's card lists each audit event once, however many findings it explains."""

from __future__ import annotations

from datetime import UTC, datetime

from driftguard.model import (
    AuditEvent,
    Finding,
    FindingKind,
    Report,
    Severity,
    Status,
    TenantReport,
)
from driftguard.report.html_format import render
from driftguard.report.summary import distinct_events


def _event(minute: int, record_id: str | None) -> AuditEvent:
    return AuditEvent(
        time=datetime(2026, 11, 28, 2, minute, tzinfo=UTC),
        actor="intruder@contoso.onmicrosoft.com",
        client_ip="203.0.113.66",
        operation="Set-InboundConnector",
        connector="Hybrid relay",
        parameters={"TreatMessagesAsInternal": "True"},
        record_id=record_id,
    )


def _finding(field: str, *events: AuditEvent) -> Finding:
    return Finding(
        kind=FindingKind.CHANGED,
        connector="Hybrid relay",
        guid="ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9",
        severity=Severity.CRITICAL,
        reason="changed",
        field=field,
        events=events,
    )


def test_shared_event_is_listed_once_newest_first() -> None:
    shared, older = _event(41, "rec-2"), _event(12, None)
    findings = [_finding("SenderIPAddresses", shared), _finding("RequireTls", shared, older)]
    assert distinct_events(findings) == [shared, older]


def test_html_card_shows_the_shared_event_once() -> None:
    shared = _event(41, "rec-2")
    tenant = TenantReport(
        tenant="demo",
        status=Status.DRIFT,
        findings=(_finding("SenderIPAddresses", shared), _finding("RequireTls", shared)),
    )
    html = render(Report(generated_at=datetime(2026, 11, 29, tzinfo=UTC), tenants=(tenant,)))
    assert html.count("2026-11-28T02:41:00Z") == 1
