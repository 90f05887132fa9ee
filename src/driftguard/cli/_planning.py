"""What ``plan`` and ``respond`` share: the revert plan's options, checked, and the one tenant
they are for."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driftguard.app.plan import PlanRequest
    from driftguard.model import Baseline, Snapshot

DEFAULT_EXPIRY_HOURS = 24.0


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """The options of the revert plan (``plan`` and ``respond``)."""
    parser.add_argument(
        "--remove-unknown",
        action="store_true",
        help="remove unknown connectors instead of disabling them (disabling keeps the evidence)",
    )
    parser.add_argument(
        "--force", action="store_true", help="accept a plan the safety limits call unsafe"
    )
    parser.add_argument(
        "--expires-in",
        type=float,
        default=DEFAULT_EXPIRY_HOURS,
        metavar="HOURS",
        help=f"how long the plan may be applied (default {DEFAULT_EXPIRY_HOURS:g} hours)",
    )
    parser.add_argument(
        "--max-disable",
        type=int,
        default=3,
        metavar="N",
        help="a plan disabling or removing more than N connectors needs --force (default 3)",
    )
    parser.add_argument(
        "--max-disable-share",
        type=float,
        default=50.0,
        metavar="PERCENT",
        help="... or more than PERCENT of the tenant's connectors (default 50)",
    )
    parser.add_argument(
        "--mail-window",
        type=float,
        default=0.0,
        metavar="HOURS",
        help="read the message trace of the last HOURS (read credential) and require --force "
        "for actions on connectors that carried mail in it (default: off)",
    )


def plan_request(args: argparse.Namespace) -> PlanRequest:
    """The plan options of the command line, checked."""
    from datetime import timedelta

    from driftguard.app.plan import PlanRequest
    from driftguard.errors import InputError
    from driftguard.plan import PlanOptions
    from driftguard.safety import SafetyLimits

    if args.max_disable < 0 or not 0 <= args.max_disable_share <= 100:
        raise InputError("--max-disable must be 0 or more, --max-disable-share 0 to 100")
    if not 0 <= args.mail_window <= 24 * 90:
        raise InputError("--mail-window must be between 0 and 2160 hours (90 days)")
    if not 0 < args.expires_in <= 24 * 30:
        raise InputError("--expires-in must be more than 0 and at most 720 hours")
    return PlanRequest(
        options=PlanOptions(
            remove_unknown=args.remove_unknown,
            force=args.force,
            limits=SafetyLimits(
                max_disabled=args.max_disable, max_fraction=args.max_disable_share / 100
            ),
        ),
        expires_in=timedelta(hours=args.expires_in),
        mail_window=timedelta(hours=args.mail_window) if args.mail_window > 0 else None,
        read_service=not getattr(args, "live", None),
    )


def one_tenant(args: argparse.Namespace) -> tuple[str, Baseline, Snapshot]:
    """The one selected tenant, the baseline and its live state (an error if not read)."""
    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.errors import InputError

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    if len(names) != 1:
        raise InputError(
            f"a plan is for one tenant, but {len(names)} are selected",
            hint="add --tenant T",
        )
    name = names[0]
    live = snapshots_for(args, baseline, names)[name]
    if isinstance(live, Exception):
        raise live
    return name, baseline, live
