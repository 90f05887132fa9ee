"""`driftguard respond --tenant T`: Microsoft's response playbook for a compromised connector, in
order, as one report (evidence; revert; unblock; the accounts and their containment), and the plan
holding every action it needs. Exit 0: every step done, 2: approval needed (or a step driftguard
cannot do), 1: error."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from driftguard.cli._common import add_baseline, add_tenants
from driftguard.cli._investigating import add_window
from driftguard.cli._live import add_live_options

if TYPE_CHECKING:
    from driftguard.cli._common import Subcommands


def register(sub: Subcommands) -> None:
    from driftguard.cli._planning import add_plan_options

    parser: argparse.ArgumentParser = sub.add_parser(
        "respond",
        help="the response playbook: evidence, revert, unblock, contain the accounts",
        description="Investigate one tenant and show Microsoft's response playbook for a "
        "compromised connector, step by step, each done, needing approval, or not possible "
        "(and why); write the plan (revert, unblock, and containment of the accounts that made "
        "the changes) with --out. Exit 0: every step done, 2: approval needed or a step "
        "driftguard cannot do, 1: error.",
    )
    add_baseline(parser)
    add_tenants(parser)
    add_live_options(parser)
    add_window(parser)
    parser.add_argument("--out", metavar="PLAN", help="write the plan file (JSON) to PLAN")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="how the playbook is shown on stdout (default: text)",
    )
    parser.add_argument(
        "--block-sign-in",
        action="store_true",
        help="contain a flagged account by blocking its sign-in too, not only by revoking its "
        "sessions (needs User.EnableDisableAccount.All on auth.graph_write)",
    )
    add_plan_options(parser)
    parser.set_defaults(func=run, live=None)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from driftguard.app.respond import RespondRequest, respond
    from driftguard.cli._investigating import clients, window
    from driftguard.cli._output import emit, info, safe_terminal
    from driftguard.cli._planning import one_tenant, plan_request
    from driftguard.planfile import write_plan
    from driftguard.report import response_format

    plan_options = plan_request(args)
    name, baseline, live = one_tenant(args)
    now = datetime.now(UTC).replace(microsecond=0)
    since, until = window(args, now)
    request = RespondRequest(
        plan=plan_options,
        since=since,
        until=until,
        block_sign_in=args.block_sign_in,
        out=args.out,
    )
    response, plan = respond(
        baseline,
        name,
        live,
        request,
        clients(args),
        now=now,
        warn=lambda m: info(f"warning: {m}"),
    )
    if args.out:
        write_plan(args.out, plan)
        info(f"plan written to {args.out}")
    match args.format:
        case "json":
            emit(response_format.render_json(response), None)
        case "markdown":
            emit(safe_terminal(response_format.render_markdown(response)), None)
        case _:
            emit(safe_terminal(response_format.render_text(response)), None)
    return response.exit_code
