"""``investigate`` and ``--explain`` as plain functions: evidence gathered per tenant (files and/or
the service), the pure investigation (investigate/timeline.py), one ``Report`` out.

The command line only turns arguments into ``Options`` and prints the result; the live snapshots
and the way to open a tenant's clients are passed in, so every source can be swapped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from driftguard.core import error_report, live_connectors, tenant_report
from driftguard.errors import InputError, LiveReadError
from driftguard.investigate.collect import Inputs, Invoker, gather
from driftguard.investigate.timeline import investigated
from driftguard.live.demo import is_demo
from driftguard.model import (
    Baseline,
    Connector,
    Report,
    Snapshot,
    Status,
    TenantConfig,
    TenantReport,
)

if TYPE_CHECKING:
    from driftguard.investigate.graph import GraphClient
    from driftguard.live.service import ExchangeSource

SOURCES = ("audit", "blocked", "message-trace", "alerts", "accounts", "hunting")

Clients = tuple[Invoker, "GraphClient | None"]
ClientOpener = Callable[[TenantConfig], contextlib.AbstractContextManager[Clients]]
"""Opens one tenant's Exchange client and Graph client (None where Graph is not used)."""


@dataclass(frozen=True)
class Options:
    """What to read, and over which window."""

    since: datetime
    until: datetime
    audit_log: str | None = None  # an export file instead of the service
    message_trace: str | None = None
    offline: bool = False  # --live FILE: no service calls at all
    audit_via: str = "exchange"  # or "graph"
    trace_via: str = "exchange"
    skip: frozenset[str] = frozenset()  # of SOURCES
    concurrency: int = 1
    hunting_export: str | None = None  # an EmailEvents CSV export instead of the service

    def inputs(self, *, explain_only: bool = False) -> Inputs:
        """The reads of one tenant; ``explain_only``: the audit trail alone (``--explain``)."""
        return Inputs(
            start=self.since,
            end=self.until,
            audit_log=self.audit_log,
            message_trace=None if explain_only else self.message_trace,
            offline=self.offline,
            want_audit="audit" not in self.skip,
            want_blocked=not explain_only and "blocked" not in self.skip,
            want_trace=not explain_only and "message-trace" not in self.skip,
            want_alerts=not explain_only and "alerts" not in self.skip,
            audit_via=self.audit_via,
            trace_via=self.trace_via,
            want_accounts=not explain_only and "accounts" not in self.skip,
            hunting_export=None if explain_only else self.hunting_export,
            want_hunting=not explain_only and "hunting" not in self.skip,
        )


def check(baseline: Baseline, names: Sequence[str], options: Options) -> None:
    """The options that cannot apply to the selected tenants, as an InputError."""
    if (options.audit_log or options.message_trace or options.hunting_export) and len(names) != 1:
        raise InputError(
            "--audit-log, --message-trace and --hunting-export belong to one tenant, but "
            f"{len(names)} are selected",
            hint="add --tenant T",
        )
    graph_sources = [
        f"--{kind}-source graph"
        for kind, via in (("audit", options.audit_via), ("trace", options.trace_via))
        if via == "graph"
    ]
    for name in names if graph_sources else ():
        cloud = baseline.tenants[name].config.cloud
        if cloud != "global":
            raise InputError(
                f"tenant {name}: {' and '.join(graph_sources)}: Graph audit queries and message "
                f"trace exist only in the global cloud, not in {cloud}",
                hint="leave out --audit-source/--trace-source for this tenant",
            )


def investigate(
    baseline: Baseline,
    names: Sequence[str],
    snapshots: Mapping[str, Snapshot | Exception],
    options: Options,
    open_clients: ClientOpener,
    now: datetime,
) -> Report:
    """Every selected tenant investigated; tenants go in parallel, each with its own clients."""
    check(baseline, names, options)

    def one(name: str) -> TenantReport:
        live = snapshots[name]
        tenant = baseline.tenants[name]
        if isinstance(live, Exception):
            return error_report(name, live, tenant.config.location)
        report = tenant_report(tenant, live, baseline.ignores, now.date())
        if report.status is Status.ERROR:
            return report
        approved = [c.connector for c in tenant.connectors]
        return _investigated(
            report, tenant.config, live, options.inputs(), open_clients, now, approved
        )

    workers = max(1, min(options.concurrency, len(names)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        tenants = tuple(pool.map(one, names))
    return Report(generated_at=now, tenants=tenants, command="investigate")


def explain(
    report: Report,
    baseline: Baseline,
    snapshots: Mapping[str, Snapshot | Exception],
    options: Options,
    open_clients: ClientOpener,
) -> Report:
    """``report`` with the audit trail attached to each finding (``diff/plan --explain``).

    Only the audit log is read; a tenant whose trail cannot be read completely becomes an error,
    as any partial read. The verdict stays the diff's own.
    """
    out = []
    for tenant in report.tenants:
        live = snapshots.get(tenant.tenant)
        if tenant.error or live is None or isinstance(live, Exception):
            out.append(tenant)
            continue
        config = baseline.tenants[tenant.tenant].config
        inputs = options.inputs(explain_only=True)
        explained = _investigated(tenant, config, live, inputs, open_clients, report.generated_at)
        out.append(explained if explained.error else replace(explained, status=tenant.status))
    return replace(report, tenants=tuple(out))


def _investigated(
    report: TenantReport,
    config: TenantConfig,
    live: Snapshot,
    inputs: Inputs,
    open_clients: ClientOpener,
    now: datetime,
    approved: Sequence[Connector] = (),
) -> TenantReport:
    connectors = live_connectors(live)
    if is_demo(config):  # the demo's own apps (its credentials) are known actors, as a tenant's are
        from driftguard.app.clients import effective_config

        config = effective_config(config)
    try:
        if inputs.offline:
            evidence = gather(config, connectors, inputs, now=now, approved=approved)
        else:
            from driftguard.live.service import named

            with named(config.name), open_clients(config) as (client, graph):
                evidence = gather(
                    config,
                    connectors,
                    inputs,
                    client=client,
                    graph=graph,
                    now=now,
                    approved=approved,
                )
    except LiveReadError as exc:
        return error_report(report.tenant, exc, config.location)
    return investigated(report, config, connectors, evidence, start=inputs.start, end=inputs.end)


def service_clients(source: ExchangeSource, deadline: float) -> ClientOpener:
    """Clients of the service: the source's Exchange client, and a Graph client on the same kind
    of session (not in the China cloud, where Graph security APIs do not exist). A tenant pointing
    at the demo host gets both from the in-process demo service."""

    @contextlib.contextmanager
    def opener(config: TenantConfig) -> Iterator[Clients]:
        from driftguard.investigate.graph import graph_client
        from driftguard.live import clouds
        from driftguard.live.demo import source_for

        tenant_source, tenant = source_for(config, source)
        with tenant_source.client(tenant) as client:
            endpoints = clouds.resolve(tenant)
            if endpoints.cloud == "china":
                yield client, None
                return
            session = tenant_source.session_factory(endpoints)
            try:
                yield client, graph_client(tenant, endpoints, session, deadline=deadline)
            finally:
                session.close()

    return opener


def recent_messages(
    client: Invoker, connectors: Sequence[Connector], start: datetime, end: datetime
) -> dict[str, int]:
    """Messages per connector between ``start`` and ``end`` from the service's message trace,
    counted by the one rule the investigation uses (``mailflow.Aggregator``: attributed by
    FromIP, repeats dropped). A row that cannot be read is an error: a safety check cannot rest
    on an undercount."""
    from driftguard.investigate.mailflow import Aggregator
    from driftguard.investigate.messagetrace import trace_rows

    agg = Aggregator(connectors, (), start, end)
    for row in trace_rows(client, start, end):
        agg.add(row)
    flow = agg.result()
    if flow.skipped_count:
        raise LiveReadError(
            f"message trace: {flow.skipped_count} rows could not be read "
            f"(first: {flow.skipped[0].message})",
            hint="retry later, or leave out the recent-mail check with --mail-window 0",
        )
    return {name: sum(s.volume for s in days.values()) for name, days in flow.per_connector.items()}
