"""One investigation per tenant: findings explained, blocked state, mail flow, alerts, a timeline.

Pure: the evidence has been gathered (live, from files, or not at all) and is passed in; the
result is the tenant's report with ``events`` on each finding, ``blocked`` findings added and its
``Investigation`` (driftguard.investigation) as ``evidence``.

Timeline entries share the report's event fields (time, actor, client_ip, operation, connector,
parameters) plus ``kind`` (audit, blocked, spike, alert) and ``flags``; oldest first. The timeline
is for connectors: audit events are shown when they are connector operations or explain a
finding; the rest of a full audit export (sign-ins, SharePoint...) is counted in
``other_audit_events``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time

from driftguard.investigate.accountmodel import AccountsSection
from driftguard.investigate.alerts import Alert, alert_entry
from driftguard.investigate.attribution import Attribution, attribute
from driftguard.investigate.auditrecords import is_timeline_operation
from driftguard.investigate.blocked import BlockedConnector, blocked_entries, blocked_findings
from driftguard.investigate.messagetrace import (
    HISTORY_DAYS,
    MIN_EXCESS,
    MIN_HISTORY_DAYS,
    Z_THRESHOLD,
    MailFlow,
)
from driftguard.investigation import (
    ActorEntry,
    AttributionEntry,
    AuditDetail,
    DayEntry,
    EntryKind,
    HuntingSection,
    Investigation,
    MailFlowSection,
    SpikeEntry,
    SpikeRule,
    TimelineEntry,
)
from driftguard.model import AuditEvent, Connector, Finding, Status, TenantConfig, TenantReport

MAX_TIMELINE = 2000


@dataclass(frozen=True)
class Evidence:
    """What was gathered for one tenant; ``None`` = that source was not available."""

    audit: Sequence[AuditEvent] | None = None
    blocked: Sequence[BlockedConnector] | None = None
    mail_flow: MailFlow | None = None
    alerts: Sequence[Alert] | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    skipped: Sequence[str] = ()  # "path:line:col: message" of skipped rows (the first ones)
    skipped_count: int = 0
    warnings: Sequence[str] = ()  # about the inputs (a filtered audit save), not suspicions
    accounts: AccountsSection | None = None  # the admin account investigation, assessed
    hunting: HuntingSection | None = None  # Explorer's evidence (advanced hunting or export)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def investigated(
    report: TenantReport,
    config: TenantConfig,
    live: Sequence[Connector],
    evidence: Evidence,
    *,
    start: datetime,
    end: datetime,
) -> TenantReport:
    """``report`` with the investigation attached (see module docstring)."""
    if report.status is Status.ERROR:
        return report
    findings = list(report.findings)
    if evidence.blocked:
        findings.extend(blocked_findings(evidence.blocked, live))
    changed_at = _changed_at(live)
    attribution: Attribution | None = None
    if evidence.audit is not None:
        attribution = attribute(
            findings, evidence.audit, config, start=start, end=end, changed_at=changed_at
        )
        findings = list(attribution.findings)
    shown, outside, other = _audit_split(attribution, evidence, start, end)
    notes = _suspicions(attribution, evidence)
    investigation = Investigation(
        since=start,
        until=end,
        timeline=_timeline(attribution, shown, evidence, live, end),
        blocked=blocked_entries(evidence.blocked, live) if evidence.blocked is not None else None,
        mail_flow=_mail_flow(evidence.mail_flow) if evidence.mail_flow else None,
        alerts=(
            tuple(alert_entry(a) for a in evidence.alerts) if evidence.alerts is not None else None
        ),
        attribution=_attribution(attribution) if attribution else None,
        actors=_actors(attribution) if attribution else None,
        audit_events_outside_window=outside,
        other_audit_events=other,
        skipped_rows=evidence.skipped_count,
        skipped=tuple(evidence.skipped),
        sources=dict(evidence.sources),
        suspicious=bool(findings or notes),
        accounts=evidence.accounts,
        hunting=evidence.hunting,
    )
    # The report's status stays about findings (drift needs at least one); what else looks
    # wrong is said in the warnings and marks the evidence suspicious (investigate exits 2).
    status = Status.DRIFT if findings else Status.OK
    return replace(
        report,
        status=status,
        findings=tuple(findings),
        warnings=(
            *report.warnings,
            *(f"{report.tenant}: {w}" for w in evidence.warnings),
            *(f"{report.tenant}: {n}" for n in notes),
        ),
        evidence=investigation,
    )


def _suspicions(attribution: Attribution | None, evidence: Evidence) -> list[str]:
    notes: list[str] = []
    for flag in attribution.actors if attribution else ():
        notes.append(
            f"possibly compromised admin account {flag.actor!r}: {'; '.join(flag.reasons)}"
        )
    for spike in evidence.mail_flow.spikes if evidence.mail_flow else ():
        notes.append(f"mail volume spike: {spike.describe()}")
    for alert in evidence.alerts or ():
        when = _z(alert.created) if alert.created else "unknown time"
        notes.append(f"alert {alert.title!r} ({alert.severity}) at {when}")
    for account in evidence.accounts.flagged if evidence.accounts else ():
        kinds = ", ".join(f.kind.value for f in account.flags)
        notes.append(f"admin account {account.actor!r} flagged: {kinds}")
    for connector in evidence.hunting.connectors if evidence.hunting else ():
        if connector.reasons:
            notes.append(
                f"hunting: connector {connector.connector!r}: {'; '.join(connector.reasons)}"
            )
    return notes


def _changed_at(live: Sequence[Connector]) -> dict[str, datetime]:
    from driftguard.investigate.auditlog import AuditRecordError, parse_time

    out: dict[str, datetime] = {}
    for connector in live:
        raw = connector.other.get("WhenChangedUTC") or connector.other.get("WhenChanged")
        if not raw:
            continue
        try:
            when = parse_time(raw)
        except AuditRecordError:
            continue
        out[connector.name.lower()] = when
        if connector.guid:
            out[connector.guid.lower()] = when
    return out


def explanation(finding: Finding, attribution: Attribution) -> str:
    """One line naming who changed ``finding`` (for ``diff --explain`` text)."""
    if not finding.events:
        for item in attribution.unattributed:
            if item.finding == replace(finding, events=()):
                return item.note
        return "no audit record explains this"
    last = finding.events[0]
    where = f" from {last.client_ip}" if last.client_ip else ""
    return f"{last.operation} by {last.actor}{where} at {_z(last.time)}"


# --------------------------------------------------------------------------- sections


def _event_entry(event: AuditEvent, flags: Sequence[str]) -> TimelineEntry:
    return TimelineEntry(
        time=event.time,
        kind=EntryKind.AUDIT,
        connector=event.connector,
        actor=event.actor,
        client_ip=event.client_ip,
        operation=event.operation,
        parameters=dict(event.parameters),
        flags=tuple(flags),
        audit=AuditDetail(event.app_id, event.succeeded, event.external_access),
    )


def _audit_split(
    attribution: Attribution | None, evidence: Evidence, start: datetime, end: datetime
) -> tuple[list[AuditEvent], int, int]:
    """The audit events the timeline shows (connector operations and events tied to a finding
    or a flagged actor, inside the window), the connector events outside the window, and the
    count of the other events."""
    tied: set[int] = set()
    for finding in attribution.findings if attribution else ():
        tied.update(id(e) for e in finding.events)
    for flag in attribution.actors if attribution else ():
        tied.update(id(e) for e in flag.events)
    shown: list[AuditEvent] = []
    outside = other = 0
    for event in evidence.audit or ():
        if not (is_timeline_operation(event) or id(event) in tied):
            other += 1
        elif start <= event.time <= end:
            shown.append(event)
        else:
            outside += 1
    return shown, outside, other


def _timeline(
    attribution: Attribution | None,
    shown: Sequence[AuditEvent],
    evidence: Evidence,
    live: Sequence[Connector],
    end: datetime,
) -> tuple[TimelineEntry, ...]:
    from driftguard.investigate.blocked import NDR, match_live

    entries: list[TimelineEntry] = []
    flags: dict[int, list[str]] = {}
    for flag in attribution.actors if attribution else ():
        for event in flag.events:
            flags[id(event)] = [f"possibly compromised admin account: {r}" for r in flag.reasons]
    entries.extend(_event_entry(event, flags.get(id(event), ())) for event in shown)
    for block in evidence.blocked or ():
        connector = match_live(block, live)
        entries.append(
            TimelineEntry(
                time=block.created or end,
                kind=EntryKind.BLOCKED,
                connector=connector.name if connector else block.label,
                actor="Exchange Online",
                client_ip=None,
                operation="Connector blocked by the service",
                parameters={"Reason": block.reason or "", "NDR": NDR},
            )
        )
    for spike in evidence.mail_flow.spikes if evidence.mail_flow is not None else ():
        entries.append(
            TimelineEntry(
                time=datetime.combine(spike.day, time(0), tzinfo=UTC),
                kind=EntryKind.SPIKE,
                connector=spike.connector,
                actor="",
                client_ip=None,
                operation="Mail volume spike",
                parameters={
                    "volume": str(spike.volume),
                    "median": f"{spike.median:g}",
                    "robust_z": f"{spike.score:.1f}",
                },
                flags=(spike.describe(),),
            )
        )
    for alert in evidence.alerts or ():
        entries.append(
            TimelineEntry(
                time=alert.created or end,
                kind=EntryKind.ALERT,
                connector=", ".join(alert.connectors),
                actor="Microsoft Defender for Office 365",
                client_ip=alert.ips[0] if alert.ips else None,
                operation=f"Alert: {alert.title}",
                parameters={"severity": alert.severity, "status": alert.status},
            )
        )
    entries.sort(key=lambda e: (_z(e.time), e.kind.value))
    return tuple(entries[-MAX_TIMELINE:])


def _mail_flow(flow: MailFlow) -> MailFlowSection:
    return MailFlowSection(
        rows=flow.rows,
        duplicates_dropped=flow.duplicates,
        unattributed_rows=flow.unmatched,
        rows_outside_window=flow.outside_window,
        skipped_rows=flow.skipped_count,
        connectors={
            name: tuple(
                DayEntry(
                    day=day,
                    volume=stats.volume,
                    spam=stats.spam,
                    spam_share=round(stats.spam_share, 4),
                    outside_senders=stats.outside_senders,
                    outside_domains=dict(
                        sorted(stats.outside_domains.items(), key=lambda kv: (-kv[1], kv[0]))
                    ),
                    other_outside_domains=stats.other_outside_domains,
                )
                for day, stats in days.items()
            )
            for name, days in flow.per_connector.items()
        },
        spikes=tuple(
            SpikeEntry(
                connector=s.connector,
                day=s.day,
                volume=s.volume,
                median=float(s.median),
                mad=float(s.mad),
                robust_z=round(s.score, 2),
            )
            for s in flow.spikes
        ),
        spike_rule=SpikeRule(
            history_days=HISTORY_DAYS,
            min_history_days=MIN_HISTORY_DAYS,
            robust_z_threshold=float(Z_THRESHOLD),
            min_excess_messages=MIN_EXCESS,
        ),
    )


def _attribution(attribution: Attribution) -> tuple[AttributionEntry, ...]:
    notes = {u.index: u.note for u in attribution.unattributed}
    return tuple(
        AttributionEntry(
            kind=finding.kind,
            connector=finding.connector,
            field=finding.field,
            events=attribution.matched[index],
            attributed=index not in notes,
            note=notes.get(index),
            actors=tuple(sorted({e.actor for e in finding.events})),
        )
        for index, finding in enumerate(attribution.findings)
        if index in attribution.matched  # not blocked: the service's doing
    )


def _actors(attribution: Attribution) -> tuple[ActorEntry, ...]:
    return tuple(
        ActorEntry(
            actor=flag.actor,
            verdict="possibly compromised admin account",
            reasons=tuple(flag.reasons),
            client_ips=tuple(flag.client_ips),
            events=len(flag.events),
            last=flag.events[0].time,
        )
        for flag in attribution.actors
    )
