"""`validate` as a function: every problem of the baseline folder (and the demo's, when asked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from driftguard.baseline.load import DEMO_TENANT, check, demo_root, ignore_problems, tenant_folders
from driftguard.errors import Problem
from driftguard.risk import approved_criticals


@dataclass(frozen=True)
class Validation:
    problems: tuple[Problem, ...]  # sorted by file, line and column
    notes: tuple[
        str, ...
    ]  # how values were written, what to look at twice: no effect on the verdict
    tenants: int
    connectors: int


def validate_baseline(root: Path, tenants: Sequence[str], today: date) -> Validation:
    """Check the tenants of ``root`` (every one when ``tenants`` is empty); the demo tenant is
    read from the packaged copy when ``root`` has none."""
    wanted_names = list(dict.fromkeys(tenants))
    roots: list[tuple[Path, list[str] | None]] = []
    if DEMO_TENANT in wanted_names and not (root / DEMO_TENANT).is_dir():
        roots.append((demo_root(), [DEMO_TENANT]))
        wanted_names.remove(DEMO_TENANT)
        if wanted_names:
            roots.append((root, wanted_names))
    else:
        roots.append((root, wanted_names or None))

    problems: list[Problem] = []
    notes: list[str] = []
    tenant_count = connector_count = 0
    for folder, wanted in roots:
        checked = check(folder, wanted)
        names = tenant_folders(folder)
        problems.extend(checked.problems)
        notes.extend(
            f"{bc.key_locations.get('SenderIPAddresses') or bc.path}: note: {note}"
            for tb in checked.baseline.tenants.values()
            for bc in tb.connectors
            for note in bc.connector.notes
        )
        notes.extend(
            f"{bc.key_locations.get(field) or bc.path}: warning: the baseline approves a "
            f"critical pattern: {sentence}"
            for tb in checked.baseline.tenants.values()
            for bc in tb.connectors
            for field, sentence in approved_criticals(bc.connector, tb.config)
        )
        problems.extend(ignore_problems(checked.baseline.ignores, names, today))
        tenant_count += len(wanted) if wanted else len(names)
        connector_count += checked.connector_files
    problems.sort(key=lambda p: (p.path, p.line, p.column))
    return Validation(tuple(problems), tuple(notes), tenant_count, connector_count)
