"""Facts every human-facing renderer shows the same way: order, counts, headlines, groups.

Pure functions of the report model; the renderers only decide how to draw them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from driftguard.investigation import Investigation, moment
from driftguard.model import (
    AuditEvent,
    Finding,
    FindingKind,
    Report,
    Severity,
    Status,
    TenantReport,
)

SEVERITIES: tuple[Severity, ...] = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
)

KIND_TITLES: dict[FindingKind, str] = {
    FindingKind.UNKNOWN: "unknown connector",
    FindingKind.MISSING: "missing connector",
    FindingKind.CHANGED: "changed property",
    FindingKind.BLOCKED: "blocked connector",
}

STATUS_TITLES: dict[Status, str] = {
    Status.OK: "no drift",
    Status.DRIFT: "drift",
    Status.ERROR: "error",
}


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first; then connector, kind and field, so output is stable run to run."""
    return sorted(
        findings,
        key=lambda f: (-f.severity.rank, f.connector.lower(), f.kind.value, f.field or ""),
    )


def severity_counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def worst(findings: Iterable[Finding]) -> Severity | None:
    ranked = by_severity(findings)
    return ranked[0].severity if ranked else None


@dataclass(frozen=True)
class ConnectorGroup:
    """The findings of one connector of one tenant, for side-by-side views."""

    name: str
    guid: str | None
    findings: tuple[Finding, ...]

    @property
    def kinds(self) -> frozenset[FindingKind]:
        return frozenset(f.kind for f in self.findings)

    @property
    def severity(self) -> Severity:
        return self.findings[0].severity


def by_connector(findings: Sequence[Finding]) -> list[ConnectorGroup]:
    """Findings grouped by connector (Guid when known, else name), worst connector first."""
    groups: dict[str, list[Finding]] = {}
    for finding in by_severity(findings):
        key = finding.guid or f"name:{finding.connector.lower()}"
        groups.setdefault(key, []).append(finding)
    return [
        ConnectorGroup(name=items[0].connector, guid=items[0].guid, findings=tuple(items))
        for items in groups.values()
    ]


def totals(report: Report) -> dict[str, int]:
    """Tenants per status and findings per severity over the whole report."""
    out = {status.value: 0 for status in Status}
    for tenant in report.tenants:
        out[tenant.status.value] += 1
    for severity, count in severity_counts(f for t in report.tenants for f in t.findings).items():
        out[severity.value] = count
    out["suppressed"] = sum(len(t.suppressed) for t in report.tenants)
    return out


def attention(tenant: TenantReport) -> tuple[int, ...]:
    """Sort key putting the tenants that need a look first: those that could not be checked (no
    verdict), then drift by its findings worst first, then the rest; ties keep their order."""
    counts = severity_counts(tenant.findings)
    rank = {Status.ERROR: 0, Status.DRIFT: 1, Status.OK: 2}[tenant.status]
    return (rank, *(-counts[s] for s in SEVERITIES))


def has_details(tenant: TenantReport) -> bool:
    """Whether a tenant has anything to show beyond its row in the overview: a clean tenant with
    no warning, exception or evidence has not."""
    return tenant.status is not Status.OK or bool(
        tenant.warnings or tenant.suppressed or tenant.evidence
    )


def shown_time(moment: datetime) -> str:
    """A time as people read it in a report: UTC, to the second, ``Z``."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def headline(report: Report) -> str:
    """One sentence: the verdict of the whole report."""
    tenants = len(report.tenants)
    errors = sum(1 for t in report.tenants if t.status is Status.ERROR)
    drift = sum(1 for t in report.tenants if t.status is Status.DRIFT)
    findings = sum(len(t.findings) for t in report.tenants)
    noun = "tenant" if tenants == 1 else "tenants"
    if not tenants:
        return "No tenants were checked."
    parts = [f"{tenants:,} {noun} checked"]
    if drift:
        parts.append(f"{drift:,} with drift ({findings:,} finding{'s' if findings != 1 else ''})")
    if errors:
        parts.append(f"{errors:,} could not be checked")
    if not drift and not errors:
        parts.append("no drift")
    return ", ".join(parts) + "."


# --------------------------------------------------------------------------- evidence

TIMELINE_FIELDS: tuple[str, ...] = (
    "time",
    "kind",
    "actor",
    "client_ip",
    "operation",
    "connector",
    "parameters",
    "flags",
)
"""Every column a timeline row may have; ``timeline_columns`` drops those no row fills."""
COLUMN_TITLES: dict[str, str] = {
    "time": "Time",
    "kind": "Kind",
    "actor": "Actor",
    "client_ip": "Client IP",
    "operation": "Operation",
    "connector": "Connector",
    "parameters": "Parameters",
    "flags": "Flags",
}
EVENT_FIELDS: tuple[str, ...] = ("time", "actor", "client_ip", "operation", "parameters")
_OPTIONAL = frozenset({"kind", "flags"})
_MAX_TEXT = 2000


def timeline(evidence: Investigation | None) -> list[dict[str, str]]:
    """The investigation timeline as rows of plain (unescaped) strings."""
    if evidence is None:
        return []
    return [
        {
            "time": moment(entry.time),
            "kind": entry.kind.value,
            "actor": entry.actor,
            "client_ip": entry.client_ip or "",
            "operation": entry.operation,
            "connector": entry.connector,
            "parameters": _field_text(dict(entry.parameters)),
            "flags": _flags_text(list(entry.flags)),
        }
        for entry in evidence.timeline
    ]


def timeline_columns(rows: Sequence[Mapping[str, str]]) -> tuple[str, ...]:
    """The timeline columns worth showing: the optional ones only when some row fills them."""
    return tuple(
        name
        for name in TIMELINE_FIELDS
        if name not in _OPTIONAL or any(row.get(name) for row in rows)
    )


def distinct_events(findings: Iterable[Finding]) -> list[AuditEvent]:
    """The audit events of several findings, each once, newest first.

    One Set-InboundConnector that changed two properties explains two findings; a connector's card
    lists it once.
    """
    seen: dict[tuple[str, ...], AuditEvent] = {}
    for finding in findings:
        for event in finding.events:
            key = (
                (event.record_id,)
                if event.record_id
                else (event.time.isoformat(), event.actor, event.operation, event.connector)
            )
            seen.setdefault(key, event)
    return sorted(seen.values(), key=lambda e: e.time, reverse=True)


def event_row(event: AuditEvent) -> dict[str, str]:
    return {
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "kind": "",
        "actor": event.actor,
        "client_ip": event.client_ip or "",
        "operation": event.operation,
        "connector": event.connector,
        "parameters": _field_text(dict(event.parameters)),
        "flags": "",
    }


def cell_text(value: Any, limit: int = _MAX_TEXT) -> str:
    """Any evidence value as one compact plain string of at most about ``limit`` characters."""
    text = _field_text(value)
    if len(text) > limit:
        text = text[:limit] + " … (truncated; see the JSON report)"
    return text


def _flags_text(value: Any) -> str:
    """An event's flags, each label once: ``["suspect: a", "suspect: b"]`` reads
    ``suspect: a; b``, not the label twice."""
    if not isinstance(value, list | tuple):
        return _field_text(value)
    reasons: dict[str, list[str]] = {}
    for flag in value:
        label, sep, reason = _field_text(flag).partition(": ")
        known = reasons.setdefault(label, [])
        if sep and reason not in known:
            known.append(reason)
    return ", ".join(
        f"{label}: {'; '.join(items)}" if items else label for label, items in reasons.items()
    )


def _field_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value[: _MAX_TEXT * 4]
    if isinstance(value, Mapping):
        return "; ".join(f"{k}={_field_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_field_text(v) for v in value)
    return json.dumps(value, default=str, ensure_ascii=False)
