"""`driftguard validate`: schema, service-rule and cross-file checks of every baseline file."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from driftguard.cli._common import add_baseline, add_tenants

if TYPE_CHECKING:
    from driftguard.cli._common import Subcommands


def register(sub: Subcommands) -> None:
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

    from driftguard.app.validate import validate_baseline
    from driftguard.cli._output import safe_terminal

    found = validate_baseline(Path(args.baseline), args.tenants or (), datetime.now(UTC).date())
    for (
        note
    ) in found.notes:  # how a value was written, what to look at twice: no effect on the exit code
        print(safe_terminal(note), file=sys.stderr)
    for problem in found.problems:
        print(problem, file=sys.stderr)  # one line: Problem escapes control characters
    summary = f"{found.tenants} tenant{_s(found.tenants)}, {found.connectors} connector" + _s(
        found.connectors
    )
    problems = found.problems
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
