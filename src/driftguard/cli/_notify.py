"""``--notify URL``: one message on drift or error, through Apprise (``driftguard.notify``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from driftguard.errors import DriftguardError
from driftguard.notify import ENV, Notice, NotifyError, notice_for_error, send, targets_from

Run = Callable[[argparse.Namespace], int]


def add_notify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notify",
        action="append",
        metavar="URL",
        help="on drift or error, send one message to URL, an Apprise URL such as a Teams or "
        f"Slack webhook, mailto:// or json:// (repeatable; also ${ENV}, separated by spaces, "
        "which keeps the secret in a URL out of the command line; needs the notify extra)",
    )


def notify(args: argparse.Namespace, notice: Notice | None) -> None:
    """Send ``notice`` (None: nothing to say) to the run's targets, if it has any."""
    targets = targets_from(args.notify, dict(os.environ))
    if notice is not None and targets:
        send(notice, targets)


def notifying(command: str, run: Run) -> Run:
    """``run``, and a message to the targets when it fails with an error."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except NotifyError:
            raise
        except DriftguardError as exc:
            targets = targets_from(args.notify, dict(os.environ))
            if targets:
                try:
                    send(notice_for_error(command, exc.message), targets)
                except NotifyError as failed:  # said too; the run's own error stays the error
                    from driftguard.cli._output import info

                    for line in failed.lines():
                        info(line)
            raise

    return wrapped
