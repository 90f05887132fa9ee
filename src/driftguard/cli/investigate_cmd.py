"""`driftguard investigate`: who changed it, was it blocked, what went through it.

Exit 0: nothing suspicious, 2: findings (drift, blocked connectors, possibly compromised admins,
volume spikes, alerts), 1: error. The work is in app/investigate.py; this module turns arguments
into its options and prints; what it shares with ``diff``/``plan --explain`` and ``watch`` is in
cli/_investigating.py.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from driftguard.cli._common import add_baseline, add_output, add_tenants
from driftguard.cli._investigating import add_window, clients, options


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
        "--hunting-export",
        metavar="FILE",
        help="read Explorer's evidence from FILE (EmailEvents exported as CSV from advanced "
        "hunting or Threat Explorer) instead of advanced hunting (permission "
        "ThreatHunting.Read.All, Defender for Office 365 Plan 2)",
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
        choices=("audit", "blocked", "message-trace", "alerts", "accounts", "hunting"),
        default=[],
        metavar="SOURCE",
        help="leave out one source of evidence (audit, blocked, message-trace, alerts, "
        "accounts, hunting); repeatable. The report names what was left out",
    )
    add_output(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driftguard.app.investigate import check, investigate
    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.cli._output import emit_report, info

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    now = datetime.now(UTC)
    wanted = options(args, now)
    check(baseline, names, wanted)
    snapshots = snapshots_for(args, baseline, names)
    report = investigate(baseline, names, snapshots, wanted, clients(args), now)
    emit_report(report, args.format, args.output)  # text appends each tenant's investigation
    for tenant in report.tenants:
        if tenant.error:
            info(f"error: {tenant.tenant}: {tenant.error}")
    return report.exit_code  # drift, or an odd actor, a spike or an alert: 2
