"""Running a plan for apply and rollback: the approval prompt, each outcome, the summary."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driftguard.app.apply import Applied, ApplyRequest
    from driftguard.apply import ActionResult
    from driftguard.planmodel import Plan


def execute(plan: Plan, request: ApplyRequest, plan_path: str | None = None) -> int:
    """Shared by apply and rollback: the run, each action's outcome as it comes, the summary.
    Interrupted (Ctrl-C), it says how far it got and how to go on before the interrupt goes on
    to the exit code (130); ``plan_path`` makes that a ready ``--resume`` command."""
    from driftguard.app.apply import apply_reviewed

    interactive = not request.approve and not request.dry_run
    ask = _ask if interactive and sys.stdin.isatty() and sys.stdout.isatty() else None
    shown: list[ActionResult] = []

    def show(result: ActionResult) -> None:
        shown.append(result)
        _show(result)

    try:
        applied = apply_reviewed(plan, request, ask=ask, on_result=show)
    except KeyboardInterrupt:
        _interrupted(len(shown), plan, request, plan_path)
        raise
    _summary(applied)
    return applied.result.exit_code


def _interrupted(done: int, plan: Plan, request: ApplyRequest, plan_path: str | None) -> None:
    from pathlib import Path

    from driftguard.cli._output import info
    from driftguard.journal import interrupted_lines
    from driftguard.planfile import plan_digest

    journal = request.journal_path if Path(request.journal_path).exists() else None
    resume = None
    if plan_path is not None and journal is not None:
        digest = plan_digest(plan)
        resume = f"driftguard apply {plan_path} --approve {digest} --resume {journal}"
    for line in interrupted_lines(done, len(plan.actions), journal, resume):
        info(line)


def _ask(plan: Plan, digest: str) -> str | None:
    from driftguard.cli._output import safe_terminal
    from driftguard.planfile import render_text, short

    print(safe_terminal(render_text(plan)))
    try:
        typed = input(
            f"Type the first 8 characters of the digest ({short(digest)[:2]}...) to apply: "
        )
    except EOFError:
        return None
    return digest if typed.strip().lower() == short(digest) else None


def _show(result: ActionResult) -> None:
    from driftguard.cli._output import safe_terminal

    a = result.action
    word = {"applied": "Applied", "skipped": "Skipped", "failed": "FAILED"}[result.outcome.value]
    if word == "Applied" and not result.verified and result.message.startswith("dry run"):
        word = "Would apply"
    print(safe_terminal(f"{word:8} [{a.id}] {a.connector}: {result.message}"))
    print(safe_terminal(f"         {a.command}"), flush=True)


def _summary(applied: Applied) -> None:
    from driftguard.cli._output import info

    result = applied.result
    counts = {
        k: sum(1 for r in result.results if r.outcome.value == k)
        for k in ("applied", "skipped", "failed")
    }
    verb = "would apply" if result.dry_run else "applied"
    mode = " (dry run: nothing was written)" if result.dry_run else ""
    info(
        f"{counts['applied']} {verb}, {counts['skipped']} skipped, {counts['failed']} failed{mode}"
    )
    if applied.journal:
        info(f"journal: {applied.journal}")
