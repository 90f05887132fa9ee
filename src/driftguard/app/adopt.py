"""`adopt` as a function: the file changes that make the baseline match the live state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from driftguard.adopt import FileChange, baseline_folder, plan_adoption
from driftguard.core import live_connectors
from driftguard.model import Baseline, Snapshot


@dataclass(frozen=True)
class Adoptions:
    changes: tuple[FileChange, ...]
    skipped: tuple[str, ...]  # what was left alone, for a person
    warnings: tuple[str, ...] = ()  # what a reviewer should look at twice (critical patterns)


def adoptions(
    baseline: Baseline,
    names: Sequence[str],
    snapshots: Mapping[str, Snapshot | Exception],
    *,
    connectors: Sequence[str] | None,
    remove_missing: bool,
) -> Adoptions:
    """Every tenant's changes (``connectors``: only those, by live or baseline name), all
    planned before any is written: a tenant that could not be read raises, so an error writes
    nothing."""
    changes: list[FileChange] = []
    skipped: list[str] = []
    warnings: list[str] = []
    for name in names:
        live = snapshots[name]
        if isinstance(live, Exception):
            raise live
        tenant = baseline.tenants[name]
        adoption = plan_adoption(
            tenant,
            baseline_folder(tenant.connectors, Path(baseline.root) / name),
            live_connectors(live),
            names=connectors,
            remove_missing=remove_missing,
        )
        skipped += adoption.skipped
        warnings += adoption.warnings
        changes += adoption.changes
    return Adoptions(tuple(changes), tuple(skipped), tuple(warnings))
