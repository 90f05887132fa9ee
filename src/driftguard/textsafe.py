"""The one definition of unsafe text: connector names, comments, audit parameters, file names.

Pure, so the terminal (``cli._output``), every report format (``report.escape`` builds on these)
and error lines share it:

- ``strip_controls``: escape sequences as a whole (``"\\x1b[31mred"`` becomes ``"red"``, and a
  bare ``"[31m"`` left by a stripped ESC goes too), C0/C1 controls but tab and newline, bidi
  marks, embeddings, overrides and isolates, line/paragraph separators, the byte-order mark and
  interlinear annotation characters; a lone UTF-16 surrogate (which no UTF-8 output can carry)
  becomes U+FFFD.
- ``one_line``: the same, every tab/CR/LF run folded into one space, for table cells.
- ``visible``: controls shown as escapes (``\\n``, ``\\x1b``) instead of removed, for names in
  error lines, so a newline in a folder name never splits a ``path:line:col`` line.
- ``bounded``: a free-text value cut to ``MAX_CHARS`` with a visible marker.
"""

from __future__ import annotations

import re

MAX_CHARS = 2000
"""The longest free-text value any report shows (a comment, a name, an audit parameter)."""

SHOWN_CHARS = 40
"""The most of an input value an error message quotes."""

# ANSI/VT escape sequences as a whole (CSI, OSC, and two-character escapes), so that
# "\x1b[31mred" becomes "red" rather than "[31mred".
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the 8-bit CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST (hyperlinks, titles)
    r"|\x1b[@-Z\\-_]"  # two-character escapes
)
# What is left of a CSI sequence whose ESC was already removed upstream ("[31m", "[0m", "[2J").
_BARE_CSI = re.compile(r"\[[0-9;?]+[A-HJKSTfhlmnsu]")
# C0 controls except tab and newline, DEL, C1 controls; bidi embeddings, overrides and isolates,
# the implicit direction marks, and the line/paragraph separators some viewers honour; the BOM
# (zero-width no-break space) and the interlinear annotation characters.
_CONTROLS_BUT_WHITESPACE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ufeff\ufff9-\ufffb"
)
CONTROLS = re.compile(f"[{_CONTROLS_BUT_WHITESPACE}]")
"""Every character ``strip_controls`` removes (tab and newline aside), for formats that escape."""
LINE_UNSAFE = re.compile(f"[\t\n{_CONTROLS_BUT_WHITESPACE}\ud800-\udfff]")
"""Every character that may not appear raw on one line shown to a person: the controls above,
tab and newline, and lone surrogates (``visible`` escapes them; ``pwsh`` spells them [char]N)."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE_RUN = re.compile(r"[\t\r\n]+")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def strip_controls(text: str) -> str:
    """Remove escape sequences, control characters and bidi overrides; keep tabs and newlines."""
    cleaned = CONTROLS.sub("", _ANSI.sub("", text))
    return without_surrogates(_BARE_CSI.sub("", cleaned))


def one_line(text: str) -> str:
    """``strip_controls`` and fold every tab, carriage return and newline run into one space."""
    return _WHITESPACE_RUN.sub(" ", strip_controls(text)).strip()


def visible(text: str) -> str:
    """Untrusted text on one line with every control character shown as an escape, not acted on."""
    return LINE_UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if _SURROGATE.match(char):
        return "\ufffd"
    return _ESCAPES.get(char, f"\\u{ord(char):04x}")


def without_surrogates(text: str) -> str:
    """Lone UTF-16 surrogates (no UTF-8 output can carry them) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value quoted in an error message: its repr, cut to ``limit`` characters.

    Never more: the value may be a line of a file that is not YAML at all (a key, a token).
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bounded(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters not shown]"
