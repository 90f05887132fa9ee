"""`driftguard doctor`: check each tenant's setup and wire, and say how to fix what fails.

Exit 0 when every check passed (warnings allowed), 1 when one failed or on any error.
``--save-sample FILE`` (one tenant) writes a redacted sample of what was read, atomically.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from driftguard.cli._common import add_baseline, add_tenants

if TYPE_CHECKING:
    from driftguard.doctor.model import TenantDoctor
    from driftguard.doctor.probe import Options
    from driftguard.model import TenantConfig

DEFAULT_DEADLINE = 120.0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "doctor",
        help="check a tenant's setup: endpoints, sign-in, permissions, roles, every read",
        description="Check, per tenant, everything a nightly run needs: the cloud's endpoints, a "
        "token for each configured credential, the app's Exchange.ManageAsApp permission and "
        "directory roles, one small read from every source driftguard uses, and the wire shapes "
        "seen. One line per check, with how to fix each failure. Exit 0: all checks passed "
        "(warnings allowed), 1: a check failed.",
    )
    from driftguard.cli._live import deadline_seconds

    add_baseline(parser)
    add_tenants(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "--output", metavar="FILE", help="write the answer to FILE (atomically) instead of stdout"
    )
    parser.add_argument(
        "--save-sample",
        metavar="FILE",
        help="write a redacted sample of what was read (one tenant) for a bug report; "
        "'driftguard diff --live FILE' reads it",
    )
    parser.add_argument(
        "--deadline",
        type=deadline_seconds,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help="give up on one read after this long, retries included (default: 120)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import retry_policy, selected_tenants, sign_in_prompt
    from driftguard.cli._output import emit, info
    from driftguard.doctor import render
    from driftguard.doctor.model import exit_code
    from driftguard.doctor.probe import Options
    from driftguard.errors import InputError

    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    if not names:
        raise InputError(f"no tenants to check in {args.baseline}")
    if args.save_sample and len(names) != 1:
        raise InputError(
            f"--save-sample writes one tenant's sample, but {len(names)} tenants are selected",
            hint="add --tenant T",
        )
    now = datetime.now(UTC)
    options = Options(now=now, policy=retry_policy(args), device_code_prompt=sign_in_prompt())
    results = [_examine(baseline.tenants[name].config, options) for name in names]
    if args.format == "json":
        emit(render.json_document(results, now), args.output)
    else:
        emit(render.text(results), args.output)
    if args.save_sample:
        _save_sample(results[0], args.save_sample)
        info(f"wrote the redacted sample {args.save_sample}")
    return exit_code(results)


def _examine(config: TenantConfig, options: Options) -> TenantDoctor:
    """One tenant through the service, or the demo tenant through the in-process simulator."""
    import dataclasses

    from driftguard.doctor.probe import examine
    from driftguard.live.demo import DEMO_HOST, is_demo, transport

    if not is_demo(config):
        from driftguard.live.service import PooledSessions

        pool = PooledSessions(pool_size=2)
        try:
            return examine(config, pool, options)
        finally:
            pool.close()
    from driftguard.doctor.model import TenantDoctor, fail
    from driftguard.errors import LiveReadError

    try:
        demo = transport(config)
    except LiveReadError as exc:
        problem = fail("demo tenant", exc.message, exc.hint or "")
        return TenantDoctor(config.name, config.tenant_id, (problem,))
    return examine(demo.tenant, demo.sessions, dataclasses.replace(options, graph_host=DEMO_HOST))


def _save_sample(result: TenantDoctor, path: str) -> None:
    import json

    from driftguard.doctor.model import Status
    from driftguard.doctor.reads import CONNECTORS
    from driftguard.doctor.redact import sample_document
    from driftguard.errors import LiveReadError
    from driftguard.fsutil import write_atomic

    statuses = {c.name: c.status for c in result.checks}
    if statuses.get(CONNECTORS) is not Status.OK:
        raise LiveReadError(
            f"no sample written to {path}: the connectors of tenant {result.tenant} could not "
            "be read",
            tenant=result.tenant,
            hint="fix the failed checks above first",
        )
    doc = sample_document(result.wire, result.tenant_id)
    write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n", mode=0o600)
