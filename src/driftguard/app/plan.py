"""`plan` as a function: one tenant's diff, the blocked list and recent mail, the revert plan."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from driftguard.core import TenantDiff, tenant_diff
from driftguard.derive import revert_plan
from driftguard.diff import Drift
from driftguard.errors import DriftguardError, LiveReadError
from driftguard.live.files import connectors_digest
from driftguard.model import IgnoreEntry, Snapshot, Status, TenantBaseline, TenantConfig
from driftguard.plan import PlanOptions
from driftguard.planmodel import Plan
from driftguard.tenantstate import BlockedEntry, TenantState

Warn = Callable[[str], None]


@dataclass(frozen=True)
class PlanRequest:
    """What the person asked for, besides the tenant and its live state."""

    options: PlanOptions
    expires_in: timedelta
    mail_window: timedelta | None  # None: no message trace read, no mail safety check
    read_service: bool  # False when the live state came from a file: no blocked list either


def diff_for_plan(
    tenant: TenantBaseline, snapshot: Snapshot, ignores: Sequence[IgnoreEntry], now: datetime
) -> TenantDiff:
    """The tenant's diff; a tenant that could not be read completely is an error, not a plan."""
    diff = tenant_diff(tenant, snapshot, ignores, now.date())
    if diff.report.status is Status.ERROR:
        name = tenant.config.name
        raise LiveReadError(f"tenant {name}: {diff.report.error}", tenant=name)
    return diff


def plan_for_tenant(
    diff: TenantDiff,
    ignores: Sequence[IgnoreEntry],
    request: PlanRequest,
    *,
    now: datetime,
    warn: Warn,
) -> Plan:
    """The revert plan for ``diff`` (made at ``now``), recording the live state
    it was made from; the blocked list and the message trace are read with the read credential."""
    drift = diff.drift
    config = drift.tenant.config
    blocks = blocked_entries(config, warn) if request.read_service else None
    counts = None
    if request.read_service and request.mail_window is not None:
        counts = recent_mail(config, drift, now, request.mail_window)
    return revert_plan(
        drift,
        TenantState.of(drift.live, blocks),
        ignores,
        created_at=now,
        expires_at=now + request.expires_in,
        snapshot_digest=connectors_digest(drift.live),  # every record normalised: no error
        baseline_commit=baseline_commit(config.location.path if config.location else None),
        options=request.options,
        mail_counts=counts,
    )


def blocked_entries(config: TenantConfig, warn: Warn) -> list[BlockedEntry] | None:
    """The connectors the service restricted (read with the read credential), or None.

    A failed read of the blocked list leaves the unblock step out, with a warning: it cannot
    hide drift, and reverting the connectors matters more than unblocking them. The plan then
    records that the blocked list was not read.
    """
    from driftguard.app.clients import read_client
    from driftguard.investigate.blocked import get_blocked

    try:
        with read_client(config) as client:
            return [BlockedEntry(b.connector_id, b.name) for b in get_blocked(client)]
    except DriftguardError as exc:
        warn(
            f"{config.name}: blocked connectors not read ({exc.message}); "
            "the plan has no unblock step"
        )
        return None


def recent_mail(
    config: TenantConfig, drift: Drift, now: datetime, window: timedelta
) -> Mapping[str, int]:
    """Messages per connector in the last ``window`` of the message trace, counted as the
    investigation counts them (mailflow: deduplicated, attributed by FromIP). A failed read is
    an error: the safety check needs it."""
    from driftguard.app.clients import read_client
    from driftguard.investigate.mailflow import aggregate
    from driftguard.investigate.messagetrace import trace_rows

    start = now - window
    with read_client(config) as client:
        flow = aggregate(trace_rows(client, start, now), drift.live, (), start, now)
    return {name: sum(d.volume for d in days.values()) for name, days in flow.per_connector.items()}


def baseline_commit(tenant_file: str | None) -> str | None:
    """``git rev-parse HEAD`` of the folder holding the tenant's baseline, when it is in git."""
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
