"""What driftguard logs on stderr: waits and progress always; HTTP calls, retries and timings
with ``-v``; more with ``--debug``. Every line passes a redaction filter and loses control
characters, whatever a lower module put in it.

Only driftguard's own loggers are shown: msal and urllib3 log request bodies and headers at
DEBUG, which carry secrets and tokens, so their records never reach this handler.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys

from driftguard.textsafe import visible

ROOT = "driftguard"
PROGRESS = "driftguard.progress"

# Secrets a log line must never show, whatever produced it: bearer tokens and JWTs, form
# fields of a token request, Authorization headers, codes and passwords in query strings.
_SECRETS = (
    re.compile(r"(?i)(authorization\s*[:=]\s*)(?:bearer\s+)?[^\s,;'\"]+"),
    re.compile(r"(?i)\bbearer\s+[^\s,;'\"]+"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*)*"),
    re.compile(
        r"(?i)\b((?:client_secret|client_assertion|assertion|refresh_token|access_token|"
        r"id_token|code|device_code|password|secret)[\"']?\s*[:=]\s*[\"']?)[^\s&,;'\"]+"
    ),
)


def redacted(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = redacted(record.getMessage())
        if record.name != PROGRESS:
            message = f"{record.name.removeprefix(ROOT + '.')}: {message}"
        return visible(message)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (it may be replaced later)."""

    driftguard_cli = True

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def add_options(parser: argparse.ArgumentParser) -> None:
    """``-v/--verbose`` and ``--debug`` (SUPPRESS: a subcommand's default never hides the
    top-level option given before it)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log HTTP calls (method, host, path, status, duration), retries and timings on "
        "stderr; secrets are redacted",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log even more than --verbose (cmdlets, pages, records), secrets redacted",
    )


def configure(args: argparse.Namespace) -> None:
    """Send driftguard's log records to the current stderr at the level the options ask for."""
    level = logging.WARNING
    if getattr(args, "verbose", False):
        level = logging.INFO
    if getattr(args, "debug", False):
        level = logging.DEBUG
    logger = logging.getLogger(ROOT)
    for handler in list(logger.handlers):
        if getattr(handler, "driftguard_cli", False):
            logger.removeHandler(handler)
    handler = _Stderr()
    handler.setFormatter(_Format())
    logger.addHandler(handler)
    logger.setLevel(level)
    logging.getLogger(PROGRESS).setLevel(min(level, logging.INFO))
