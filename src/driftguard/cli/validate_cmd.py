"""`driftguard validate`: schema, service-rule and cross-file checks of every baseline file."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from driftguard.cli._common import add_baseline, add_tenants

if TYPE_CHECKING:
    from pathlib import Path


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check every baseline file (schema, service rules, duplicates, ignore entries)",
        description="Check the baseline folder: every problem is printed as path:line:col.",
    )
    add_baseline(parser)
    add_tenants(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `driftguard --version` must not pay for them.
    from datetime import UTC, datetime
    from pathlib import Path

    from driftguard.baseline.load import (
        DEMO_TENANT,
        check,
        demo_root,
        ignore_problems,
        tenant_folders,
    )
    from driftguard.cli._output import safe_terminal
    from driftguard.errors import Problem
    from driftguard.risk import approved_criticals

    today = datetime.now(UTC).date()
    tenants: list[str] = list(dict.fromkeys(args.tenants or ()))
    root = Path(args.baseline)
    roots: list[tuple[Path, list[str] | None]] = []
    if DEMO_TENANT in tenants and not (root / DEMO_TENANT).is_dir():
        roots.append((demo_root(), [DEMO_TENANT]))
        tenants.remove(DEMO_TENANT)
        if tenants:
            roots.append((root, tenants))
    else:
        roots.append((root, tenants or None))

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
        tenant_count += len(wanted) if wanted else len(tenant_folders(folder))
        connector_count += checked.connector_files

    problems.sort(key=lambda p: (p.path, p.line, p.column))
    for note in notes:  # how a value was written, what to look at twice: no effect on the exit code
        print(safe_terminal(note), file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)  # one line: Problem escapes control characters
    summary = (
        f"{tenant_count} tenant{_s(tenant_count)}, {connector_count} connector{_s(connector_count)}"
    )
    if problems:
        bad_files = len({p.path for p in problems})
        print(
            f"{summary}: {len(problems)} problem{_s(len(problems))} in {bad_files} "
            f"file{_s(bad_files)}",
            file=sys.stderr,
        )
        return 1
    print(f"{summary}: valid")
    return 0


def _s(count: int) -> str:
    return "" if count == 1 else "s"
