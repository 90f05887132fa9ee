"""One self-contained HTML file: what an MSP hands a customer after the nightly run.

jinja2 with autoescape on renders ``templates/report.html.j2``; every ``{{ }}`` output also passes
``textsafe.strip_controls`` (the environment's ``finalize``), so bidi overrides and escape sequences
from attacker-set connector fields never reach the page. The page has no script, loads nothing
(inline CSS, a Content-Security-Policy of ``default-src 'none'``) and prints cleanly.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from driftguard import __version__
from driftguard.model import Finding, Location, Report, TenantReport
from driftguard.report.bounds import bounded
from driftguard.report.escape import value_text
from driftguard.report.evidence import evidence_view
from driftguard.report.summary import (
    COLUMN_TITLES,
    EVENT_FIELDS,
    KIND_TITLES,
    SEVERITIES,
    STATUS_TITLES,
    attention,
    by_connector,
    by_severity,
    distinct_events,
    event_row,
    has_details,
    headline,
    severity_counts,
    shown_time,
    timeline,
    timeline_columns,
    totals,
)
from driftguard.textsafe import one_line, strip_controls

if TYPE_CHECKING:
    import jinja2

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
COLUMN_CLASSES: dict[str, str] = {
    "time": "mono nowrap",
    "kind": "nowrap",
    "actor": "mono col-actor",
    "client_ip": "mono nowrap",
    "operation": "word",
    "connector": "col-connector",
    "parameters": "mono col-wide",
    "flags": "col-wide",
}
"""CSS classes per timeline column: short tokens never wrap, free text wraps anywhere."""
EVENT_CLASSES: dict[str, str] = {**COLUMN_CLASSES, "operation": "mono nowrap"}
"""CSS classes per column of a connector's audit events, whose operations are cmdlet names."""


def render(report: Report) -> str:
    report = bounded(report)
    template = _environment().get_template("report.html.j2")
    # Tenants that need a look first; the anchors keep the report's numbering.
    order = sorted(range(len(report.tenants)), key=lambda i: attention(report.tenants[i]))
    shown = [i for i in order if has_details(report.tenants[i])]
    quiet = [report.tenants[i].tenant for i in order if not has_details(report.tenants[i])]
    return template.render(
        report=report,
        generated=shown_time(report.generated_at),
        headline=headline(report),
        totals=totals(report),
        tenants=[_tenant_view(report.tenants[i], f"tenant-{i + 1}") for i in shown],
        quiet=quiet,
        severities=[s.value for s in SEVERITIES],
        event_fields=EVENT_FIELDS,
        titles=COLUMN_TITLES,
        column_classes=COLUMN_CLASSES,
        event_classes=EVENT_CLASSES,
        version=__version__,
    )


def _tenant_view(tenant: TenantReport, anchor: str) -> dict[str, Any]:
    counts = severity_counts(tenant.findings)
    rows = timeline(tenant.evidence)
    return {
        "name": tenant.tenant,
        "status": tenant.status.value,
        "status_title": STATUS_TITLES[tenant.status],
        "anchor": anchor,
        "error": tenant.error,
        "counts": {s.value: n for s, n in counts.items()},
        "findings": [_finding_view(f) for f in by_severity(tenant.findings)],
        "connectors": [
            {
                "name": group.name,
                "guid": group.guid,
                "severity": group.severity.value,
                "kinds": sorted(KIND_TITLES[k] for k in group.kinds),
                "rows": [_finding_view(f) for f in group.findings],
                "events": [event_row(e) for e in distinct_events(group.findings)],
            }
            for group in by_connector(tenant.findings)
        ],
        "warnings": list(tenant.warnings),
        "suppressed": [
            {
                "finding": _finding_view(s.finding),
                "reason": s.entry.reason or "",
                "owner": s.entry.owner or "",
                "expires": s.entry.expires.isoformat() if s.entry.expires else "",
            }
            for s in tenant.suppressed
        ],
        "timeline": rows,
        "timeline_columns": timeline_columns(rows),
        "evidence": evidence_view(tenant.evidence),
    }


def _finding_view(finding: Finding) -> dict[str, Any]:
    return {
        "kind": finding.kind.value,
        "kind_title": KIND_TITLES[finding.kind],
        "connector": finding.connector,
        "guid": finding.guid,
        "severity": finding.severity.value,
        "reason": finding.reason,
        "field": finding.field,
        "baseline": value_text(finding.baseline) if finding.field else "",
        "live": value_text(finding.live) if finding.field else "",
        "added": list(finding.added),
        "removed": list(finding.removed),
        "location": _short_location(finding.location),
        "location_full": str(finding.location) if finding.location else "",
    }


def _short_location(location: Location | None) -> str:
    """``file.yaml:7``: the baseline file by name and line; the full path goes in a title."""
    if location is None:
        return ""
    name = location.path.replace("\\", "/").rsplit("/", 1)[-1] or location.path
    return f"{name}:{location.line}"


def _finalize(value: Any) -> Any:
    return strip_controls(value) if isinstance(value, str) else value


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("driftguard.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["one_line"] = one_line
    return env
