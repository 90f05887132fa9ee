"""`driftguard snapshot`: write each tenant's live state to a file, atomically.

One tenant: ``--out FILE`` (or an existing folder, then ``FOLDER/<tenant>.json``). Several tenants:
``--out`` must be a folder (existing, or written with a trailing ``/``): one ``<tenant>.json`` per
tenant. A tenant that could not be read completely gets no file (never a partial one), its error
goes to stderr and the exit code is 1; the others are still written.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from driftguard.cli._common import add_baseline, add_tenants

if TYPE_CHECKING:
    from driftguard.cli._common import Subcommands


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "snapshot",
        help="write the live connectors to a file",
        description="Read the live inbound connectors and write them, with tenant, time, source "
        "and a digest of their normalised content, to a snapshot file that --live can read back. "
        "Exit 0: written, 1: error.",
    )
    from driftguard.cli._live import add_live_options, add_processes

    add_baseline(parser)
    add_tenants(parser)
    parser.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="snapshot file; with several tenants a folder that gets one <tenant>.json each",
    )
    add_live_options(parser)
    add_processes(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driftguard.app.snapshot import snapshot_document, snapshot_targets
    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.cli._output import info
    from driftguard.errors import InputError
    from driftguard.fsutil import write_atomic

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    if not names:
        raise InputError(f"no tenants to snapshot in {args.baseline}")
    targets = snapshot_targets(args.out, names)
    snapshots = snapshots_for(args, baseline, names)
    failed = 0
    for name in names:
        live = snapshots[name]
        if isinstance(live, Exception):
            failed += 1
            info(f"error: {name}: {getattr(live, 'message', None) or live}")
            hint = getattr(live, "hint", None)
            if hint:
                info(f"hint: {hint}")
            continue
        config = baseline.tenants[name].config
        write_atomic(targets[name], snapshot_document(live, config.tenant_id))
        count = len(live.records)
        info(f"wrote {targets[name]} ({count} connector{'s' if count != 1 else ''})")
    return 1 if failed else 0
