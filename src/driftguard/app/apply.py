"""`apply` and `rollback` as functions: checks, approval, the lock, the journal, the run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from driftguard.apply import (
    ActionResult,
    ApplyResult,
    apply_checked,
    check_approval,
    check_not_expired,
    check_plan,
)
from driftguard.applylock import apply_lock
from driftguard.baseline.load import load_requested
from driftguard.errors import InputError
from driftguard.journal import Journal, JournalState, refuse_existing
from driftguard.planfile import format_time, short, to_document
from driftguard.planmodel import Plan

Ask = Callable[[Plan, str], str | None]
"""Shows a person the plan and returns the digest they approved, or None."""


@dataclass(frozen=True)
class ApplyRequest:
    baseline: str  # the baseline folder
    approve: str | None  # the approved digest, as given
    dry_run: bool
    journal_path: str
    keep_dry_journal: bool = False  # a dry run writes a journal only when one was named
    resume: JournalState | None = None


@dataclass(frozen=True)
class Applied:
    result: ApplyResult
    journal: str | None  # the journal written, if any


def journal_for(plan_path: str, digest: str) -> str:
    """The default journal: next to the plan, named by the plan's digest, so a new plan written
    to the same path gets a journal of its own."""
    return f"{plan_path}.{short(digest)}.journal.jsonl"


def apply_reviewed(
    plan: Plan,
    request: ApplyRequest,
    *,
    ask: Ask | None,
    on_result: Callable[[ActionResult], None],
) -> Applied:
    """Shared by apply and rollback: the checks a plan passes before anyone is asked (a revert
    plan is re-derived from the baseline, so what a person is shown is what runs), approval
    (``ask`` is called when none was given), the lock, the journal, the clients, the run."""
    from driftguard.app.clients import apply_clients

    baseline = load_requested(request.baseline, [plan.tenant])
    if plan.tenant not in baseline.tenants:
        raise InputError(f"tenant {plan.tenant!r} is not in the baseline {request.baseline}")
    tenant = baseline.tenants[plan.tenant]
    checked = check_plan(plan, tenant, baseline.ignores)
    digest = checked.digest
    approve = request.approve
    if not approve and ask is not None:
        approve = ask(plan, digest)
    # the cheap refusals come before any sign-in; apply_checked checks them again
    if approve or not request.dry_run:
        check_approval(digest, approve)
    check_not_expired(plan, datetime.now(UTC))
    with contextlib.ExitStack() as stack:
        if not request.dry_run:
            folder = Path(request.journal_path).parent
            stack.enter_context(
                apply_lock(folder, plan.tenant, plan.tenant_id, digest, datetime.now(UTC))
            )
            if request.resume is None:  # another run may have finished while this one waited
                refuse_existing(request.journal_path)
        journal = None
        if request.resume is not None:
            journal = Journal(request.journal_path)
        elif not request.dry_run or request.keep_dry_journal:
            header = {
                "plan_digest": digest,
                "tenant": plan.tenant,
                "tenant_id": plan.tenant_id,
                "purpose": plan.purpose,
                "dry_run": request.dry_run,
                "started_at": format_time(datetime.now(UTC)),
                "plan": to_document(plan),
            }
            journal = Journal(request.journal_path, header)
        if journal is not None:
            stack.callback(journal.close)
        on_accounts = any(a.kind.on_account for a in plan.actions)
        reader, writer, users = stack.enter_context(  # no Graph write credential: refused here
            apply_clients(tenant.config, on_accounts=on_accounts, dry_run=request.dry_run)
        )
        result = apply_checked(
            checked,
            approve=approve,
            reader=reader,
            writer=writer,
            clock=lambda: datetime.now(UTC),
            journal=journal,
            resume=request.resume,
            dry_run=request.dry_run,
            on_result=on_result,
            accounts=users,
        )
    return Applied(result, request.journal_path if journal is not None else None)
