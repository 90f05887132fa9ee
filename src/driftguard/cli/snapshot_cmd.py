"""`driftguard snapshot`: write each tenant's live state to a file, atomically.

One tenant: ``--out FILE`` (or an existing folder, then ``FOLDER/<tenant>.json``). Several tenants:
``--out`` must be a folder (existing, or written with a trailing ``/``): one ``<tenant>.json`` per
tenant. A tenant that could not be read completely gets no file (never a partial one), its error
goes to stderr and the exit code is 1; the others are still written.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from driftguard.cli._common import add_baseline, add_tenants

if TYPE_CHECKING:
    from driftguard.cli._common import Subcommands
    from driftguard.model import Snapshot


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "snapshot",
        help="write the live connectors to a file",
        description="Read the live inbound connectors and write them, with tenant, time, source "
        "and a digest of their normalised content, to a snapshot file that --live can read back. "
        "Exit 0: written, 1: error.",
    )
    from driftguard.cli._live import add_live_options

    add_baseline(parser)
    add_tenants(parser)
    parser.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="snapshot file; with several tenants a folder that gets one <tenant>.json each",
    )
    add_live_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.cli._output import info
    from driftguard.errors import InputError
    from driftguard.fsutil import write_atomic

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    if not names:
        raise InputError(f"no tenants to snapshot in {args.baseline}")
    targets = _targets(args.out, names)
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


def _targets(out: str, names: list[str]) -> dict[str, Path]:
    from driftguard.errors import InputError

    path = Path(out)
    folder = path.is_dir() or out.endswith((os.sep, "/"))
    if len(names) > 1 and not folder:
        raise InputError(
            f"--out {out}: {len(names)} tenants selected, so --out must be a folder",
            hint="pass an existing folder or end the path with '/' (one <tenant>.json each), "
            "or pick one tenant with --tenant",
        )
    if folder:
        return {name: path / f"{name}.json" for name in names}
    return {names[0]: path}


def snapshot_document(snapshot: Snapshot, tenant_id: str) -> str:
    """The snapshot file's JSON text (format: shared decisions / live.files reads it back)."""
    import json
    from datetime import UTC

    from driftguard.live.files import SNAPSHOT_VERSION, snapshot_digest

    taken = snapshot.taken_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    doc = {
        "driftguard_snapshot": SNAPSHOT_VERSION,
        "tenant": snapshot.tenant,
        "tenant_id": tenant_id,
        "taken_at": taken,
        "source": snapshot.source,
        "digest": snapshot_digest(snapshot.records),
        "records": [dict(r) for r in snapshot.records],
        "warnings": list(snapshot.warnings),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
