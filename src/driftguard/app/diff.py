"""`diff` as functions: every selected tenant's report, an unreadable tenant as an error.

``diff_report`` judges snapshots already read (``--explain`` needs them afterwards). The many-
tenant path judges each tenant where it was read, as soon as its read and its connector files
are both there, and keeps only its report (``judging``): the reads start once every tenant.yaml
is known, the connector files are loaded meanwhile (``baseline.ahead``), and the snapshots are
never held all at once, in this process or in the worker processes (``--processes``), which
send back only the report.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from driftguard.baseline.ahead import Ahead
from driftguard.baseline.load import Requested, TenantPart
from driftguard.core import error_report, tenant_report
from driftguard.errors import LiveReadError, Problem
from driftguard.live.runner import TenantRead, Work
from driftguard.model import (
    Baseline,
    IgnoreEntry,
    Report,
    Snapshot,
    TenantBaseline,
    TenantConfig,
    TenantReport,
)

if TYPE_CHECKING:
    from driftguard.live.processes import SourceRecipe


def diff_report(
    baseline: Baseline,
    names: Sequence[str],
    snapshots: Mapping[str, Snapshot | Exception],
    now: datetime,
) -> Report:
    """The diff of each tenant in ``names`` against its snapshot (or the error reading it)."""
    tenants = tuple(
        _report(baseline.tenants[name], name, snapshots[name], baseline.ignores, now.date())
        for name in names
    )
    return Report(generated_at=now, tenants=tenants, command="diff")


def _report(
    tenant: TenantBaseline,
    name: str,
    live: Snapshot | Exception,
    ignores: Sequence[IgnoreEntry],
    today: date,
) -> TenantReport:
    """One tenant's report: its diff, or the error that kept it from being read."""
    if isinstance(live, Exception):
        return error_report(name, live, tenant.config.location)
    return tenant_report(tenant, live, ignores, today)


@dataclass(frozen=True)
class Judged:
    """One tenant judged: its report, or (no report) the problems of its baseline files."""

    tenant: str
    ok: bool  # the tenant was read
    report: TenantReport | None
    problems: tuple[Problem, ...] = ()


def judge(
    read: TenantRead,
    part: TenantPart,
    ignores: Sequence[IgnoreEntry],
    today: date,
) -> Judged:
    """``read`` judged against the tenant's baseline ``part`` (as ``diff_report`` would)."""
    if part.problems or part.tenant is None:
        return Judged(read.tenant, read.ok, None, part.problems)
    live = read.snapshot or read.error or LiveReadError("not read", tenant=read.tenant)
    return Judged(read.tenant, read.ok, _report(part.tenant, read.tenant, live, ignores, today))


@contextlib.contextmanager
def judging(
    recipe: SourceRecipe, requested: Requested, today: date, share: Sequence[TenantConfig]
) -> Iterator[Work[Judged]]:
    """The work on a share of the tenants (``live.processes.ShareWork``): read a tenant, take
    its connector files (loaded meanwhile in a thread, in the order of the share), judge it."""
    from driftguard.live.processes import reading

    names = [config.name for config in share]
    with reading(recipe, share) as read, Ahead(requested, names) as ahead:
        yield functools.partial(_judged, read, ahead, requested.ignores, today)


def _judged(
    read: Work[TenantRead],
    ahead: Ahead,
    ignores: Sequence[IgnoreEntry],
    today: date,
    config: TenantConfig,
) -> Judged:
    return judge(read(config), ahead.take(config.name), ignores, today)


def lost_judged(
    requested: Requested, today: date, config: TenantConfig, error: LiveReadError
) -> Judged:
    """A tenant whose worker process ended before judging it: an error, once its connector
    files (loaded here) are known to be valid."""
    read = TenantRead(config.name, error=error)
    return judge(read, requested.part(config.name), requested.ignores, today)


def judged_report(names: Sequence[str], judged: Mapping[str, Judged], now: datetime) -> Report:
    """The report of the tenants judged (each with a report: none had baseline problems)."""
    tenants = []
    for name in names:
        report = judged[name].report
        if report is None:
            raise ValueError(f"tenant {name} was not judged")
        tenants.append(report)
    return Report(generated_at=now, tenants=tuple(tenants), command="diff")
