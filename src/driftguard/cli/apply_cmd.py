"""`driftguard apply PLAN`: apply a reviewed plan. Exit 0 applied and verified, 1 refused/failed."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from driftguard.cli._common import add_apply_options

if TYPE_CHECKING:
    from driftguard.cli._common import Subcommands


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "apply",
        help="apply a reviewed plan (needs its digest as approval)",
        description="Apply a plan made by 'driftguard plan --out PLAN'. Refuses without approval, "
        "a tampered or expired plan, a plan for another tenant, and a stale plan (the live state "
        "changed since planning). Exit 0: applied and verified, 1: refused or failed.",
    )
    parser.add_argument("plan", metavar="PLAN", help="the plan file")
    add_apply_options(parser)
    parser.add_argument(
        "--resume", metavar="JOURNAL", help="finish an interrupted run recorded in JOURNAL"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driftguard.app.apply import ApplyRequest, journal_for
    from driftguard.cli._applying import execute
    from driftguard.errors import ApplyError, PlanError
    from driftguard.journal import read_journal, refuse_existing
    from driftguard.planfile import plan_digest, read_plan

    plan = read_plan(args.plan)
    if plan.purpose != "revert":
        raise PlanError(
            f"{args.plan} is a {plan.purpose} plan, not a revert plan",
            hint="a rollback is built from its journal and applied with 'driftguard rollback'",
        )
    resume = read_journal(args.resume) if args.resume else None
    journal_path = args.resume or args.journal or journal_for(args.plan, plan_digest(plan))
    if resume is None and not args.dry_run:
        refuse_existing(journal_path)
    if resume is not None and resume.header.get("dry_run"):
        raise ApplyError(f"{args.resume} is the journal of a dry run; there is nothing to resume")
    request = ApplyRequest(
        baseline=args.baseline,
        approve=args.approve,
        dry_run=args.dry_run,
        journal_path=journal_path,
        keep_dry_journal=bool(args.journal),
        resume=resume,
    )
    return execute(plan, request, args.plan)
