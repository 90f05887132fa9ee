"""Output helpers shared by the subcommands: where text goes, and making it safe for a terminal."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

from driftguard.fsutil import write_atomic
from driftguard.textsafe import strip_controls, visible

if TYPE_CHECKING:
    from driftguard.model import Report


def safe_terminal(text: str) -> str:
    """Strip control characters (ANSI escapes included) from untrusted text bound for a terminal."""
    return strip_controls(text)


def wants_color(stream: TextIO) -> bool:
    """Colour only on a TTY, never with NO_COLOR set (https://no-color.org), never for dumb TERM."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def emit(text: str, output: str | None) -> None:
    """Write a rendered document to ``output`` atomically, or to stdout when it is None or '-'."""
    if output and output != "-":
        write_atomic(output, text)
        return
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()


def info(message: str) -> None:
    """A progress or status line for humans, on stderr: one line, whatever names it quotes."""
    print(visible(message), file=sys.stderr)


def emit_report(report: Report, fmt: str, output: str | None) -> None:
    """Render ``report`` in ``fmt`` and write it; colour only for text on a terminal."""
    from driftguard.errors import DriftguardError

    if fmt == "text":
        from driftguard.report.text_format import render_color

        color = not output and wants_color(sys.stdout)
        text = render_color(report, color=color)
    else:
        from driftguard.report import renderer_for

        try:
            renderer = renderer_for(fmt)
        except ModuleNotFoundError as exc:
            if exc.name != f"driftguard.report.{fmt}_format":
                raise
            raise DriftguardError(
                f"the {fmt} report format is not available in this driftguard",
                hint="use --format text or --format json",
            ) from exc
        text = renderer(report)
    emit(text, output)
