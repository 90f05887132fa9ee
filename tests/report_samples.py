"""Reports built directly on the model, for the renderer tests (fixed clock, every feature used)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from driftguard.investigation import (
    ActorEntry,
    AlertEntry,
    AttributionEntry,
    AuditDetail,
    BlockedEntry,
    DayEntry,
    EntryKind,
    Investigation,
    MailFlowSection,
    SpikeEntry,
    SpikeRule,
    TimelineEntry,
)
from driftguard.model import (
    AuditEvent,
    Finding,
    FindingKind,
    IgnoreEntry,
    Location,
    Report,
    Severity,
    Status,
    Suppressed,
    TenantReport,
)

GENERATED_AT = datetime(2026, 11, 29, 21, 0, 0, tzinfo=UTC)
HYBRID_GUID = "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9"
FABRIKAM_GUID = "3f9e2c1a-7b6d-4c5e-8a90-1d2e3f4a5b6c"
HYBRID_FILE = "baseline/contoso/inbound/hybrid-relay.yaml"

EVENT = AuditEvent(
    time=datetime(2026, 11, 28, 2, 41, 37, tzinfo=UTC),
    actor="helpdesk-temp@contoso.com",
    client_ip="203.0.113.50",
    operation="Set-InboundConnector",
    connector="Hybrid relay",
    parameters={"SenderIPAddresses": "198.51.100.0/24;203.0.113.0/24"},
)


def drift_tenant() -> TenantReport:
    findings = (
        Finding(
            kind=FindingKind.CHANGED,
            connector="Hybrid relay",
            guid=HYBRID_GUID,
            severity=Severity.CRITICAL,
            reason="An IP range outside the trusted ranges may now send as the organisation.",
            field="SenderIPAddresses",
            baseline=("198.51.100.0/24",),
            live=("198.51.100.0/24", "203.0.113.0/24"),
            added=("203.0.113.0/24",),
            location=Location(HYBRID_FILE, 6, 1),
            events=(EVENT,),
        ),
        Finding(
            kind=FindingKind.CHANGED,
            connector="Hybrid relay",
            guid=HYBRID_GUID,
            severity=Severity.HIGH,
            reason="Mail on this connector now bypasses spam filtering as internal mail.",
            field="TreatMessagesAsInternal",
            baseline=False,
            live=True,
            location=Location(HYBRID_FILE, 10, 1),
        ),
        Finding(
            kind=FindingKind.UNKNOWN,
            connector="Partner relay 2",
            guid="0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
            severity=Severity.CRITICAL,
            reason="An OnPremises connector nobody approved accepts mail from any domain.",
        ),
        Finding(
            kind=FindingKind.MISSING,
            connector="Legacy scanner",
            guid="9c8b7a65-4d3e-4f21-9a0b-c1d2e3f4a5b7",
            severity=Severity.LOW,
            reason="An approved connector was removed.",
            location=Location("baseline/contoso/inbound/legacy-scanner.yaml", 2, 1),
        ),
        Finding(
            kind=FindingKind.CHANGED,
            connector="Fabrikam partner TLS",
            guid=FABRIKAM_GUID,
            severity=Severity.MEDIUM,
            reason="The comment changed.",
            field="Comment",
            baseline="Partner mail from Fabrikam",
            live=None,
            location=Location("baseline/contoso/inbound/fabrikam-partner.yaml", 9, 1),
        ),
    )
    suppressed = (
        Suppressed(
            finding=Finding(
                kind=FindingKind.CHANGED,
                connector="Fabrikam partner TLS",
                guid=FABRIKAM_GUID,
                severity=Severity.LOW,
                reason="The certificate name changed.",
                field="TlsSenderCertificateName",
                baseline="mail.fabrikam.com",
                live="mx.fabrikam.com",
                location=Location("baseline/contoso/inbound/fabrikam-partner.yaml", 8, 1),
            ),
            entry=IgnoreEntry(
                tenant="contoso",
                connector="Fabrikam partner TLS",
                field="TlsSenderCertificateName",
                reason="Fabrikam rotates to mx during their migration",
                owner="secops@contoso.com",
                expires=date(2026, 12, 31),
            ),
        ),
    )
    return TenantReport(
        tenant="contoso",
        status=Status.DRIFT,
        findings=findings,
        suppressed=suppressed,
        warnings=("Hybrid relay: unknown property SenderCertificateIssuer is set",),
        evidence=Investigation(
            since=datetime(2026, 11, 22, tzinfo=UTC),
            until=GENERATED_AT,
            timeline=(
                TimelineEntry(
                    time=datetime(2026, 11, 28, 2, 41, 37, tzinfo=UTC),
                    kind=EntryKind.AUDIT,
                    connector="Partner relay 2",
                    actor="helpdesk-temp@contoso.com",
                    client_ip="203.0.113.50",
                    operation="New-InboundConnector",
                    parameters={"ConnectorType": "OnPremises", "SenderDomains": "*"},
                    flags=("possibly compromised admin account: not in admins",),
                    audit=AuditDetail(app_id=None, succeeded=True, external_access=False),
                ),
                TimelineEntry(
                    time=datetime(2026, 11, 28, 6, 0, tzinfo=UTC),
                    kind=EntryKind.BLOCKED,
                    connector="Partner relay 2",
                    actor="Exchange Online",
                    client_ip=None,
                    operation="Connector blocked by the service",
                    parameters={"Reason": "spam relay"},
                ),
            ),
            blocked=(
                BlockedEntry(
                    connector="Partner relay 2",
                    connector_id=None,
                    guid=None,
                    reason="spam relay",
                    created=datetime(2026, 11, 28, 6, 0, tzinfo=UTC),
                    expires=None,
                    ndr="550 5.7.711 Access denied, bad inbound connector. AS(2204)",
                ),
            ),
            mail_flow=None,
            alerts=(),
            attribution=(),
            actors=(
                ActorEntry(
                    actor="helpdesk-temp@contoso.com",
                    verdict="possibly compromised admin account",
                    reasons=("not in admins",),
                    client_ips=("203.0.113.50",),
                    events=1,
                    last=datetime(2026, 11, 28, 2, 41, 37, tzinfo=UTC),
                ),
            ),
            audit_events_outside_window=0,
            other_audit_events=0,
            skipped_rows=0,
            skipped=(),
            sources={"audit": "exchange:Search-UnifiedAuditLog", "message_trace": "not requested"},
            suspicious=True,
        ),
    )


def clean_tenant() -> TenantReport:
    return TenantReport(tenant="fabrikam", status=Status.OK)


def error_tenant() -> TenantReport:
    return TenantReport(
        tenant="northwind",
        status=Status.ERROR,
        error="the service returned a truncated list of connectors; not a verdict",
    )


def sample_report() -> Report:
    return Report(
        generated_at=GENERATED_AT,
        tenants=(drift_tenant(), clean_tenant(), error_tenant()),
    )


HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[click](https://evil.example/x) ![img](https://evil.example/p.png) "
    "]]> <![CDATA[x]]> \x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 "
    "line1\nline2\r\n| pipe | `code` *em* _u_ # h "
    "\u202eevil\u202c \u2066iso\u2069 www.evil.example a@evil.example "
    "&amp; &#60; \" ' \x00\x07\x7f\x9b"
)


def hostile_report() -> Report:
    """Every untrusted string in the model set to text that tries to break out of its format."""
    h = HOSTILE
    finding = Finding(
        kind=FindingKind.CHANGED,
        connector=f"Hybrid {h}",
        guid=HYBRID_GUID,
        severity=Severity.CRITICAL,
        reason=f"reason {h}",
        field="Comment",
        baseline=f"old {h}",
        live=f"new {h}",
        location=Location(HYBRID_FILE, 11, 1),
        events=(
            AuditEvent(
                time=GENERATED_AT,
                actor=f"actor {h}",
                client_ip=f"ip {h}",
                operation=f"op {h}",
                connector=f"conn {h}",
                parameters={f"k {h}": f"v {h}"},
            ),
        ),
    )
    unknown = Finding(
        kind=FindingKind.UNKNOWN,
        connector=f"Unknown {h}",
        guid=None,
        severity=Severity.HIGH,
        reason=f"unknown {h}",
    )
    listy = Finding(
        kind=FindingKind.CHANGED,
        connector=f"Listy {h}",
        guid=None,
        severity=Severity.MEDIUM,
        reason="list",
        field="SenderDomains",
        baseline=(f"a {h}",),
        live=(f"b {h}",),
        added=(f"b {h}",),
        removed=(f"a {h}",),
    )
    tenant = TenantReport(
        tenant="contoso",
        status=Status.DRIFT,
        findings=(finding, unknown, listy),
        suppressed=(
            Suppressed(
                finding=unknown,
                entry=IgnoreEntry(
                    tenant="contoso",
                    connector=f"Unknown {h}",
                    field=None,
                    reason=f"because {h}",
                    owner=f"owner {h}",
                    expires=None,
                ),
            ),
        ),
        warnings=(f"warning {h}",),
        evidence=hostile_investigation(h),
    )
    broken = TenantReport(tenant="northwind", status=Status.ERROR, error=f"error {h}")
    return Report(generated_at=GENERATED_AT, tenants=(tenant, broken))


def hostile_investigation(h: str) -> Investigation:
    """An investigation with ``h`` in every free-text value and key it has."""
    moment = datetime(2026, 11, 28, 2, 41, 37, tzinfo=UTC)
    return Investigation(
        since=datetime(2026, 11, 22, tzinfo=UTC),
        until=GENERATED_AT,
        timeline=tuple(
            TimelineEntry(
                time=moment,
                kind=kind,
                connector=f"c {h}",
                actor=f"a {h}",
                client_ip=f"i {h}",
                operation=f"o {h}",
                parameters={f"p {h}": f"v {h}"},
                flags=(f"f {h}",),
                audit=AuditDetail(f"app {h}", True, False) if kind is EntryKind.AUDIT else None,
            )
            for kind in EntryKind
        ),
        blocked=(BlockedEntry(f"c {h}", f"id {h}", f"g {h}", f"r {h}", moment, None, f"ndr {h}"),),
        mail_flow=MailFlowSection(
            rows=3,
            duplicates_dropped=0,
            unattributed_rows=0,
            rows_outside_window=0,
            skipped_rows=0,
            connectors={f"c {h}": (DayEntry(moment.date(), 3, 1, 0.3333, 2, {f"d {h}": 2}, 1),)},
            spikes=(SpikeEntry(f"c {h}", moment.date(), 3, 1.0, 0.5, 4.2),),
            spike_rule=SpikeRule(14, 7, 3.5, 20),
        ),
        alerts=(
            AlertEntry(
                f"id {h}",
                f"t {h}",
                f"s {h}",
                f"st {h}",
                moment,
                (f"c {h}",),
                (f"ip {h}",),
                f"u {h}",
            ),
        ),
        attribution=(
            AttributionEntry(
                FindingKind.CHANGED, f"c {h}", f"f {h}", 1, False, f"n {h}", (f"a {h}",)
            ),
        ),
        actors=(ActorEntry(f"a {h}", f"v {h}", (f"r {h}",), (f"ip {h}",), 1, moment),),
        audit_events_outside_window=0,
        other_audit_events=0,
        skipped_rows=1,
        skipped=(f"s {h}",),
        sources={f"k {h}": f"v {h}"},
        suspicious=True,
    )
