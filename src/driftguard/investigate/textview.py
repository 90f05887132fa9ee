"""The investigation as plain text, appended to the text report by ``investigate`` and
``--explain``. Pure; every untrusted string goes through ``one_line`` (no control characters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driftguard.model import Report, TenantReport
from driftguard.report.bounds import bounded
from driftguard.textsafe import one_line

MAX_LINES = 60


def _s(value: Any) -> str:
    return one_line("" if value is None else str(value))


def render(report: Report) -> str:
    report = bounded(report)
    parts = [_tenant(t) for t in report.tenants if isinstance(t.evidence, Mapping)]
    return "\n".join(p for p in parts if p)


def _tenant(tenant: TenantReport) -> str:
    ev = tenant.evidence
    assert isinstance(ev, Mapping)  # noqa: S101 - filtered by render
    lines = [f"{_s(tenant.tenant)}  investigation"]
    window = ev.get("window") or {}
    lines.append(f"  window: {_s(window.get('since'))} .. {_s(window.get('until'))}")
    for finding in tenant.findings:
        if finding.kind.value == "blocked":
            continue
        label = f"{finding.connector} {finding.field or '(' + finding.kind.value + ')'}"
        if finding.events:
            e = finding.events[0]
            where = f" from {_s(e.client_ip)}" if e.client_ip else ""
            more = f" (+{len(finding.events) - 1} more)" if len(finding.events) > 1 else ""
            lines.append(
                f"  {_s(label)}: {_s(e.operation)} by {_s(e.actor)}{where} at "
                f"{e.time.isoformat().replace('+00:00', 'Z')}{more}"
            )
    for item in ev.get("attribution") or ():
        if isinstance(item, Mapping) and not item.get("attributed"):
            field = item.get("field") or f"({item.get('kind')})"
            lines.append(
                f"  UNATTRIBUTED {_s(item.get('connector'))} {_s(field)}: {_s(item.get('note'))}"
            )
    for actor in ev.get("actors") or ():
        if isinstance(actor, Mapping):
            reasons = "; ".join(_s(r) for r in actor.get("reasons") or ())
            lines.append(f"  SUSPICIOUS ACTOR {_s(actor.get('actor'))}: {reasons}")
    for block in ev.get("blocked") or ():
        if isinstance(block, Mapping):
            lines.append(
                f"  BLOCKED {_s(block.get('connector'))} since {_s(block.get('created'))}: "
                f"{_s(block.get('reason'))}"
            )
    flow = ev.get("mail_flow")
    if isinstance(flow, Mapping):
        lines.append(
            f"  mail flow: {_s(flow.get('rows'))} rows, {_s(flow.get('duplicates_dropped'))} "
            f"repeats dropped, {_s(flow.get('unattributed_rows'))} from no connector's range"
            + (
                f", {_s(flow.get('rows_outside_window'))} outside the window"
                if flow.get("rows_outside_window")
                else ""
            )
        )
        for spike in flow.get("spikes") or ():
            if isinstance(spike, Mapping):
                lines.append(
                    f"  SPIKE {_s(spike.get('connector'))} on {_s(spike.get('day'))}: "
                    f"{_s(spike.get('volume'))} messages (median {_s(spike.get('median'))}, "
                    f"robust z {_s(spike.get('robust_z'))})"
                )
    for alert in ev.get("alerts") or ():
        if isinstance(alert, Mapping):
            lines.append(
                f"  ALERT {_s(alert.get('title'))} ({_s(alert.get('severity'))}) "
                f"at {_s(alert.get('created'))}"
            )
    if ev.get("audit_events_outside_window"):
        lines.append(
            f"  {_s(ev.get('audit_events_outside_window'))} audit events fall outside the window "
            "and were not used (widen it with --since/--until)"
        )
    if ev.get("other_audit_events"):
        lines.append(
            f"  {_s(ev.get('other_audit_events'))} other audit events not shown (not connector "
            "operations, tied to no finding)"
        )
    if ev.get("skipped_rows"):
        lines.append(f"  {_s(ev.get('skipped_rows'))} input rows skipped:")
        lines.extend(f"    {_s(p)}" for p in (ev.get("skipped") or ())[:10])
    timeline = ev.get("timeline") or []
    if timeline:
        lines.append(f"  timeline ({len(timeline)} entries, oldest first):")
        shown = timeline[-MAX_LINES:]
        if len(timeline) > len(shown):
            lines.append(f"    ... {len(timeline) - len(shown)} earlier entries in the JSON report")
        for entry in shown:
            if not isinstance(entry, Mapping):
                continue
            flags = " !" if entry.get("flags") else ""
            ip = f" {_s(entry.get('client_ip'))}" if entry.get("client_ip") else ""
            lines.append(
                f"    {_s(entry.get('time'))}  {_s(entry.get('operation'))}  "
                f"{_s(entry.get('connector'))}  {_s(entry.get('actor'))}{ip}{flags}"
            )
    sources = ev.get("sources") or {}
    if isinstance(sources, Mapping) and sources:
        lines.append("  sources: " + "; ".join(f"{_s(k)}: {_s(v)}" for k, v in sources.items()))
    return "\n".join(lines) + "\n"
