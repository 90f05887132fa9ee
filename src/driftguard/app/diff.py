"""`diff` as a function: every selected tenant's report, an unreadable tenant as an error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from driftguard.core import error_report, tenant_report
from driftguard.model import Baseline, Report, Snapshot


def diff_report(
    baseline: Baseline,
    names: Sequence[str],
    snapshots: Mapping[str, Snapshot | Exception],
    now: datetime,
) -> Report:
    """The diff of each tenant in ``names`` against its snapshot (or the error reading it)."""
    tenants = []
    for name in names:
        live = snapshots[name]
        if isinstance(live, Exception):
            tenants.append(error_report(name, live, baseline.tenants[name].config.location))
        else:
            tenants.append(
                tenant_report(baseline.tenants[name], live, baseline.ignores, now.date())
            )
    return Report(generated_at=now, tenants=tuple(tenants), command="diff")
