"""`driftguard plan`: diff + revert plan. Exit 0 nothing to do, 2 actions planned, 1 error."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from driftguard.cli._common import add_baseline, add_tenants
from driftguard.cli._live import add_live
from driftguard.cli._notify import add_notify, notifying
from driftguard.cli._planning import add_plan_options, one_tenant, plan_request

if TYPE_CHECKING:
    from datetime import datetime

    from driftguard.cli._common import Subcommands
    from driftguard.model import Baseline, Snapshot, TenantReport


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "plan",
        help="make a reviewed, digest-bound plan that reverts the drift",
        description="Diff one tenant and write the ordered actions that restore its baseline: "
        "disable unknown connectors, revert changed properties, recreate missing connectors, "
        "unblock restricted ones. Exit 0: nothing to do, 2: actions planned, 1: error.",
    )
    add_baseline(parser)
    add_tenants(parser)
    add_live(parser)
    from driftguard.cli._investigating import add_explain

    add_explain(parser)
    parser.add_argument("--out", metavar="PLAN", help="write the plan file (JSON) to PLAN")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="how the plan is shown on stdout: text for people, json for tools (default: text)",
    )
    add_plan_options(parser)
    add_notify(parser)
    parser.set_defaults(func=notifying("plan", run))


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from driftguard.app.plan import diff_for_plan, plan_for_tenant
    from driftguard.cli._output import emit, info, safe_terminal
    from driftguard.planfile import dumps, render_text, write_plan

    request = plan_request(args)
    name, baseline, live = one_tenant(args)
    now = datetime.now(UTC).replace(microsecond=0)
    diff = diff_for_plan(baseline.tenants[name], live, baseline.ignores, now)
    for warning in diff.report.warnings:
        info(f"warning: {warning}")
    if args.explain:
        explain_to_stderr(args, baseline, diff.report, live, now)
    plan = plan_for_tenant(
        diff, baseline.ignores, request, now=now, warn=lambda m: info(f"warning: {m}")
    )
    if args.out:
        write_plan(args.out, plan)
        info(f"plan written to {args.out}")
    if args.format == "json":
        emit(dumps(plan), None)
    else:
        emit(safe_terminal(render_text(plan)), None)
    from driftguard.cli._notify import notify
    from driftguard.notify import notice_for_plan

    notify(args, notice_for_plan(name, len(plan.actions)))
    return 2 if plan.actions else 0


def explain_to_stderr(
    args: argparse.Namespace,
    baseline: Baseline,
    report: TenantReport,
    live: Snapshot,
    now: datetime,
) -> None:
    """``--explain``: who made the changes the plan reverts, on stderr (the plan on stdout stays
    exactly the plan)."""
    from driftguard.cli._investigating import explain
    from driftguard.cli._output import info
    from driftguard.model import Report
    from driftguard.report import investigation_text

    explained = explain(
        Report(generated_at=now, tenants=(report,), command="plan"),
        baseline,
        args,
        {report.tenant: live},
    )
    for tenant in explained.tenants:
        if tenant.error:
            info(f"warning: {tenant.tenant}: no explanation: {tenant.error}")
    for line in investigation_text.render(explained).splitlines():
        info(line)
