"""`driftguard investigate`: who changed it, was it blocked, what went through it.

Exit 0: nothing suspicious, 2: findings (drift, blocked connectors, possibly compromised admins,
volume spikes, alerts), 1: error. The work is in app/investigate.py; this module turns arguments
into its options and prints. ``explain`` is what ``diff --explain`` and ``plan --explain`` call to
attach the audit trail to their findings.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from driftguard.cli._common import add_baseline, add_output, add_tenants

if TYPE_CHECKING:
    from driftguard.app.investigate import ClientOpener, Options
    from driftguard.model import Baseline, Report, Snapshot

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


def options(args: argparse.Namespace, now: datetime) -> Options:
    """The investigation options of the command line."""
    from driftguard.app.investigate import Options

    start, end = window(args, now)
    return Options(
        since=start,
        until=end,
        audit_log=getattr(args, "audit_log", None),
        message_trace=getattr(args, "message_trace", None),
        offline=bool(getattr(args, "live", None)),
        audit_via=getattr(args, "audit_source", "exchange"),
        trace_via=getattr(args, "trace_source", "exchange"),
        skip=frozenset(getattr(args, "skip", None) or ()),
        concurrency=int(getattr(args, "concurrency", 1) or 1),
    )


def run(args: argparse.Namespace) -> int:
    from driftguard.app.investigate import check, investigate
    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.cli._output import info

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    now = datetime.now(UTC)
    wanted = options(args, now)
    check(baseline, names, wanted)
    snapshots = snapshots_for(args, baseline, names)
    report = investigate(baseline, names, snapshots, wanted, clients(args), now)
    emit(report, args.format, args.output)
    for tenant in report.tenants:
        if tenant.error:
            info(f"error: {tenant.tenant}: {tenant.error}")
    return report.exit_code  # drift, or an odd actor, a spike or an alert: 2


def emit(report: Report, fmt: str, output: str | None) -> None:
    """Render like every report (the text format appends each tenant's investigation)."""
    from driftguard.cli._output import emit_report

    emit_report(report, fmt, output)


def clients(args: argparse.Namespace) -> ClientOpener:
    """How to open a tenant's clients, with the command's deadline and sign-in prompt."""
    from driftguard.app.investigate import service_clients
    from driftguard.cli._live import DEFAULT_DEADLINE, exchange_source

    deadline = float(getattr(args, "deadline", DEFAULT_DEADLINE))
    return service_clients(exchange_source(args), deadline)


def explain(
    report: Report,
    baseline: Baseline,
    args: argparse.Namespace,
    snapshots: Mapping[str, Snapshot | Exception] | None = None,
) -> Report:
    """``report`` with the audit trail attached to each finding (``diff/plan --explain``)."""
    from driftguard.app import investigate as app
    from driftguard.cli._live import snapshots_for

    names = [t.tenant for t in report.tenants]
    reads = snapshots if snapshots is not None else snapshots_for(args, baseline, names)
    wanted = options(args, report.generated_at)
    return app.explain(report, baseline, reads, wanted, clients(args))
