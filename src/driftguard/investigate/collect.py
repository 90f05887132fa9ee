"""Gathering one tenant's evidence: from the service (clients passed in) and/or export files.

The edge between the pure investigation (timeline.py) and the world. A source that fails is an
error for the tenant (fail closed); a source that does not exist where the tenant lives (Graph
audit queries and message trace outside the global cloud, the unified audit log in China) or
that was not asked for is named in ``sources`` as such, never silently treated as empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from driftguard.investigate import files
from driftguard.investigate.alerts import Alert, fetch_alerts
from driftguard.investigate.auditlog import AuditWindow, search_unified_audit_log
from driftguard.investigate.blocked import BlockedConnector, get_blocked
from driftguard.investigate.graph import GraphClient
from driftguard.investigate.messagetrace import Aggregator, MailFlow, trace_rows
from driftguard.investigate.timeline import Evidence
from driftguard.model import AuditEvent, Connector, TenantConfig

TRACE_RETENTION = timedelta(days=90)


class Invoker(Protocol):
    def invoke(self, cmdlet: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Inputs:
    """What to read for one tenant."""

    start: datetime
    end: datetime
    audit_log: str | None = None  # an export file instead of the service
    message_trace: str | None = None
    offline: bool = False  # --live FILE: no service calls at all
    want_audit: bool = True
    want_blocked: bool = True
    want_trace: bool = True
    want_alerts: bool = True


def gather(
    config: TenantConfig,
    live: Sequence[Connector],
    inputs: Inputs,
    *,
    client: Invoker | None = None,
    graph: GraphClient | None = None,
    now: datetime,
) -> Evidence:
    sources: dict[str, str] = {}
    skipped: list[str] = []
    skipped_count = 0

    audit: Sequence[AuditEvent] | None = None
    if inputs.audit_log:
        audit_file = files.read_audit_log(inputs.audit_log)
        audit = audit_file.events
        sources["audit"] = f"file:{Path(inputs.audit_log).name}"
        skipped.extend(str(p) for p in audit_file.skipped.problems)
        skipped_count += audit_file.skipped.count
    elif not inputs.want_audit:
        sources["audit"] = "not requested"
    elif inputs.offline or client is None:
        sources["audit"] = "not available offline (give --audit-log FILE)"
    elif config.cloud == "china":
        sources["audit"] = (
            "not available: Search-UnifiedAuditLog returns nothing in the China cloud"
        )
    else:
        audit = search_unified_audit_log(client, AuditWindow(inputs.start, inputs.end))
        sources["audit"] = "exchange:Search-UnifiedAuditLog"

    blocked: Sequence[BlockedConnector] | None = None
    if not inputs.want_blocked:
        sources["blocked"] = "not requested"
    elif inputs.offline or client is None:
        sources["blocked"] = "not available offline"
    else:
        blocked = get_blocked(client)
        sources["blocked"] = "exchange:Get-BlockedConnector"

    mail_flow: MailFlow | None = None
    if inputs.message_trace:
        agg = Aggregator(live, config.accepted_domains, inputs.start, inputs.end)
        trace_skips = files.read_message_trace(inputs.message_trace, agg)
        mail_flow = agg.result()
        sources["message_trace"] = f"file:{Path(inputs.message_trace).name}"
        skipped.extend(str(p) for p in trace_skips.problems)
        skipped_count += trace_skips.count
    elif not inputs.want_trace:
        sources["message_trace"] = "not requested"
    elif inputs.offline or client is None:
        sources["message_trace"] = "not available offline (give --message-trace FILE)"
    else:
        start = max(inputs.start, now - TRACE_RETENTION)
        agg = Aggregator(live, config.accepted_domains, start, inputs.end)
        for row in trace_rows(client, start, inputs.end):
            agg.add(row)
        mail_flow = agg.result()
        note = "" if start == inputs.start else " (the service keeps 90 days)"
        sources["message_trace"] = f"exchange:Get-MessageTraceV2{note}"

    alerts: Sequence[Alert] | None = None
    if not inputs.want_alerts:
        sources["alerts"] = "not requested"
    elif inputs.offline or graph is None:
        sources["alerts"] = "not available" + (" offline" if inputs.offline else "")
    else:
        alerts = fetch_alerts(graph, inputs.start, inputs.end, [c.name for c in live])
        sources["alerts"] = "graph:security/alerts_v2"

    return Evidence(
        audit=audit,
        blocked=blocked,
        mail_flow=mail_flow,
        alerts=alerts,
        sources=sources,
        skipped=tuple(skipped),
        skipped_count=skipped_count,
    )
