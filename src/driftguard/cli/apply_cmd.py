"""`driftguard apply PLAN`: apply a reviewed plan. Exit 0 applied and verified, 1 refused/failed."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftguard.apply import ActionResult, ApplyResult, Invoker
    from driftguard.model import TenantConfig
    from driftguard.plan import Plan


def register(sub: Any) -> None:
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


def add_apply_options(parser: argparse.ArgumentParser) -> None:
    from driftguard.cli._common import add_baseline

    parser.add_argument("--approve", metavar="DIGEST", help="the digest of the reviewed plan")
    parser.add_argument(
        "--dry-run", action="store_true", help="run every check and step, but write nothing"
    )
    parser.add_argument(
        "--journal",
        metavar="FILE",
        help="where to write the journal (default: next to the plan, named by its digest)",
    )
    add_baseline(parser)


def run(args: argparse.Namespace) -> int:
    from driftguard.errors import ApplyError, PlanError
    from driftguard.journal import read_journal
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
        _refuse_existing(journal_path)
    if resume is not None and resume.header.get("dry_run"):
        raise ApplyError(f"{args.resume} is the journal of a dry run; there is nothing to resume")
    return execute(plan, args, journal_path, resume=resume)


def journal_for(plan_path: str, digest: str) -> str:
    """The default journal: next to the plan, named by the plan's digest, so a new plan written
    to the same path gets a journal of its own."""
    from driftguard.planfile import short

    return f"{plan_path}.{short(digest)}.journal.jsonl"


def _refuse_existing(path: str) -> None:
    from driftguard.journal import refuse_existing

    refuse_existing(path)


def execute(plan: Plan, args: argparse.Namespace, journal_path: str, *, resume: Any = None) -> int:
    """Shared by apply and rollback: approval, clients, lock, journal, results, exit code."""
    import sys
    from datetime import UTC, datetime
    from pathlib import Path

    from driftguard.apply import apply_plan, check_approval, check_not_expired, check_tenant
    from driftguard.applylock import apply_lock
    from driftguard.baseline.load import load_requested
    from driftguard.derive import check_derivation
    from driftguard.errors import InputError
    from driftguard.journal import Journal
    from driftguard.planfile import format_time, plan_digest, to_document

    baseline = load_requested(args.baseline, [plan.tenant])
    if plan.tenant not in baseline.tenants:
        raise InputError(f"tenant {plan.tenant!r} is not in the baseline {args.baseline}")
    tenant = baseline.tenants[plan.tenant]
    check_tenant(plan, tenant.config)
    if plan.purpose == "revert":  # before the prompt: what a person is shown is what runs
        check_derivation(plan, tenant, baseline.ignores)
    digest = plan_digest(plan)
    approve = args.approve
    if not approve and not args.dry_run and sys.stdin.isatty() and sys.stdout.isatty():
        approve = _ask(plan, digest)
    # the cheap refusals come before any sign-in; apply_plan checks them again
    if approve or not args.dry_run:
        check_approval(digest, approve)
    check_not_expired(plan, datetime.now(UTC))
    with contextlib.ExitStack() as stack:
        if not args.dry_run:
            folder = Path(journal_path).parent
            stack.enter_context(
                apply_lock(folder, plan.tenant, plan.tenant_id, digest, datetime.now(UTC))
            )
            if resume is None:  # another run may have finished while this one waited
                _refuse_existing(journal_path)
        journal = None
        if resume is not None:
            journal = Journal(journal_path)
        elif not args.dry_run or args.journal:
            header = {
                "plan_digest": digest,
                "tenant": plan.tenant,
                "tenant_id": plan.tenant_id,
                "purpose": plan.purpose,
                "dry_run": bool(args.dry_run),
                "started_at": format_time(datetime.now(UTC)),
                "plan": to_document(plan),
            }
            journal = Journal(journal_path, header)
        if journal is not None:
            stack.callback(journal.close)
        reader, writer = stack.enter_context(clients(tenant.config))
        shown: list[ActionResult] = []

        def show(result: ActionResult) -> None:
            shown.append(result)
            _show(result)

        try:
            result = apply_plan(
                plan,
                approve=approve,
                tenant=tenant,
                ignores=baseline.ignores,
                reader=reader,
                writer=writer,
                clock=lambda: datetime.now(UTC),
                journal=journal,
                resume=resume,
                dry_run=args.dry_run,
                on_result=show,
            )
        except KeyboardInterrupt:
            _interrupted(len(shown), len(plan.actions), args, journal_path, journal, digest)
            raise
    _summary(result, journal_path if journal is not None else None)
    return result.exit_code


def _interrupted(
    done: int, total: int, args: argparse.Namespace, path: str, journal: Any, digest: str
) -> None:
    from driftguard.cli._output import info
    from driftguard.journal import interrupted_lines

    plan_path = getattr(args, "plan", None)
    resume = (
        f"driftguard apply {plan_path} --approve {digest} --resume {path}"
        if plan_path is not None
        else None
    )
    for line in interrupted_lines(done, total, path if journal is not None else None, resume):
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


def _source_for(config: TenantConfig) -> tuple[Any, TenantConfig]:
    """The ExchangeSource (and effective config) for a tenant.

    The demo tenant runs against the simulator in-process, its state kept in the user's data
    folder, so a following ``driftguard diff --tenant demo`` sees what apply changed.
    """
    from driftguard.live.service import ExchangeSource

    if config.name == "demo":
        from driftguard.sim.inprocess import demo_environment

        env = demo_environment()
        return ExchangeSource(session_factory=lambda _endpoints: env.session), env.tenant
    return ExchangeSource(), config


@contextlib.contextmanager
def read_client(config: TenantConfig) -> Iterator[Invoker]:
    """A client with the read credential only (plan never holds the write credential)."""
    source, effective = _source_for(config)
    with source.client(effective, purpose="read") as reader:
        yield reader


@contextlib.contextmanager
def clients(config: TenantConfig) -> Iterator[tuple[Invoker, Invoker]]:
    """A read client (the read credential) and a write client (the separate write credential)."""
    source, effective = _source_for(config)
    with (
        source.client(effective, purpose="read") as reader,
        source.client(effective, purpose="write") as writer,
    ):
        yield reader, writer


def _show(result: ActionResult) -> None:
    from driftguard.cli._output import safe_terminal

    a = result.action
    word = {"applied": "Applied", "skipped": "Skipped", "failed": "FAILED"}[result.outcome.value]
    if word == "Applied" and not result.verified and result.message.startswith("dry run"):
        word = "Would apply"
    print(safe_terminal(f"{word:8} [{a.id}] {a.connector}: {result.message}"))
    print(safe_terminal(f"         {a.powershell}"), flush=True)


def _summary(result: ApplyResult, journal: str | None) -> None:
    from driftguard.cli._output import info

    counts = {
        k: sum(1 for r in result.results if r.outcome.value == k)
        for k in ("applied", "skipped", "failed")
    }
    applied = "would apply" if result.dry_run else "applied"
    mode = " (dry run: nothing was written)" if result.dry_run else ""
    info(
        f"{counts['applied']} {applied}, {counts['skipped']} skipped, "
        f"{counts['failed']} failed{mode}"
    )
    if journal:
        info(f"journal: {journal}")
