"""Markdown for ``$GITHUB_STEP_SUMMARY`` and pull-request comments.

The verdict and a table of tenants come first (those that need a look first: errors, then drift
by its worst findings); each tenant's findings, warnings, suppressed findings and investigation
timeline sit in collapsed ``<details>`` blocks. The document stays under GitHub's 1 MiB summary
limit counted in bytes, ending with a line that says what was left out. Every string the report
carries from outside (connector names, values, reasons, audit data) goes through
``escape.markdown_inline`` (or ``escape.html_text`` inside raw HTML).
"""

from __future__ import annotations

from driftguard.model import Finding, Report, Status, Suppressed, TenantReport
from driftguard.report.bounds import bounded
from driftguard.report.escape import html_text, markdown_inline, value_text
from driftguard.report.evidence import EvidenceView, evidence_view
from driftguard.report.summary import (
    COLUMN_TITLES,
    KIND_TITLES,
    SEVERITIES,
    attention,
    by_severity,
    has_details,
    headline,
    severity_counts,
    shown_time,
    timeline,
    timeline_columns,
)

MAX_ROWS = 200
"""Rows per table; GitHub caps a step summary at 1 MiB, and the full data is in the JSON/HTML."""
MAX_BYTES = 1_000_000
"""The document stays under this many bytes of UTF-8: GitHub drops a step summary over 1 MiB
(1,048,576 bytes), and a connector name in Japanese takes three bytes a character."""
_CUT_ROOM = 400
"""Bytes kept free for the line that says what was left out."""

_STATUS_BADGE = {
    Status.OK: "✅ no drift",
    Status.DRIFT: "⚠️ drift",
    Status.ERROR: "❌ error",
}


def render(report: Report) -> str:
    report = bounded(report)
    md = markdown_inline
    generated = shown_time(report.generated_at)
    page = _Page(MAX_BYTES - _CUT_ROOM)
    page.add(
        [
            f"## driftguard {md(report.command)} report",
            "",
            f"**{md(headline(report))}** Generated {md(generated)}.",
            "",
        ]
    )
    # Tenants that need a look first, so that what the size limit cuts is the least urgent.
    tenants = sorted(report.tenants, key=attention)
    listed = 0
    if tenants:
        page.add(
            [
                "| Tenant | Status | Critical | High | Medium | Low | Suppressed | Warnings |",
                "|---|---|--:|--:|--:|--:|--:|--:|",
            ]
        )
        for tenant in tenants:
            if not page.add([_tenant_row(tenant)]):
                break
            listed += 1
        page.add([""])
    sections = [section for section in map(_tenant, tenants) if section]
    detailed = 0
    if listed == len(tenants):
        for section in sections:
            if not page.add(section):
                break
            detailed += 1
    cut = _cut_line(len(tenants) - listed, len(sections) - detailed)
    return "\n".join([*page.lines, *cut]).rstrip("\n") + "\n"


class _Page:
    """Lines added whole while they fit in ``limit`` bytes of UTF-8."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.lines: list[str] = []

    def add(self, lines: list[str]) -> bool:
        size = sum(len(line.encode("utf-8")) + 1 for line in lines)
        if self.size + size > self.limit:
            return False
        self.lines += lines
        self.size += size
        return True


def _tenant_row(tenant: TenantReport) -> str:
    counts = severity_counts(tenant.findings)
    cells = [markdown_inline(tenant.tenant), _STATUS_BADGE[tenant.status]]
    cells += [str(counts[s]) for s in SEVERITIES]
    cells += [str(len(tenant.suppressed)), str(len(tenant.warnings))]
    return "| " + " | ".join(cells) + " |"


def _cut_line(unlisted: int, undetailed: int) -> list[str]:
    """What the size limit left out, in one line (nothing when all of it fits)."""
    parts = []
    if unlisted:
        parts.append(f"{unlisted} tenant{'s' if unlisted != 1 else ''} from the table above")
    if undetailed:
        parts.append(f"the details of {undetailed} tenant{'s' if undetailed != 1 else ''}")
    if not parts:
        return []
    return [
        "",
        f"_Left out to stay under GitHub's 1 MiB summary limit: {' and '.join(parts)}; "
        "see the JSON or HTML report._",
    ]


def _tenant(tenant: TenantReport) -> list[str]:
    md = markdown_inline
    if not has_details(tenant):
        return []
    lines = [f"### {md(tenant.tenant)}: {_STATUS_BADGE[tenant.status]}", ""]
    if tenant.error:
        lines += [f"**Error:** {md(tenant.error)}", ""]
    if tenant.findings:
        lines += _details(
            f"{len(tenant.findings)} finding{'s' if len(tenant.findings) != 1 else ''}",
            _findings_table(tenant.findings),
            open_=tenant.status is Status.DRIFT,
        )
    if tenant.warnings:
        rows = [f"- {md(w)}" for w in tenant.warnings[:MAX_ROWS]]
        rows += _more(len(tenant.warnings))
        lines += _details(f"{len(tenant.warnings)} warning(s)", rows)
    if tenant.suppressed:
        lines += _details(f"{len(tenant.suppressed)} suppressed", _suppressed(tenant.suppressed))
    events = timeline(tenant.evidence)
    if events:
        columns = timeline_columns(events)
        header = "| " + " | ".join(COLUMN_TITLES[n] for n in columns) + " |"
        rows = [header, "|" + "---|" * len(columns)]
        rows += ["| " + " | ".join(md(e[n]) for n in columns) + " |" for e in events]
        lines += _details(f"Investigation timeline ({len(events)} events)", rows[: MAX_ROWS + 2])
    view = evidence_view(tenant.evidence)
    if view:
        lines += _details("Evidence", _evidence(view))
    return lines


def _evidence(view: EvidenceView) -> list[str]:
    """The evidence as a short list of facts and one small table per kind of evidence."""
    md = markdown_inline
    lines = [f"- **{md(k)}**: {md(v)}" for k, v in view.facts]
    if view.sources:
        sources = ", ".join(f"{md(k)}: {md(v)}" for k, v in view.sources)
        lines.append(f"- **Sources**: {sources}")
    tables: list[tuple[str, tuple[str, ...], list[list[str]]]] = [
        (
            "Actors",
            ("Actor", "Verdict", "Reasons", "Client IPs", "Events", "Last seen"),
            [
                [
                    a["actor"],
                    a["verdict"],
                    "; ".join(a["reasons"]),
                    ", ".join(a["client_ips"]),
                    a["events"],
                    a["last"],
                ]
                for a in view.actors
            ],
        ),
        (
            "Connectors blocked by Exchange Online",
            ("Connector", "Blocked since", "Expires", "Reason"),
            [[b["connector"], b["since"], b["expires"], b["reason"]] for b in view.blocked],
        ),
        (
            "Security alerts",
            ("Time", "Title", "Severity", "Status", "Connectors"),
            [
                [a["time"], a["title"], a["severity"], a["status"], ", ".join(a["connectors"])]
                for a in view.alerts
            ],
        ),
        (
            "Mail flow per connector",
            ("Connector", "Days", "Messages", "Spam share", "Outside senders", "Volume spikes"),
            [
                [
                    c["connector"],
                    str(len(c["days"])),
                    c["volume"],
                    c["spam_share"],
                    c["outside_senders"],
                    "; ".join(f"{s['day']}: {s['detail']}" for s in c["spikes"]),
                ]
                for c in view.mail_flow
            ],
        ),
        (
            "Recent messages per connector",
            ("Connector", "Messages"),
            [[r["connector"], r["messages"]] for r in view.recent_messages],
        ),
        (
            "Admin accounts (the actors of the audit trail)",
            ("Account", "Flags", "Sign-ins", "Risk", "Roles", "Security info", "Notes"),
            [
                [
                    a["actor"] + (f" ({a['name']})" if a["name"] else ""),
                    "; ".join(a["flags"]) or "none",
                    a["sign_ins"],
                    a["risk"],
                    ", ".join(a["roles"]),
                    "; ".join(a["methods"]),
                    "; ".join(a["notes"]),
                ]
                for a in view.accounts
            ],
        ),
        (
            "Explorer evidence per connector (advanced hunting)",
            (
                "Connector",
                "Days",
                "Messages",
                "Junked",
                "P1/P2 mismatched",
                "Foreign domains",
                "Outside ranges",
                "Busiest foreign senders (P1 / P2)",
                "Why suspicious",
            ),
            [
                [
                    h["connector"],
                    h["days"],
                    h["messages"],
                    h["junked"],
                    h["mismatched"],
                    h["foreign"],
                    h["outside_ranges"],
                    ", ".join(h["top_foreign"]),
                    "; ".join(h["reasons"]),
                ]
                for h in view.hunting
            ],
        ),
        (
            "Findings explained by the audit log",
            ("Connector", "Finding", "Explained", "Actors"),
            [
                [
                    a["connector"],
                    a["finding"],
                    "yes" if a["attributed"] else "no",
                    ", ".join(a["actors"]),
                ]
                for a in view.attribution
            ],
        ),
    ]
    for title, header, rows in tables:
        if not rows:
            continue
        lines += ["", f"**{md(title)}**", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows[:MAX_ROWS]]
        lines += _more(len(rows))
    return lines


def _findings_table(findings: tuple[Finding, ...]) -> list[str]:
    md = markdown_inline
    rows = [
        "| Severity | Connector | Finding | Change | Why |",
        "|---|---|---|---|---|",
    ]
    for finding in by_severity(findings)[:MAX_ROWS]:
        what = KIND_TITLES[finding.kind]
        if finding.field:
            what = f"{what} {md(finding.field)}"
        rows.append(
            f"| {finding.severity.value} | {md(finding.connector)} | {what} "
            f"| {_change(finding)} | {md(finding.reason)} |"
        )
    return rows + _more(len(findings))


def _change(finding: Finding) -> str:
    md = markdown_inline
    if finding.added or finding.removed:
        parts = [f"\\+ {md(a)}" for a in finding.added]
        parts += [f"&minus; {md(r)}" for r in finding.removed]
        return "<br>".join(parts)
    if finding.field is None:
        return ""
    return f"{md(value_text(finding.baseline))} → {md(value_text(finding.live))}"


def _suppressed(items: tuple[Suppressed, ...]) -> list[str]:
    md = markdown_inline
    rows = [
        "| Severity | Connector | Field | Reason | Owner | Expires |",
        "|---|---|---|---|---|---|",
    ]
    for item in items[:MAX_ROWS]:
        f, e = item.finding, item.entry
        rows.append(
            f"| {f.severity.value} | {md(f.connector)} | {md(f.field or '*')} "
            f"| {md(e.reason or '')} | {md(e.owner or '')} "
            f"| {e.expires.isoformat() if e.expires else ''} |"
        )
    return rows + _more(len(items))


def _more(count: int) -> list[str]:
    if count <= MAX_ROWS:
        return []
    return ["", f"_… and {count - MAX_ROWS} more; see the JSON or HTML report._"]


def _details(summary: str, body: list[str], *, open_: bool = False) -> list[str]:
    tag = "<details open>" if open_ else "<details>"
    return [tag, f"<summary>{html_text(summary)}</summary>", "", *body, "", "</details>", ""]
