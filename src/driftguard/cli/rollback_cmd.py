"""`driftguard rollback JOURNAL`: restore the before-state an apply journalled.

The journal becomes a rollback plan (shown with its digest); it is applied like any plan, with
approval, the stale check, its own journal and verification. Exit 0 restored, 1 refused or failed.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    from driftguard.cli.apply_cmd import add_apply_options

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
    from driftguard.cli._output import emit, safe_terminal
    from driftguard.cli.apply_cmd import _refuse_existing, execute
    from driftguard.journal import read_journal
    from driftguard.planfile import render_text
    from driftguard.rollback import rollback_plan

    plan = rollback_plan(read_journal(args.journal_file))
    journal_path = args.journal or f"{args.journal_file}.rollback.jsonl"
    if not args.approve:
        emit(safe_terminal(render_text(plan)), None)
    if not plan.actions:
        return 0
    if not args.dry_run:
        _refuse_existing(journal_path)
    return execute(plan, args, journal_path)
