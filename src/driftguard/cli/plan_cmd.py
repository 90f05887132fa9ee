"""`driftguard plan`: diff + revert plan. Exit 0 nothing to do, 2 actions planned, 1 error."""

from __future__ import annotations

import argparse
from typing import Any

from driftguard.cli._common import add_baseline, add_tenants
from driftguard.cli._live import add_live

DEFAULT_EXPIRY_HOURS = 24.0


def register(sub: Any) -> None:
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
    from driftguard.cli.investigate_cmd import add_explain

    add_explain(parser)
    parser.add_argument("--out", metavar="PLAN", help="write the plan file (JSON) to PLAN")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="how the plan is shown on stdout: text for people, json for tools (default: text)",
    )
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.cli._output import emit, info, safe_terminal
    from driftguard.core import live_connectors, tenant_report
    from driftguard.derive import revert_plan
    from driftguard.errors import InputError, LiveReadError
    from driftguard.live.files import snapshot_digest
    from driftguard.model import Status
    from driftguard.plan import PlanOptions
    from driftguard.planfile import dumps, render_text, write_plan
    from driftguard.safety import SafetyLimits
    from driftguard.tenantstate import TenantState

    if args.max_disable < 0 or not 0 <= args.max_disable_share <= 100:
        raise InputError("--max-disable must be 0 or more, --max-disable-share 0 to 100")
    if not 0 <= args.mail_window <= 24 * 90:
        raise InputError("--mail-window must be between 0 and 2160 hours (90 days)")
    if not 0 < args.expires_in <= 24 * 30:
        raise InputError("--expires-in must be more than 0 and at most 720 hours")
    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    if len(names) != 1:
        raise InputError(
            f"a plan is for one tenant, but {len(names)} are selected",
            hint="add --tenant T",
        )
    name = names[0]
    tenant = baseline.tenants[name]
    live = snapshots_for(args, baseline, names)[name]
    if isinstance(live, Exception):
        raise live
    now = datetime.now(UTC).replace(microsecond=0)
    report = tenant_report(tenant, live, baseline.ignores, now.date())
    if report.status is Status.ERROR:
        raise LiveReadError(f"tenant {name}: {report.error}", tenant=name)
    for warning in report.warnings:
        info(f"warning: {warning}")
    if args.explain:
        explain_to_stderr(args, baseline, report, live, now)
    connectors = live_connectors(live)
    counts = mail_counts(report.evidence)
    blocks = None
    if not args.live:
        blocks = blocked(tenant.config)
        if args.mail_window > 0:
            counts = recent_mail(tenant.config, connectors, now, args.mail_window)
    plan = revert_plan(
        tenant,
        TenantState.of(connectors, blocks),
        baseline.ignores,
        created_at=now,
        expires_at=now + timedelta(hours=args.expires_in),
        snapshot_digest=snapshot_digest(live.records),
        baseline_commit=baseline_commit(
            tenant.config.location.path if tenant.config.location else None
        ),
        options=PlanOptions(
            remove_unknown=args.remove_unknown,
            force=args.force,
            limits=SafetyLimits(
                max_disabled=args.max_disable, max_fraction=args.max_disable_share / 100
            ),
        ),
        mail_counts=counts,
    )
    if args.out:
        write_plan(args.out, plan)
        info(f"plan written to {args.out}")
    if args.format == "json":
        emit(dumps(plan), None)
    else:
        emit(safe_terminal(render_text(plan)), None)
    return 2 if plan.actions else 0


def explain_to_stderr(args: Any, baseline: Any, report: Any, live: Any, now: Any) -> None:
    """``--explain``: who made the changes the plan reverts, on stderr (the plan on stdout stays
    exactly the plan)."""
    from driftguard.cli._output import info
    from driftguard.cli.investigate_cmd import explain
    from driftguard.investigate import textview
    from driftguard.model import Report

    explained = explain(
        Report(generated_at=now, tenants=(report,), command="plan"),
        baseline,
        args,
        {report.tenant: live},
    )
    for tenant in explained.tenants:
        if tenant.error:
            info(f"warning: {tenant.tenant}: no explanation: {tenant.error}")
    for line in textview.render(explained).splitlines():
        info(line)


def blocked(config: Any) -> list[Any] | None:
    """The connectors the service restricted (read with the read credential), or None.

    A failed read of the blocked list leaves the unblock step out, with a warning: it cannot
    hide drift, and reverting the connectors matters more than unblocking them. The plan then
    records that the blocked list was not read.
    """
    from driftguard.cli._output import info
    from driftguard.cli.apply_cmd import read_client
    from driftguard.errors import DriftguardError
    from driftguard.investigate.blocked import get_blocked
    from driftguard.tenantstate import BlockedEntry

    try:
        with read_client(config) as client:
            return [BlockedEntry(b.connector_id, b.name) for b in get_blocked(client)]
    except DriftguardError as exc:
        info(
            f"warning: {config.name}: blocked connectors not read ({exc.message}); "
            "the plan has no unblock step"
        )
        return None


def recent_mail(config: Any, connectors: Any, now: Any, hours: float) -> dict[str, int]:
    """Messages per connector in the last ``hours`` of the message trace (attributed by FromIP,
    deduplicated on MessageTraceId). A failed read is an error: the safety check needs it."""
    from datetime import timedelta

    from driftguard.cli.apply_cmd import read_client
    from driftguard.investigate.messagetrace import ConnectorMatcher, trace_rows

    matcher = ConnectorMatcher(connectors)
    seen: set[str] = set()
    counts: dict[str, int] = {}
    with read_client(config) as client:
        for row in trace_rows(client, now - timedelta(hours=hours), now):
            key = str(row.get("MessageTraceId") or "") + "/" + str(row.get("RecipientAddress"))
            if key in seen:
                continue
            seen.add(key)
            for name in matcher(row.get("FromIP")):
                counts[name] = counts.get(name, 0) + 1
    return counts


def baseline_commit(tenant_file: str | None) -> str | None:
    """``git rev-parse HEAD`` of the folder holding the tenant's baseline, when it is in git."""
    import shutil
    import subprocess
    from pathlib import Path

    git = shutil.which("git")
    if git is None or tenant_file is None:
        return None
    folder = Path(tenant_file).resolve().parent
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [git, "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip().lower()
    if done.returncode != 0 or not 7 <= len(commit) <= 64:
        return None
    return commit if all(c in "0123456789abcdef" for c in commit) else None


def mail_counts(evidence: Any) -> dict[str, int] | None:
    """Recent messages per connector (name or Guid) from investigation evidence, when present.

    Reads ``evidence["recent_messages"]``: a mapping of connector to message count.
    """
    if not isinstance(evidence, dict):
        return None
    counts = evidence.get("recent_messages")
    if not isinstance(counts, dict):
        return None
    return {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}
