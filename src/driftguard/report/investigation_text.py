"""The investigation as plain text: the section ``--format text`` appends after the findings
(``investigate``, ``diff --explain``, ``report render`` of an investigation) and ``plan --explain``
prints on stderr. Pure; every untrusted string goes through ``one_line`` (no control characters).
"""

from __future__ import annotations

from driftguard.investigation import Investigation, moment
from driftguard.model import FindingKind, Report, TenantReport
from driftguard.report.bounds import bounded
from driftguard.report.hunting_text import render_hunting
from driftguard.textsafe import one_line

MAX_LINES = 60


def _s(value: object) -> str:
    return one_line("" if value is None else str(value))


def render(report: Report) -> str:
    """One section per investigated tenant; empty when no tenant was investigated."""
    report = bounded(report)
    return "\n".join(_tenant(t, t.evidence) for t in report.tenants if t.evidence is not None)


def _tenant(tenant: TenantReport, ev: Investigation) -> str:
    lines = [f"{_s(tenant.tenant)}  investigation"]
    lines.append(f"  window: {moment(ev.since)} .. {moment(ev.until)}")
    for finding in tenant.findings:
        if finding.kind is FindingKind.BLOCKED or not finding.events:
            continue
        label = f"{finding.connector} {finding.field or '(' + finding.kind.value + ')'}"
        e = finding.events[0]
        where = f" from {_s(e.client_ip)}" if e.client_ip else ""
        more = f" (+{len(finding.events) - 1} more)" if len(finding.events) > 1 else ""
        lines.append(
            f"  {_s(label)}: {_s(e.operation)} by {_s(e.actor)}{where} at {moment(e.time)}{more}"
        )
    for item in ev.attribution or ():
        if not item.attributed:
            field = item.field or f"({item.kind.value})"
            lines.append(f"  UNATTRIBUTED {_s(item.connector)} {_s(field)}: {_s(item.note)}")
    for actor in ev.actors or ():
        reasons = "; ".join(_s(r) for r in actor.reasons)
        lines.append(f"  SUSPICIOUS ACTOR {_s(actor.actor)}: {reasons}")
    for block in ev.blocked or ():
        since = moment(block.created) if block.created else ""
        lines.append(f"  BLOCKED {_s(block.connector)} since {since}: {_s(block.reason)}")
    flow = ev.mail_flow
    if flow is not None:
        outside = flow.rows_outside_window
        lines.append(
            f"  mail flow: {flow.rows} rows, {flow.duplicates_dropped} repeats dropped, "
            f"{flow.unattributed_rows} from no connector's range"
            + (f", {outside} outside the window" if outside else "")
        )
        for spike in flow.spikes:
            lines.append(
                f"  SPIKE {_s(spike.connector)} on {spike.day.isoformat()}: {spike.volume} "
                f"messages (median {spike.median:g}, robust z {spike.robust_z:g})"
            )
    for alert in ev.alerts or ():
        when = moment(alert.created) if alert.created else ""
        lines.append(f"  ALERT {_s(alert.title)} ({_s(alert.severity)}) at {when}")
    if ev.accounts is not None:
        from driftguard.report.accounts_text import render_accounts

        lines.extend(render_accounts(ev.accounts))
    if ev.hunting is not None:
        lines.extend(f"  {line}" for line in render_hunting(ev.hunting))
    if ev.audit_events_outside_window:
        lines.append(
            f"  {ev.audit_events_outside_window} audit events fall outside the window "
            "and were not used (widen it with --since/--until)"
        )
    if ev.other_audit_events:
        lines.append(
            f"  {ev.other_audit_events} other audit events not shown (not connector "
            "operations, tied to no finding)"
        )
    if ev.skipped_rows:
        lines.append(f"  {ev.skipped_rows} input rows skipped:")
        lines.extend(f"    {_s(p)}" for p in ev.skipped[:10])
    if ev.timeline:
        lines.append(f"  timeline ({len(ev.timeline)} entries, oldest first):")
        shown = ev.timeline[-MAX_LINES:]
        if len(ev.timeline) > len(shown):
            lines.append(
                f"    ... {len(ev.timeline) - len(shown)} earlier entries in the JSON report"
            )
        for entry in shown:
            flags = " !" if entry.flags else ""
            ip = f" {_s(entry.client_ip)}" if entry.client_ip else ""
            lines.append(
                f"    {moment(entry.time)}  {_s(entry.operation)}  "
                f"{_s(entry.connector)}  {_s(entry.actor)}{ip}{flags}"
            )
    if ev.sources:
        lines.append("  sources: " + "; ".join(f"{_s(k)}: {_s(v)}" for k, v in ev.sources.items()))
    return "\n".join(lines) + "\n"
