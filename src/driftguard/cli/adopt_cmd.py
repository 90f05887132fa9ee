"""`driftguard adopt`: write live connectors into baseline files, for a reviewed pull request."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from driftguard.cli._common import add_baseline, add_tenants
from driftguard.cli._live import add_live

if TYPE_CHECKING:
    from driftguard.cli._common import Subcommands


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "adopt",
        help="write live connectors into the baseline files (to accept a change by PR)",
        description="Accept live state as approved: write the live settings of the chosen "
        "connectors into their baseline files (new files for unknown connectors, rewrites of "
        "changed ones, Guid pinned), then review the change as a pull request. Without "
        "--connector, every unknown and changed connector is adopted. Exit 0 done, 1 error.",
    )
    add_baseline(parser)
    add_tenants(parser)
    add_live(parser)
    parser.add_argument(
        "--connector",
        action="append",
        dest="connectors",
        metavar="NAME",
        help="adopt only this connector (repeatable; live or baseline name)",
    )
    parser.add_argument(
        "--remove-missing",
        action="store_true",
        help="delete the files of connectors that are no longer live",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would change, write nothing"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driftguard.adopt import write_changes
    from driftguard.app.adopt import adoptions
    from driftguard.baseline.load import load_baseline
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.cli._output import info
    from driftguard.errors import InputError

    # The baseline folder itself, never the packaged demo copy: adopt writes files.
    baseline = load_baseline(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    if args.connectors and len(names) != 1:  # before any read
        raise InputError(
            f"--connector names connectors of one tenant, but {len(names)} are selected",
            hint="add --tenant T",
        )
    snapshots = snapshots_for(args, baseline, names)
    found = adoptions(
        baseline,
        names,
        snapshots,
        connectors=args.connectors,
        remove_missing=args.remove_missing,
    )
    for note in found.skipped:
        info(f"skipped {note}")
    for warning in found.warnings:
        info(warning)
    verb = "would " if args.dry_run else ""
    for change in found.changes:
        info(f"{verb}{change.action.value} {change.path} ({change.connector!r}: {change.why})")
    if not args.dry_run:
        write_changes(found.changes)
    if not found.changes:
        info("nothing to adopt: the baseline already matches the live state")
    elif not args.dry_run:
        info("review the change with `git diff`, then open a pull request")
    return 0
