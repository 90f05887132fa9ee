"""`driftguard plan`: diff + revert plan. Exit 0 nothing to do, 2 actions planned, 1 error."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from driftguard.cli._common import add_baseline, add_tenants
from driftguard.cli._live import add_live
from driftguard.cli._notify import add_notify, notifying

if TYPE_CHECKING:
    from datetime import datetime

    from driftguard.app.plan import PlanRequest
    from driftguard.cli._common import Subcommands
    from driftguard.model import Baseline, Snapshot, TenantReport

DEFAULT_EXPIRY_HOURS = 24.0


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


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """The options of the revert plan (``plan`` and ``respond``)."""
    parser.add_argument(
        "--remove-unknown",
        action="store_true",
        help="remove unknown connectors instead of disabling them (disabling keeps the evidence)",
    )
    parser.add_argument(
        "--force", action="store_true", help="accept a plan the safety limits call unsafe"
    )
    parser.add_argument(
        "--expires-in",
        type=float,
        default=DEFAULT_EXPIRY_HOURS,
        metavar="HOURS",
        help=f"how long the plan may be applied (default {DEFAULT_EXPIRY_HOURS:g} hours)",
    )
    parser.add_argument(
        "--max-disable",
        type=int,
        default=3,
        metavar="N",
        help="a plan disabling or removing more than N connectors needs --force (default 3)",
    )
    parser.add_argument(
        "--max-disable-share",
        type=float,
        default=50.0,
        metavar="PERCENT",
        help="... or more than PERCENT of the tenant's connectors (default 50)",
    )
    parser.add_argument(
        "--mail-window",
        type=float,
        default=0.0,
        metavar="HOURS",
        help="read the message trace of the last HOURS (read credential) and require --force "
        "for actions on connectors that carried mail in it (default: off)",
    )


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


def plan_request(args: argparse.Namespace) -> PlanRequest:
    """The plan options of the command line, checked."""
    from datetime import timedelta

    from driftguard.app.plan import PlanRequest
    from driftguard.errors import InputError
    from driftguard.plan import PlanOptions
    from driftguard.safety import SafetyLimits

    if args.max_disable < 0 or not 0 <= args.max_disable_share <= 100:
        raise InputError("--max-disable must be 0 or more, --max-disable-share 0 to 100")
    if not 0 <= args.mail_window <= 24 * 90:
        raise InputError("--mail-window must be between 0 and 2160 hours (90 days)")
    if not 0 < args.expires_in <= 24 * 30:
        raise InputError("--expires-in must be more than 0 and at most 720 hours")
    return PlanRequest(
        options=PlanOptions(
            remove_unknown=args.remove_unknown,
            force=args.force,
            limits=SafetyLimits(
                max_disabled=args.max_disable, max_fraction=args.max_disable_share / 100
            ),
        ),
        expires_in=timedelta(hours=args.expires_in),
        mail_window=timedelta(hours=args.mail_window) if args.mail_window > 0 else None,
        read_service=not getattr(args, "live", None),
    )


def one_tenant(args: argparse.Namespace) -> tuple[str, Baseline, Snapshot]:
    """The one selected tenant, the baseline and its live state (an error if not read)."""
    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.errors import InputError

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    if len(names) != 1:
        raise InputError(
            f"a plan is for one tenant, but {len(names)} are selected",
            hint="add --tenant T",
        )
    name = names[0]
    live = snapshots_for(args, baseline, names)[name]
    if isinstance(live, Exception):
        raise live
    return name, baseline, live


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
