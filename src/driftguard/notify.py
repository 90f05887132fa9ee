"""Notifications on drift or error, through Apprise (Teams, Slack, e-mail, webhooks, ...).

``notice_for_report``/``notice_for_plan``/``notice_for_error`` are pure: they make the one message
a run sends, from values that are already free of secrets (reports and error messages never carry
one), with every untrusted piece (tenant names, error text) made one inert, bounded line. The
message is plain text: Apprise converts it for each target (HTML-escaped for HTML targets,
CommonMark-escaped for Markdown ones), so no connector or tenant name becomes markup there.

``send`` is the effect. Target URLs hold secrets (webhook tokens, passwords): no URL is ever put
in a message, an error or a log line, and Apprise's own log lines (which may show part of one)
are dropped. Each target is bounded by Apprise's connect and read timeouts (4 s each by default;
``?cto=``/``?rto=`` in the URL change them). Apprise is the optional extra ``notify``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import assert_never

from driftguard.errors import DriftguardError
from driftguard.model import Report, Status
from driftguard.textsafe import bounded, one_line

# How many tenants a message names before it says "and N more", and how long each item may be.
MAX_NAMED = 20
MAX_ITEM = 300
ENV = "DRIFTGUARD_NOTIFY"


class NotifyError(DriftguardError):
    """A notification could not be sent (a refused URL, a failed delivery, no Apprise)."""


class Level(Enum):
    DRIFT = "drift"
    ERROR = "error"


@dataclass(frozen=True)
class Notice:
    level: Level
    title: str
    body: str


def notice_for_report(report: Report) -> Notice | None:
    """The message for a diff report: None when every tenant is clean."""
    drifted = [t for t in report.tenants if t.status is Status.DRIFT]
    failed = [t for t in report.tenants if t.status is Status.ERROR]
    if not drifted and not failed:
        return None
    findings = sum(len(t.findings) for t in drifted)
    lines = [
        f"{len(report.tenants)} tenant(s) checked: {len(drifted)} with drift "
        f"({findings} finding(s)), {len(failed)} not checked."
    ]
    lines += _named("Drift", [f"{t.tenant} ({len(t.findings)} finding(s))" for t in drifted])
    lines += _named("Not checked", [f"{t.tenant}: {t.error or 'error'}" for t in failed])
    level = Level.ERROR if failed else Level.DRIFT
    return Notice(level, _title(level, report.command), "\n".join(lines))


def notice_for_plan(tenant: str, actions: int) -> Notice | None:
    """The message for a plan: None when there is nothing to revert."""
    if actions == 0:
        return None
    body = f"{_safe(tenant)}: {actions} action(s) planned to restore the approved baseline."
    return Notice(Level.DRIFT, _title(Level.DRIFT, "plan"), body)


def notice_for_error(command: str, message: str) -> Notice:
    return Notice(Level.ERROR, _title(Level.ERROR, command), _safe(message))


def _title(level: Level, command: str) -> str:
    match level:
        case Level.DRIFT:
            return f"driftguard {command}: drift found"
        case Level.ERROR:
            return f"driftguard {command}: error"
        case _:
            assert_never(level)


def _named(heading: str, items: Sequence[str]) -> list[str]:
    if not items:
        return []
    lines = [f"{heading}:"] + [f"- {_safe(item)}" for item in items[:MAX_NAMED]]
    if len(items) > MAX_NAMED:
        lines.append(f"- and {len(items) - MAX_NAMED} more")
    return lines


def _safe(text: str) -> str:
    return one_line(bounded(text, MAX_ITEM))


def targets_from(given: Sequence[str] | None, environ: dict[str, str]) -> tuple[str, ...]:
    """The --notify URLs, then those in $DRIFTGUARD_NOTIFY (whitespace-separated), which keeps
    the secret in a URL out of the command line and the CI log."""
    return (*(given or ()), *environ.get(ENV, "").split())


def send(notice: Notice, targets: Sequence[str]) -> None:
    """Send ``notice`` to every target; a refused URL or a failed delivery raises, naming how
    many targets (never which URL: it may hold a secret)."""
    try:
        import apprise
    except ModuleNotFoundError as exc:
        raise NotifyError(
            "--notify needs Apprise, which is not installed",
            hint="install the extra: pip install 'driftguard-exo[notify]'",
        ) from exc
    with _quiet():
        sender = apprise.Apprise()
        refused = [i + 1 for i, url in enumerate(targets) if not sender.add(url)]
        if refused:
            raise NotifyError(
                f"notification target(s) {', '.join(map(str, refused))} of {len(targets)} "
                "is not a URL Apprise understands (the URL is not shown: it may hold a secret)",
                hint="see Apprise's list of services and their URL forms",
            )
        kind = (
            apprise.NotifyType.FAILURE
            if notice.level is Level.ERROR
            else apprise.NotifyType.WARNING
        )
        delivered = sender.notify(
            body=notice.body,
            title=notice.title,
            notify_type=kind,
            body_format=apprise.NotifyFormat.TEXT,
        )
    if not delivered:
        raise NotifyError(
            f"the notification did not reach every one of the {len(targets)} target(s)",
            hint="check the target URLs (in $DRIFTGUARD_NOTIFY or --notify) and the network",
        )


@contextmanager
def _quiet() -> Iterator[None]:
    """Apprise's log lines may show part of a target URL: none reaches the terminal or CI log."""
    logger = logging.getLogger("apprise")
    disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = disabled
