"""`driftguard diff`: baseline vs live, findings. Exit 0 none, 2 drift, 1 error (CONTRACT.md)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from driftguard.cli._common import add_baseline, add_output, add_tenants
from driftguard.cli._investigating import add_explain
from driftguard.cli._live import add_live
from driftguard.cli._notify import add_notify, notifying

if TYPE_CHECKING:
    from driftguard.cli._common import Subcommands
    from driftguard.model import Report


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "diff",
        help="compare the baseline with the live connectors",
        description="Compare the approved connectors (baseline) with the live ones and rate "
        "every difference. Exit 0: no drift, 2: drift, 1: error.",
    )
    add_baseline(parser)
    add_tenants(parser)
    add_live(parser)
    add_explain(parser)
    add_output(parser)
    add_notify(parser)
    parser.set_defaults(func=notifying("diff", run))


def run(args: argparse.Namespace) -> int:
    from driftguard.app.diff import diff_report
    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.cli._output import emit_report

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    snapshots = snapshots_for(args, baseline, names)
    report = diff_report(baseline, names, snapshots, datetime.now(UTC))
    if args.explain:
        from driftguard.cli._investigating import explain

        report = explain(report, baseline, args, snapshots)
    emit_report(report, args.format, args.output)
    _errors_to_stderr(report)
    from driftguard.cli._notify import notify
    from driftguard.notify import notice_for_report

    notify(args, notice_for_report(report))
    return report.exit_code


def _errors_to_stderr(report: Report) -> None:
    from driftguard.cli._output import info

    for tenant in report.tenants:
        if tenant.error:
            info(f"error: {tenant.tenant}: {tenant.error}")
