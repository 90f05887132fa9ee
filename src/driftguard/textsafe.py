"""Making untrusted text (connector names, comments, audit parameters) safe to show on a terminal.

Pure, so renderers and the CLI share one definition of "unsafe".
"""

from __future__ import annotations

import re

# C0 controls except tab/newline, DEL, C1 controls, and the Unicode bidi overrides that can
# reorder what a reviewer sees.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile("[\t\n]")


def strip_unsafe(text: str) -> str:
    """Strip control characters (ANSI escapes included) from untrusted text bound for a terminal."""
    return _UNSAFE.sub("", text)


def one_line(text: str) -> str:
    """``strip_unsafe`` plus tabs and newlines turned into spaces: for table cells."""
    return _NEWLINES.sub(" ", strip_unsafe(text))
