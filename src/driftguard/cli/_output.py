"""Output helpers shared by the subcommands: where text goes, and making it safe for a terminal."""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO

from driftguard.fsutil import write_atomic

# C0 controls except tab/newline, DEL, C1 controls, and the Unicode bidi overrides that can
# reorder what a reviewer sees.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_terminal(text: str) -> str:
    """Strip control characters (ANSI escapes included) from untrusted text bound for a terminal."""
    return _UNSAFE.sub("", text)


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
    """A progress or status line for humans, on stderr."""
    print(safe_terminal(message), file=sys.stderr)
