"""The command-line front: ``main(argv) -> int``.

The cli package is the only place that prints, reads the clock for output and maps errors to exit
codes. Each subcommand lives in its own module with ``register(subparsers)``; heavy libraries are
imported inside the command functions so ``driftguard --version`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from driftguard import __version__

# Subcommand modules, in help order. Each defines ``register(subparsers) -> None`` and sets
# ``func`` (taking the parsed namespace, returning the exit code) on its parser.
COMMANDS: tuple[str, ...] = (
    "validate",
    "diff",
    "plan",
    "apply",
    "rollback",
    "snapshot",
    "adopt",
    "init",
    "investigate",
    "respond",
    "report",
    "doctor",
    "watch",
    "history",
    "sim",
)


class _ParserExit(Exception):
    """argparse asked to end the process (``--help``, a usage error); ``main`` returns the code."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error, and 2 means "drift" here: a usage error exits 1.

    Subcommand parsers are built with the same class (``add_subparsers`` uses ``type(self)``), and
    nothing calls ``sys.exit`` from inside ``main``.
    """

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _ParserExit(status)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only`` (one of COMMANDS), only that subcommand is registered:
    what parses its arguments, without importing the other commands' modules."""
    parser = _Parser(
        prog="driftguard",
        description="Detect, explain and revert tampering with Exchange Online inbound connectors.",
    )
    parser.add_argument("--version", action="version", version=f"driftguard {__version__}")
    from driftguard.cli import _logging

    _logging.add_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only in COMMANDS else COMMANDS:
        module = importlib.import_module(f"driftguard.cli.{name}_cmd")
        module.register(sub)
    for command in sub.choices.values():
        _logging.add_options(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list == ["--version"]:  # answered before any subcommand module is imported
        print(f"driftguard {__version__}")
        return 0
    from driftguard.errors import DriftguardError

    parser = build_parser(_command(args_list))
    try:
        args = parser.parse_args(args_list)
    except _ParserExit as stop:
        return stop.status
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 1
    from driftguard.cli import _logging
    from driftguard.live import waits

    _logging.configure(args)
    waits.reset()
    try:
        code: int = args.func(args)
    except DriftguardError as exc:
        from driftguard.textsafe import visible

        for line in exc.lines():  # one line each, whatever names they quote
            print(visible(line), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        waits.cancel()  # whatever still waits in another thread ends now
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file problem no command put in words: one line, not a trace
        from driftguard.cli._output import safe_terminal

        where = f"{exc.filename}: " if exc.filename else ""
        print(safe_terminal(f"error: {where}{exc.strerror or exc}"), file=sys.stderr)
        return 1
    return code


def _command(args: Sequence[str]) -> str | None:
    """The subcommand ``args`` name: the first word that is not an option (the top-level
    options take no value), as argparse finds it."""
    return next((arg for arg in args if not arg.startswith("-")), None)


def console_main() -> None:
    sys.exit(main())
