"""What ``investigate`` shares with ``diff``/``plan --explain`` and ``watch``: the window and
evidence options, and the audit trail attached to a report's findings."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driftguard.app.investigate import ClientOpener, Options
    from driftguard.model import Baseline, Report, Snapshot

DEFAULT_DAYS = 30


def add_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        metavar="DATE",
        type=parse_moment,
        help=f"start of the window (YYYY-MM-DD or ISO time, UTC; default: {DEFAULT_DAYS} days ago)",
    )
    parser.add_argument(
        "--until",
        metavar="DATE",
        type=parse_until,
        help="end of the window (default: now); a bare date means the end of that day",
    )


def add_explain(parser: argparse.ArgumentParser) -> None:
    """The options ``diff`` and ``plan`` add for ``--explain``."""
    parser.add_argument(
        "--explain",
        action="store_true",
        help="attach who changed each finding, from where, from the audit log",
    )
    add_window(parser)
    parser.add_argument("--audit-log", metavar="FILE", help="audit export to explain from")


def parse_moment(text: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO time (no zone = UTC)."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO time"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_until(text: str) -> datetime:
    """As ``parse_moment``, but a bare date means the end of that day."""
    moment = parse_moment(text)
    if len(text.strip()) == 10:
        return moment + timedelta(days=1) - timedelta(microseconds=1)
    return moment


def window(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    from driftguard.errors import InputError

    until: datetime = getattr(args, "until", None) or now
    since: datetime = getattr(args, "since", None) or until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise InputError("--since must be before --until")
    return since, until


def options(args: argparse.Namespace, now: datetime) -> Options:
    """The investigation options of the command line."""
    from driftguard.app.investigate import Options

    start, end = window(args, now)
    return Options(
        since=start,
        until=end,
        audit_log=getattr(args, "audit_log", None),
        message_trace=getattr(args, "message_trace", None),
        offline=bool(getattr(args, "live", None)),
        audit_via=getattr(args, "audit_source", "exchange"),
        trace_via=getattr(args, "trace_source", "exchange"),
        skip=frozenset(getattr(args, "skip", None) or ()),
        concurrency=int(getattr(args, "concurrency", 1) or 1),
        hunting_export=getattr(args, "hunting_export", None),
    )


def clients(args: argparse.Namespace) -> ClientOpener:
    """How to open a tenant's clients, with the command's deadline and sign-in prompt."""
    from driftguard.app.investigate import service_clients
    from driftguard.cli._live import DEFAULT_DEADLINE, exchange_source

    deadline = float(getattr(args, "deadline", DEFAULT_DEADLINE))
    return service_clients(exchange_source(args), deadline)


def explain(
    report: Report,
    baseline: Baseline,
    args: argparse.Namespace,
    snapshots: Mapping[str, Snapshot | Exception] | None = None,
) -> Report:
    """``report`` with the audit trail attached to each finding (``diff/plan --explain``)."""
    from driftguard.app import investigate as app
    from driftguard.cli._live import snapshots_for

    names = [t.tenant for t in report.tenants]
    reads = snapshots if snapshots is not None else snapshots_for(args, baseline, names)
    wanted = options(args, report.generated_at)
    return app.explain(report, baseline, reads, wanted, clients(args))
