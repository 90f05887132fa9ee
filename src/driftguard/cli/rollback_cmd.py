"""`driftguard rollback JOURNAL`: restore the before-state an apply journalled.

The journal becomes a rollback plan (shown with its digest); it is applied like any plan, with
approval, the stale check, its own journal and verification. Exit 0 restored, 1 refused or failed.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from driftguard.cli._common import add_apply_options

if TYPE_CHECKING:
    from driftguard.cli._common import Subcommands


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "rollback",
        help="undo an applied plan from its journal (needs the rollback plan's digest)",
        description="Build the plan that restores what an apply journal recorded as the "
        "before-state, show it, and apply it once approved. Exit 0: restored, 1: refused/failed.",
    )
    parser.add_argument("journal_file", metavar="JOURNAL", help="the journal of an apply")
    add_apply_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driftguard.app.apply import ApplyRequest
    from driftguard.cli._applying import execute
    from driftguard.cli._output import emit, safe_terminal
    from driftguard.journal import read_journal, refuse_existing
    from driftguard.planfile import render_text
    from driftguard.rollback import rollback_plan

    plan = rollback_plan(read_journal(args.journal_file))
    journal_path = args.journal or f"{args.journal_file}.rollback.jsonl"
    if not args.approve:
        emit(safe_terminal(render_text(plan)), None)
    if not plan.actions:
        return 0
    if not args.dry_run:
        refuse_existing(journal_path)
    request = ApplyRequest(
        baseline=args.baseline,
        approve=args.approve,
        dry_run=args.dry_run,
        journal_path=journal_path,
        keep_dry_journal=bool(args.journal),
    )
    return execute(plan, request)
