"""`driftguard diff`: baseline vs live, findings. Exit 0 none, 2 drift, 1 error (CONTRACT.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from driftguard.cli._common import add_baseline, add_output, add_tenants
from driftguard.cli._live import add_live
from driftguard.cli._notify import add_notify, notifying
from driftguard.cli.investigate_cmd import add_explain


def register(sub: Any) -> None:
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
    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.core import error_report, tenant_report
    from driftguard.model import Report

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    now = datetime.now(UTC)
    today = now.date()
    snapshots = snapshots_for(args, baseline, names)
    tenants = []
    for name in names:
        live = snapshots[name]
        if isinstance(live, Exception):
            tenants.append(error_report(name, live))
        else:
            tenants.append(tenant_report(baseline.tenants[name], live, baseline.ignores, today))
    report = Report(generated_at=now, tenants=tuple(tenants), command="diff")
    if args.explain:
        from driftguard.cli.investigate_cmd import emit, explain

        report = explain(report, baseline, args, snapshots)
        emit(report, args.format, args.output)
    else:
        emit_report(report, args.format, args.output)
    _errors_to_stderr(report)
    from driftguard.cli._notify import notify
    from driftguard.notify import notice_for_report

    notify(args, notice_for_report(report))
    return report.exit_code


def emit_report(report: Any, fmt: str, output: str | None) -> None:
    """Render ``report`` in ``fmt`` and write it; colour only for text on a terminal."""
    from driftguard.cli._output import emit, wants_color
    from driftguard.errors import DriftguardError

    if fmt == "text":
        from driftguard.report.text_format import render_color

        color = not output and wants_color(sys.stdout)
        text = render_color(report, color=color)
    else:
        from driftguard.report import renderer_for

        try:
            renderer = renderer_for(fmt)
        except ModuleNotFoundError as exc:
            if exc.name != f"driftguard.report.{fmt}_format":
                raise
            raise DriftguardError(
                f"the {fmt} report format is not available in this driftguard",
                hint="use --format text or --format json",
            ) from exc
        text = renderer(report)
    emit(text, output)


def _errors_to_stderr(report: Any) -> None:
    from driftguard.cli._output import info

    for tenant in report.tenants:
        if tenant.error:
            info(f"error: {tenant.tenant}: {tenant.error}")
