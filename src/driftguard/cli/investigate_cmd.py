"""`driftguard investigate`: who changed it, was it blocked, what went through it.

Exit 0: nothing suspicious, 2: findings (drift, blocked connectors, possibly compromised admins,
volume spikes, alerts), 1: error. ``explain`` is what ``diff --explain`` and ``plan --explain``
call to attach the audit trail to their findings.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from driftguard.cli._common import add_baseline, add_output, add_tenants

if TYPE_CHECKING:
    from driftguard.investigate.collect import Inputs
    from driftguard.model import Baseline, Report, Snapshot, TenantReport

DEFAULT_DAYS = 30


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "investigate",
        help="who changed the connectors, were they blocked, what went through them",
        description="Attach the audit trail to every finding, list blocked connectors, mail-flow "
        "evidence and alerts, in one timeline per tenant. Exit 0: nothing suspicious, "
        "2: findings, 1: error.",
    )
    add_baseline(parser)
    add_tenants(parser)
    from driftguard.cli._live import add_live

    add_live(parser)
    add_window(parser)
    parser.add_argument(
        "--audit-log",
        metavar="FILE",
        help="read the audit trail from FILE (Purview audit CSV export, Search-UnifiedAuditLog "
        "saved with ConvertTo-Json or Export-Csv, or JSON lines) instead of the service",
    )
    parser.add_argument(
        "--message-trace",
        metavar="FILE",
        help="read message trace from FILE (Get-MessageTraceV2 exported as CSV or JSON, a "
        "Reporting Web Service MessageTrace body, or the historical-search CSV report)",
    )
    parser.add_argument(
        "--audit-source",
        choices=("exchange", "graph"),
        default="exchange",
        help="read the audit trail with Search-UnifiedAuditLog (default) or the Graph audit log "
        "query (global cloud only; permission AuditLogsQuery-Exchange.Read.All)",
    )
    parser.add_argument(
        "--trace-source",
        choices=("exchange", "graph"),
        default="exchange",
        help="read message trace with Get-MessageTraceV2 (default) or Graph message trace "
        "(global cloud only; permission ExchangeMessageTrace.Read.All)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        choices=("audit", "blocked", "message-trace", "alerts"),
        default=[],
        metavar="SOURCE",
        help="leave out one source of evidence (audit, blocked, message-trace, alerts); "
        "repeatable. The report names what was left out",
    )
    add_output(parser)
    parser.set_defaults(func=run)


def add_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        metavar="DATE",
        type=parse_moment,
        help=f"start of the window (YYYY-MM-DD or ISO time, UTC; default: {DEFAULT_DAYS} days ago)",
    )
    parser.add_argument(
        "--until",
        metavar="DATE",
        type=parse_until,
        help="end of the window (default: now); a bare date means the end of that day",
    )


def add_explain(parser: argparse.ArgumentParser) -> None:
    """The options ``diff`` and ``plan`` add for ``--explain``."""
    parser.add_argument(
        "--explain",
        action="store_true",
        help="attach who changed each finding, from where, from the audit log",
    )
    add_window(parser)
    parser.add_argument("--audit-log", metavar="FILE", help="audit export to explain from")


def parse_moment(text: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO time (no zone = UTC)."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO time"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_until(text: str) -> datetime:
    """As ``parse_moment``, but a bare date means the end of that day."""
    moment = parse_moment(text)
    if len(text.strip()) == 10:
        return moment + timedelta(days=1) - timedelta(microseconds=1)
    return moment


def window(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    from driftguard.errors import InputError

    until: datetime = getattr(args, "until", None) or now
    since: datetime = getattr(args, "since", None) or until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise InputError("--since must be before --until")
    return since, until


def run(args: argparse.Namespace) -> int:
    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.errors import InputError
    from driftguard.model import Report

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    if (args.audit_log or args.message_trace) and len(names) != 1:
        raise InputError(
            f"--audit-log and --message-trace belong to one tenant, but {len(names)} are selected",
            hint="add --tenant T",
        )
    graph_sources = [
        f"--{kind}-source graph"
        for kind in ("audit", "trace")
        if getattr(args, f"{kind}_source", "exchange") == "graph"
    ]
    for name in names if graph_sources else ():
        cloud = baseline.tenants[name].config.cloud
        if cloud != "global":
            raise InputError(
                f"tenant {name}: {' and '.join(graph_sources)}: Graph audit queries and message "
                f"trace exist only in the global cloud, not in {cloud}",
                hint="leave out --audit-source/--trace-source for this tenant",
            )
    now = datetime.now(UTC)
    start, end = window(args, now)
    snapshots = snapshots_for(args, baseline, names)
    # Evidence is read per tenant, each with its own clients: tenants go in parallel.
    from concurrent.futures import ThreadPoolExecutor

    workers = max(1, min(int(getattr(args, "concurrency", 1) or 1), len(names)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        tenants = list(
            pool.map(
                lambda name: _investigate(args, baseline, name, snapshots[name], now, start, end),
                names,
            )
        )
    report = Report(generated_at=now, tenants=tuple(tenants), command="investigate")
    emit(report, args.format, args.output)
    from driftguard.cli._output import info

    for tenant in report.tenants:
        if tenant.error:
            info(f"error: {tenant.tenant}: {tenant.error}")
    return report.exit_code  # drift, or an odd actor, a spike or an alert: 2


def emit(report: Report, fmt: str, output: str | None) -> None:
    """Render like every report; the text format gets the investigation appended (the other
    formats carry it in each finding's ``events`` and the tenant's ``evidence``)."""
    from driftguard.cli.diff_cmd import emit_report

    if fmt != "text":
        emit_report(report, fmt, output)
        return
    import sys

    from driftguard.cli._output import emit as emit_text
    from driftguard.cli._output import wants_color
    from driftguard.investigate import textview
    from driftguard.report.text_format import render_color

    color = not output and wants_color(sys.stdout)
    text = render_color(report, color=color)
    extra = textview.render(report)
    emit_text(text.rstrip("\n") + "\n\n" + extra if extra else text, output)


def _inputs(args: argparse.Namespace, start: datetime, end: datetime, **wants: bool) -> Inputs:
    from driftguard.investigate.collect import Inputs

    skip = set(getattr(args, "skip", None) or ())
    defaults = {
        "want_audit": "audit" not in skip,
        "want_blocked": "blocked" not in skip,
        "want_trace": "message-trace" not in skip,
        "want_alerts": "alerts" not in skip,
    }
    defaults.update(wants)
    return Inputs(
        start=start,
        end=end,
        audit_log=getattr(args, "audit_log", None),
        message_trace=getattr(args, "message_trace", None),
        offline=bool(getattr(args, "live", None)),
        audit_via=getattr(args, "audit_source", "exchange"),
        trace_via=getattr(args, "trace_source", "exchange"),
        **defaults,
    )


def _investigate(
    args: argparse.Namespace,
    baseline: Baseline,
    name: str,
    live: Snapshot | Exception,
    now: datetime,
    start: datetime,
    end: datetime,
) -> TenantReport:
    from driftguard.core import error_report, live_connectors, tenant_report
    from driftguard.errors import LiveReadError
    from driftguard.investigate.timeline import investigated

    if isinstance(live, Exception):
        return error_report(name, live)
    tenant = baseline.tenants[name]
    report = tenant_report(tenant, live, baseline.ignores, now.date())
    if report.status.value == "error":
        return report
    connectors = live_connectors(live)
    try:
        evidence = _evidence(args, tenant.config, connectors, _inputs(args, start, end), now)
    except LiveReadError as exc:
        return error_report(name, exc)
    return investigated(report, tenant.config, connectors, evidence, start=start, end=end)


def _evidence(
    args: argparse.Namespace, config: Any, connectors: Any, inputs: Inputs, now: datetime
) -> Any:
    """Evidence for one tenant: files and/or the service (the demo: its in-process service)."""
    from driftguard.investigate.collect import gather

    if inputs.offline:
        return gather(config, connectors, inputs, now=now)
    opener = _service_opener(args, config)
    if opener is None:
        return gather(config, connectors, inputs, now=now)
    from driftguard.live.service import named

    with named(config.name), opener() as (client, graph):
        return gather(config, connectors, inputs, client=client, graph=graph, now=now)


def _service_opener(args: argparse.Namespace, config: Any) -> Callable[[], Any] | None:
    """A context manager factory yielding (Exchange client, Graph client or None)."""
    import contextlib

    from driftguard.cli._live import DEFAULT_DEADLINE, DEMO_TENANT, exchange_source

    if config.name == DEMO_TENANT:
        demo = _demo_opener(config)
        return demo
    source = exchange_source(args)

    @contextlib.contextmanager
    def opener() -> Any:
        from driftguard.investigate.graph import graph_client
        from driftguard.live import clouds
        from driftguard.live.http import make_session

        with source.client(config) as client:  # type: ignore[attr-defined]
            endpoints = clouds.resolve(config)
            graph = None
            session = None
            if endpoints.cloud != "china":
                session = make_session(endpoints.ca_bundle)
                graph = graph_client(
                    config,
                    endpoints,
                    session,
                    deadline=float(getattr(args, "deadline", DEFAULT_DEADLINE)),
                )
            try:
                yield client, graph
            finally:
                if session is not None:
                    session.close()

    return opener


def _demo_opener(config: Any) -> Callable[[], Any] | None:
    """The demo tenant's evidence comes from the in-process simulator (no sockets)."""
    import contextlib

    try:
        from driftguard.sim.inprocess import demo_environment
    except ImportError:  # pragma: no cover - a build without the simulator
        return None

    @contextlib.contextmanager
    def opener() -> Any:
        from dataclasses import replace

        from driftguard.investigate.graph import graph_client
        from driftguard.live import clouds
        from driftguard.live.auth import token_provider
        from driftguard.live.exchange import ExchangeClient

        env = demo_environment()
        host = env.tenant.endpoints.exchange_host
        tenant = replace(env.tenant, endpoints=replace(env.tenant.endpoints, graph_host=host))
        endpoints = clouds.resolve(tenant)
        try:
            tokens = token_provider(tenant, endpoints, env.session)
            client = ExchangeClient(env.session, endpoints, tenant.tenant_id, tokens)
            yield client, graph_client(tenant, endpoints, env.session)
        finally:
            env.session.close()

    return opener


def explain(
    report: Report,
    baseline: Baseline,
    args: argparse.Namespace,
    snapshots: Mapping[str, Snapshot | Exception] | None = None,
) -> Report:
    """``report`` with the audit trail attached to each finding (``diff/plan --explain``).

    Only the audit log is read (plus blocked state from the service, not for files); a tenant
    whose trail cannot be read completely becomes an error, as any partial read.
    """
    from dataclasses import replace

    from driftguard.cli._live import snapshots_for
    from driftguard.core import error_report, live_connectors
    from driftguard.errors import LiveReadError
    from driftguard.investigate.timeline import investigated

    now = report.generated_at
    start, end = window(args, now)
    names = [t.tenant for t in report.tenants]
    reads = snapshots if snapshots is not None else snapshots_for(args, baseline, names)
    out = []
    for tenant in report.tenants:
        live = reads.get(tenant.tenant)
        if tenant.error or live is None or isinstance(live, Exception):
            out.append(tenant)
            continue
        config = baseline.tenants[tenant.tenant].config
        connectors = live_connectors(live)
        inputs = _inputs(args, start, end, want_blocked=False, want_trace=False, want_alerts=False)
        inputs = replace(inputs, message_trace=None)
        try:
            evidence = _evidence(args, config, connectors, inputs, now)
        except LiveReadError as exc:
            out.append(error_report(tenant.tenant, exc))
            continue
        explained = investigated(tenant, config, connectors, evidence, start=start, end=end)
        # --explain adds the trail; the verdict stays the diff's own.
        out.append(replace(explained, status=tenant.status))
    return replace(report, tenants=tuple(out))
