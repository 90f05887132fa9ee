"""One investigation per tenant: findings explained, blocked state, mail flow, alerts, a timeline.

Pure: the evidence has been gathered (live, from files, or not at all) and is passed in; the
result is the tenant's report with ``events`` on each finding, ``blocked`` findings added and a
JSON-ready ``evidence`` section::

    {"window": {"since", "until"}, "timeline": [...], "blocked": [...], "mail_flow": {...},
     "alerts": [...], "attribution": [...], "actors": [...], "audit_events_outside_window": N,
     "other_audit_events": N, "skipped_rows": N,
     "skipped": ["path:line:1: row skipped: ..."], "sources": {...}}

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
from typing import Any

from driftguard.investigate.alerts import Alert, alert_json
from driftguard.investigate.attribution import Attribution, attribute
from driftguard.investigate.auditrecords import is_timeline_operation
from driftguard.investigate.blocked import BlockedConnector, blocked_findings, blocked_json
from driftguard.investigate.messagetrace import (
    HISTORY_DAYS,
    MIN_EXCESS,
    MIN_HISTORY_DAYS,
    Z_THRESHOLD,
    MailFlow,
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
    data: dict[str, Any] = {
        "window": {"since": _z(start), "until": _z(end)},
        "timeline": _timeline(attribution, shown, evidence, live, end),
        "blocked": blocked_json(evidence.blocked, live) if evidence.blocked is not None else None,
        "mail_flow": _mail_flow(evidence.mail_flow) if evidence.mail_flow else None,
        # Messages per connector over the window: plan's safety check reads this.
        "recent_messages": _recent(evidence.mail_flow) if evidence.mail_flow else None,
        "alerts": [alert_json(a) for a in evidence.alerts] if evidence.alerts is not None else None,
        "attribution": _attribution(attribution) if attribution else None,
        "actors": _actors(attribution) if attribution else None,
        "audit_events_outside_window": outside,
        # Sign-ins, SharePoint, mailbox... events of a full export: counted, not shown.
        "other_audit_events": other,
        "skipped_rows": evidence.skipped_count,
        "skipped": list(evidence.skipped),
        "sources": dict(evidence.sources),
    }
    notes = _suspicions(attribution, evidence)
    data["suspicious"] = bool(findings or notes)
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
        evidence=data,
    )


def is_suspicious(report: TenantReport) -> bool:
    """Whether an investigated tenant has findings or other suspicious evidence."""
    return bool(report.findings) or report.suspicious


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


def _event_entry(event: AuditEvent, flags: Sequence[str]) -> dict[str, Any]:
    return {
        "time": _z(event.time),
        "kind": "audit",
        "connector": event.connector,
        "actor": event.actor,
        "client_ip": event.client_ip,
        "operation": event.operation,
        "parameters": dict(event.parameters),
        "app_id": event.app_id,
        "succeeded": event.succeeded,
        "external_access": event.external_access,
        "flags": list(flags),
    }


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
) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    flags: dict[int, list[str]] = {}
    for flag in attribution.actors if attribution else ():
        for event in flag.events:
            flags[id(event)] = [f"possibly compromised admin account: {r}" for r in flag.reasons]
    entries.extend(_event_entry(event, flags.get(id(event), ())) for event in shown)
    for block in evidence.blocked or ():
        from driftguard.investigate.blocked import NDR, match_live

        connector = match_live(block, live)
        entries.append(
            {
                "time": _z(block.created) if block.created else _z(end),
                "kind": "blocked",
                "connector": connector.name if connector else block.label,
                "actor": "Exchange Online",
                "client_ip": None,
                "operation": "Connector blocked by the service",
                "parameters": {"Reason": block.reason or "", "NDR": NDR},
                "flags": [],
            }
        )
    if evidence.mail_flow is not None:
        for spike in evidence.mail_flow.spikes:
            entries.append(
                {
                    "time": _z(datetime.combine(spike.day, time(0), tzinfo=UTC)),
                    "kind": "spike",
                    "connector": spike.connector,
                    "actor": "",
                    "client_ip": None,
                    "operation": "Mail volume spike",
                    "parameters": {
                        "volume": str(spike.volume),
                        "median": f"{spike.median:g}",
                        "robust_z": f"{spike.score:.1f}",
                    },
                    "flags": [spike.describe()],
                }
            )
    for alert in evidence.alerts or ():
        entries.append(
            {
                "time": _z(alert.created) if alert.created else _z(end),
                "kind": "alert",
                "connector": ", ".join(alert.connectors),
                "actor": "Microsoft Defender for Office 365",
                "client_ip": alert.ips[0] if alert.ips else None,
                "operation": f"Alert: {alert.title}",
                "parameters": {"severity": alert.severity, "status": alert.status},
                "flags": [],
            }
        )
    entries.sort(key=lambda e: (e["time"], e["kind"]))
    if len(entries) > MAX_TIMELINE:
        entries = entries[-MAX_TIMELINE:]
    return entries


def _recent(flow: MailFlow) -> dict[str, int]:
    return {
        name: sum(stats.volume for stats in days.values())
        for name, days in flow.per_connector.items()
    }


def _mail_flow(flow: MailFlow) -> dict[str, Any]:
    connectors: dict[str, Any] = {}
    for name, days in flow.per_connector.items():
        connectors[name] = [
            {
                "day": day.isoformat(),
                "volume": stats.volume,
                "spam": stats.spam,
                "spam_share": round(stats.spam_share, 4),
                "outside_senders": stats.outside_senders,
                "outside_domains": dict(
                    sorted(stats.outside_domains.items(), key=lambda kv: (-kv[1], kv[0]))
                ),
                "other_outside_domains": stats.other_outside_domains,
            }
            for day, stats in days.items()
        ]
    return {
        "rows": flow.rows,
        "duplicates_dropped": flow.duplicates,
        "unattributed_rows": flow.unmatched,
        "rows_outside_window": flow.outside_window,
        "skipped_rows": flow.skipped_count,
        "connectors": connectors,
        "spikes": [
            {
                "connector": s.connector,
                "day": s.day.isoformat(),
                "volume": s.volume,
                "median": s.median,
                "mad": s.mad,
                "robust_z": round(s.score, 2),
            }
            for s in flow.spikes
        ],
        "spike_rule": {
            "history_days": HISTORY_DAYS,
            "min_history_days": MIN_HISTORY_DAYS,
            "robust_z_threshold": Z_THRESHOLD,
            "min_excess_messages": MIN_EXCESS,
        },
    }


def _attribution(attribution: Attribution) -> list[dict[str, Any]]:
    notes = {u.index: u.note for u in attribution.unattributed}
    out: list[dict[str, Any]] = []
    for index, finding in enumerate(attribution.findings):
        if index not in attribution.matched:
            continue  # blocked: the service's doing
        out.append(
            {
                "kind": str(finding.kind),
                "connector": finding.connector,
                "field": finding.field,
                "events": attribution.matched[index],
                "attributed": index not in notes,
                "note": notes.get(index),
                "actors": sorted({e.actor for e in finding.events}),
            }
        )
    return out


def _actors(attribution: Attribution) -> list[dict[str, Any]]:
    return [
        {
            "actor": flag.actor,
            "verdict": "possibly compromised admin account",
            "reasons": list(flag.reasons),
            "client_ips": list(flag.client_ips),
            "events": len(flag.events),
            "last": _z(flag.events[0].time),
        }
        for flag in attribution.actors
    ]
