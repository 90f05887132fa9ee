"""`driftguard history`: what changed between the sweeps `driftguard watch` stored. Exit 0, 1."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from driftguard.cli._common import add_output, add_state


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "history",
        help="show what changed between the sweeps of `driftguard watch`",
        description="Compare each stored snapshot of a tenant with the one before it, every "
        "property included, to answer 'since when?'. Exit 0, or 1 on an error.",
    )
    parser.add_argument("--tenant", required=True, metavar="T", help="the tenant folder name")
    add_state(parser)
    parser.add_argument(
        "--last", type=int, default=100, metavar="N", help="the last N snapshots (default: 100)"
    )
    add_output(parser, formats=("text", "json"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driftguard.cli._output import emit
    from driftguard.errors import InputError
    from driftguard.watch.history import Point, render_json, render_text
    from driftguard.watch.state import opened

    if not 2 <= args.last <= 10_000:
        raise InputError("--last must be between 2 and 10000")
    with opened(Path(args.state), readonly=True) as state:
        stored = state.snapshots(args.tenant, limit=args.last)
        if not stored and args.tenant not in state.tenants():
            raise InputError(
                f"{args.state}: no history of tenant {args.tenant!r}",
                hint="watch it first: driftguard watch --tenant T",
            )
    points = [Point(s.sweep, s.taken_at, s.document) for s in stored]
    render = render_json if args.format == "json" else render_text
    emit(render(args.tenant, points), args.output)
    return 0
