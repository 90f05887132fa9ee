"""Options shared by several subcommands (CONTRACT.md: --baseline, --format, --output, --tenant)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
    """What each command module's ``register`` adds its parser to."""

FORMATS: tuple[str, ...] = ("text", "json", "markdown", "html", "sarif", "junit", "github")


def add_baseline(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        default="baseline",
        metavar="DIR",
        help="baseline folder (default: ./baseline)",
    )


def add_tenants(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tenant",
        action="append",
        dest="tenants",
        metavar="T",
        help="tenant folder name (repeatable; default: every tenant in the baseline; "
        "'demo' = the embedded demo tenant)",
    )


def add_output(
    parser: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS, default: str = "text"
) -> None:
    parser.add_argument("--format", choices=formats, default=default, help="report format")
    parser.add_argument(
        "--output", metavar="FILE", help="write the report to FILE (atomically) instead of stdout"
    )


def add_apply_options(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that run a plan (apply, rollback)."""
    parser.add_argument("--approve", metavar="DIGEST", help="the digest of the reviewed plan")
    parser.add_argument(
        "--dry-run", action="store_true", help="run every check and step, but write nothing"
    )
    parser.add_argument(
        "--journal",
        metavar="FILE",
        help="where to write the journal (default: next to the plan, named by its digest)",
    )
    add_baseline(parser)


DEFAULT_STATE = ".driftguard/watch.sqlite"


def add_state(parser: argparse.ArgumentParser) -> None:
    """``--state``: the database ``watch`` keeps and ``history`` reads."""
    parser.add_argument(
        "--state",
        default=DEFAULT_STATE,
        metavar="FILE",
        help=f"the watch state database (default: {DEFAULT_STATE})",
    )


def number_in(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """An argparse type: a number from ``low`` to ``high`` (``nan`` and ``inf`` refused)."""
    suffix = f" {unit}" if unit else ""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number{suffix}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}{suffix}")
        return value

    return parse


def whole_number(text: str) -> int:
    """An argparse type: a whole number, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
