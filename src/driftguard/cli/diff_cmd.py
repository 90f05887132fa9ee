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
    from driftguard.app.diff import Judged
    from driftguard.cli._common import Subcommands
    from driftguard.live.runner import TenantRead
    from driftguard.model import Report, TenantConfig


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
    from driftguard.cli._output import emit_report

    report = _explained(args) if args.explain else _judged(args)
    emit_report(report, args.format, args.output)
    _errors_to_stderr(report)
    from driftguard.cli._notify import notify
    from driftguard.notify import notice_for_report

    notify(args, notice_for_report(report))
    return report.exit_code


def _judged(args: argparse.Namespace) -> Report:
    """Each tenant judged as soon as its read and its connector files are there (app/diff.py):
    the reads start once every tenant.yaml is read. A problem in a connector file found while
    reading stops the run as a problem found before would: the reads in flight are cancelled,
    the rest of the baseline is checked, and every problem is reported (exit 1, no report)."""
    import functools
    from concurrent.futures import ThreadPoolExecutor

    from driftguard.app.diff import judge, judged_report, judging, lost_judged
    from driftguard.baseline.load import first_requested
    from driftguard.cli._live import outcomes_for, selected_names
    from driftguard.live.runner import Stopped

    requested = first_requested(args.baseline, args.tenants)
    if any(stage.problems for stage in requested.stages):
        requested.fail()
    names = selected_names(args, requested.names)
    today = datetime.now(UTC).date()
    configs = [requested.config(name) for name in names]

    def local(config: TenantConfig, read: TenantRead) -> Judged:
        return judge(read, requested.part(config.name), requested.ignores, today)

    # The tenants left out (--shard) are checked too, meanwhile: the baseline is one.
    chosen = set(names)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="driftguard-baseline") as pool:
        rest = pool.submit(requested.problems_of, [n for n in requested.names if n not in chosen])
        try:
            judged = outcomes_for(
                args,
                configs,
                local,
                lambda recipe: functools.partial(judging, recipe, requested, today),
                functools.partial(lost_judged, requested, today),
                until=lambda one: one.report is None,  # a connector file with a problem
            )
        except Stopped as stop:
            requested.fail(getattr(stop.outcome, "problems", ()))
        if problems := rest.result():
            requested.fail(problems)
    return judged_report(names, judged, datetime.now(UTC))


def _explained(args: argparse.Namespace) -> Report:
    """``--explain``: every snapshot is kept for the audit trail of each finding."""
    from driftguard.app.diff import diff_report
    from driftguard.baseline.load import load_requested
    from driftguard.cli._investigating import explain
    from driftguard.cli._live import selected_tenants, snapshots_for

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    snapshots = snapshots_for(args, baseline, names)
    report = diff_report(baseline, names, snapshots, datetime.now(UTC))
    return explain(report, baseline, args, snapshots)


def _errors_to_stderr(report: Report) -> None:
    from driftguard.cli._output import info

    for tenant in report.tenants:
        if tenant.error:
            info(f"error: {tenant.tenant}: {tenant.error}")
