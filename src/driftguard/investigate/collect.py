"""Gathering one tenant's evidence: from the service (clients passed in) and/or export files.

The edge between the pure investigation (timeline.py) and the world. A source that fails is an
error for the tenant (fail closed); a source that does not exist where the tenant lives (Graph
audit queries and message trace outside the global cloud, the unified audit log in China) or
that was not asked for is named in ``sources`` as such, never silently treated as empty.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from driftguard.errors import InputError, LiveReadError
from driftguard.investigate import files
from driftguard.investigate.accountmodel import AccountsSection
from driftguard.investigate.alerts import Alert, fetch_alerts
from driftguard.investigate.auditlog import (
    AuditWindow,
    graph_audit_events,
    search_unified_audit_log,
)
from driftguard.investigate.blocked import BlockedConnector, get_blocked
from driftguard.investigate.filerows import Skipped
from driftguard.investigate.graph import GraphClient
from driftguard.investigate.messagetrace import (
    Aggregator,
    MailFlow,
    graph_trace_rows,
    trace_rows,
)
from driftguard.investigate.timeline import Evidence
from driftguard.investigation import HuntingSection
from driftguard.live import waits
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
    audit_via: str = "exchange"  # or "graph": the Graph audit log query (global cloud only)
    trace_via: str = "exchange"  # or "graph": Graph message trace (global cloud only)
    want_accounts: bool = True  # the admin account investigation (investigate/accounts.py)
    hunting_export: str | None = None  # an EmailEvents CSV export instead of the service
    want_hunting: bool = True


def gather(
    config: TenantConfig,
    live: Sequence[Connector],
    inputs: Inputs,
    *,
    client: Invoker | None = None,
    graph: GraphClient | None = None,
    now: datetime,
    sleep: Callable[[float], None] = waits.pause,
    approved: Sequence[Connector] = (),
) -> Evidence:
    sources: dict[str, str] = {}
    skipped: list[str] = []
    skipped_count = 0
    warnings: list[str] = []

    audit: Sequence[AuditEvent] | None = None
    if inputs.audit_log:
        audit_file = files.read_audit_log(inputs.audit_log)
        audit = audit_file.events
        sources["audit"] = f"file:{Path(inputs.audit_log).name}"
        skipped.extend(str(p) for p in audit_file.skipped.problems)
        skipped_count += audit_file.skipped.count
        warnings.extend(audit_file.warnings)
    elif not inputs.want_audit:
        sources["audit"] = "not requested"
    elif inputs.offline or client is None:
        sources["audit"] = "not available offline (give --audit-log FILE)"
    elif inputs.audit_via == "graph":
        _global_only(config, "the Graph audit log query")
        if graph is None:
            raise LiveReadError("audit log: no Graph client for this tenant", tenant=config.name)
        audit = graph_audit_events(graph, AuditWindow(inputs.start, inputs.end), sleep=sleep)
        sources["audit"] = "graph:security/auditLog/queries"
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
        note = "" if start == inputs.start else " (the service keeps 90 days)"
        if inputs.trace_via == "graph":
            _global_only(config, "Graph message trace")
            if graph is None:
                raise LiveReadError("message trace: no Graph client", tenant=config.name)
            for row in graph_trace_rows(graph, start, inputs.end):
                agg.add(row)
            sources["message_trace"] = f"graph:admin/exchange/tracing/messageTraces{note}"
        else:
            for row in trace_rows(client, start, inputs.end):
                agg.add(row)
            sources["message_trace"] = f"exchange:Get-MessageTraceV2{note}"
        mail_flow = agg.result()
        # Live rows that could not be read are counted (and the first ones named) too.
        skipped.extend(f"message trace: {r.message}" for r in mail_flow.skipped[:10])
        skipped_count += mail_flow.skipped_count

    alerts: Sequence[Alert] | None = None
    if not inputs.want_alerts:
        sources["alerts"] = "not requested"
    elif inputs.offline or graph is None:
        sources["alerts"] = "not available" + (" offline" if inputs.offline else "")
    else:
        alerts = fetch_alerts(graph, inputs.start, inputs.end, [c.name for c in live])
        sources["alerts"] = "graph:security/alerts_v2"

    accounts = _accounts(config, inputs, audit, graph, sources)
    hunting, sources["hunting"], hunting_skips = _hunting(
        config, live, approved, inputs, graph, now, mail_flow
    )
    skipped.extend(str(p) for p in hunting_skips.problems)
    skipped_count += hunting_skips.count

    return Evidence(
        hunting=hunting,
        audit=audit,
        blocked=blocked,
        mail_flow=mail_flow,
        alerts=alerts,
        sources=sources,
        skipped=tuple(skipped),
        skipped_count=skipped_count,
        warnings=tuple(warnings),
        accounts=accounts,
    )


def _accounts(
    config: TenantConfig,
    inputs: Inputs,
    audit: Sequence[AuditEvent] | None,
    graph: GraphClient | None,
    sources: dict[str, str],
) -> AccountsSection | None:
    """The admin account investigation of the actors the audit trail names, when it can run."""
    if not inputs.want_accounts:
        sources["accounts"] = "not requested"
    elif inputs.offline or graph is None:
        sources["accounts"] = "not available" + (" offline" if inputs.offline else "")
    elif audit is None:
        sources["accounts"] = "not available: its actors come from the audit trail, not read"
    else:
        from driftguard.investigate.accounts import SOURCE_NOTE, account_section

        sources["accounts"] = SOURCE_NOTE
        return account_section(graph, audit, config, inputs.start, inputs.end)
    return None


def _global_only(config: TenantConfig, what: str) -> None:
    if config.cloud != "global":
        raise InputError(
            f"tenant {config.name}: {what} exists only in the global cloud, not in {config.cloud}",
            hint="use the Exchange source (the default) for this tenant",
        )


def _hunting(
    config: TenantConfig,
    live: Sequence[Connector],
    approved: Sequence[Connector],
    inputs: Inputs,
    graph: GraphClient | None,
    now: datetime,
    mail_flow: MailFlow | None,
) -> tuple[HuntingSection | None, str, Skipped]:
    """Explorer's evidence: the section (None when not read), its source note, skipped rows."""
    from driftguard.investigate import hunting

    none = Skipped((), 0)
    scope = hunting.scope_for(live, approved, config.accepted_domains, inputs.start, inputs.end)
    if inputs.hunting_export:
        section, skips = hunting.read_export(inputs.hunting_export, scope)
        return section, f"file:{Path(inputs.hunting_export).name}", skips.result()
    if not inputs.want_hunting:
        return None, "not requested", none
    if inputs.offline or graph is None:
        where = " offline (give --hunting-export FILE)" if inputs.offline else ""
        return None, f"not available{where}", none
    if hunting.window_start(inputs.start, now) >= inputs.end:
        return None, "not available: the window ends before the 30 days the service keeps", none
    try:
        section = hunting.hunt(graph, scope, now)
    except hunting.NotLicensed as exc:
        if mail_flow is None:
            raise LiveReadError(
                f"{exc}: advanced hunting is {hunting.NOT_LICENSED}, and message trace, the "
                "evidence used instead, was not read",
                tenant=config.name,
                hint="read message trace too (leave out --skip message-trace), give "
                "--hunting-export FILE, or leave the source out with --skip hunting",
            ) from None
        return None, f"{hunting.NOT_LICENSED}: message trace used", none
    note = "" if section.since == inputs.start else " (the service keeps 30 days)"
    return section, f"{hunting.SOURCE}{note}", none
