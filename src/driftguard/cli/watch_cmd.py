"""`driftguard watch`: read every tenant each interval, notify on a change of verdict.

Exit codes with ``--once`` / ``--sweeps N`` are those of the last sweep (0 clean, 2 drift, 1 an
error); run as a service it stops on SIGTERM or Ctrl-C and exits 0.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftguard.cli._common import (
    add_baseline,
    add_state,
    add_tenants,
    number_in,
    whole_number,
)
from driftguard.cli._live import add_live_options

if TYPE_CHECKING:
    from driftguard.live.source import Source
    from driftguard.model import Baseline, Snapshot, TenantConfig, TenantReport

MIN_DEADLINE = 30.0
EVIDENCE_DAYS = 2  # how far back the audit trail of a new drift is searched


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "watch",
        help="check every tenant each interval and notify when a verdict changes",
        description="Read every tenant each interval (reads spread over the interval, jittered), "
        "keep the history in a SQLite state file and notify on a change of verdict: new drift, "
        "drift resolved, tenant unreadable. With --once or --sweeps N: exit 0 clean, "
        "2 drift, 1 error. Here --deadline defaults to the interval (at least 30 s), not 900.",
    )
    add_baseline(parser)
    add_tenants(parser)
    add_state(parser)
    parser.add_argument(
        "--interval",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="time from one sweep's start to the next (default: 300)",
    )
    parser.add_argument(
        "--spread",
        type=_fraction,
        metavar="F",
        help="start the reads evenly over this part of the interval (0 = all at once; "
        "default: 0.5, and 0 with --once)",
    )
    parser.add_argument(
        "--jitter",
        type=_fraction,
        default=0.1,
        metavar="F",
        help="move each sweep's start by up to this part of the interval (default: 0.1)",
    )
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--once", action="store_true", help="one sweep, then exit (for CI jobs)")
    stop.add_argument("--sweeps", type=whole_number, metavar="N", help="N sweeps, then exit")
    parser.add_argument(
        "--notify",
        action="append",
        metavar="TARGET",
        help="where notifications go: 'log' (stderr, the default), 'command:PROGRAM ARGS' "
        "(JSON on stdin) or 'webhook:https://...' (repeatable)",
    )
    add_live_options(parser)
    # A read may take as long as one interval unless --deadline says otherwise (at least 30 s):
    # the default of the one-shot commands (900 s) would let one slow tenant hold three sweeps.
    parser.set_defaults(func=run, deadline=None)


_seconds = number_in(0.1, 86400, "seconds")
_fraction = number_in(0, 0.9)


def run(args: argparse.Namespace) -> int:
    import contextlib
    import signal
    import threading
    import time
    from datetime import UTC, datetime

    from driftguard.baseline.load import load_requested
    from driftguard.cli._live import retry_policy, selected_tenants, sign_in_prompt
    from driftguard.cli._output import info
    from driftguard.live.service import ExchangeSource, PooledSessions
    from driftguard.watch import loop
    from driftguard.watch.baselinecache import ReloadOnChange
    from driftguard.watch.notify import notifier_for
    from driftguard.watch.schedule import DEFAULT_SPREAD, Schedule
    from driftguard.watch.state import opened
    from driftguard.watch.tokens import KeptTokens

    if args.deadline is None:
        args.deadline = max(MIN_DEADLINE, args.interval)
    baseline = ReloadOnChange(
        lambda: load_requested(args.baseline, args.tenants), Path(args.baseline)
    )

    def secret_env() -> frozenset[str]:
        return _secret_variables(baseline.last) if baseline.last is not None else frozenset()

    notifiers = [notifier_for(spec, info, secret_env) for spec in args.notify or ["log"]]
    targets = [n.name for n in notifiers]
    if len(set(targets)) != len(targets):
        from driftguard.errors import InputError

        raise InputError("--notify: the same target is given twice")
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM,)}
    # One connection pool and one sign-in per tenant for the whole watch (watch/tokens.py).
    pool = PooledSessions(pool_size=args.concurrency)
    tokens = KeptTokens(sign_in_prompt())
    exchange = ExchangeSource(
        policy=retry_policy(args),
        device_code_prompt=sign_in_prompt(),
        session_factory=pool,
        tokens=tokens,
    )

    def select(loaded: Baseline) -> list[str]:
        names = selected_tenants(args, loaded)
        tokens.forget_all_but(set(names))
        return names

    edges = loop.Edges(
        load=baseline,
        select=select,
        source=_Tenants(args, exchange),
        evidence=lambda report, baseline, snapshot: _evidence(args, report, baseline, snapshot),
        notifiers=notifiers,
        say=info,
        clock=lambda: datetime.now(UTC),
        monotonic=time.monotonic,
        wait=stop.wait,
        concurrency=args.concurrency,
    )
    spread = args.spread if args.spread is not None else 0.0 if args.once else DEFAULT_SPREAD
    schedule = Schedule(interval=args.interval, spread=spread, jitter=args.jitter)
    sweeps = 1 if args.once else args.sweeps
    from driftguard.errors import DriftguardError

    with contextlib.suppress(DriftguardError):  # the first sweep says what is wrong with it
        baseline()  # loaded before what a crash left in the outbox is sent (secret_env), kept
    try:
        with opened(Path(args.state)) as state:
            code = loop.run(state, schedule, edges, sweeps=sweeps)
        return code if sweeps is not None else 0  # a service asked to stop has done its job
    except KeyboardInterrupt:
        info("watch stopped")
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        pool.close()


def _secret_variables(baseline: Baseline) -> frozenset[str]:
    """The environment variables the baseline names for secrets (client secrets, certificate
    passwords), which a notification program is not given."""
    names: set[str] = set()
    for tenant in baseline.tenants.values():
        blocks = [tenant.config.auth, tenant.config.auth.get("write") or {}]
        for block in blocks:
            if isinstance(block, Mapping):
                for key in ("client_secret_env", "certificate_password_env"):
                    value = block.get(key)
                    if isinstance(value, str) and value:
                        names.add(value)
    return frozenset(names)


class _Tenants:
    """The demo tenant from its in-process service, every other tenant from Exchange."""

    def __init__(self, args: argparse.Namespace, exchange: Source) -> None:
        self.args = args
        self.exchange = exchange

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        from driftguard.cli._live import _local_source

        return (_local_source(self.args, tenant) or self.exchange).snapshot(tenant)


def _evidence(
    args: argparse.Namespace, report: TenantReport, baseline: Baseline, snapshot: Snapshot
) -> TenantReport:
    """``report`` with the audit trail of its findings; a trail that cannot be read is a
    warning of the notification, never a change of the drift verdict."""
    from dataclasses import replace
    from datetime import timedelta

    from driftguard.cli._investigating import explain
    from driftguard.model import Report, Status

    now = snapshot.taken_at
    window = argparse.Namespace(**vars(args))
    window.since, window.until = now - timedelta(days=EVIDENCE_DAYS), None
    window.audit_log = window.message_trace = window.live = None
    single = Report(generated_at=now, tenants=(report,), command="watch")
    [explained] = explain(single, baseline, window, {report.tenant: snapshot}).tenants
    if explained.status is Status.ERROR:
        note = f"{report.tenant}: audit evidence could not be read: {explained.error}"
        return replace(report, warnings=(*report.warnings, note))
    return explained
