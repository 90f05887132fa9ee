"""The PowerShell line a human would type for a cmdlet call, with untrusted values made inert.

Values go in single quotes, where PowerShell expands nothing; a quote inside is doubled. PowerShell
also treats the typographic single quotes (U+2018..U+201B) as quote characters, so those are
doubled too. Control characters (a newline in an attacker's connector name could make a second
line look like a second command) are spelled ``[char]N`` outside the quotes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from driftguard.jsontype import Json
from driftguard.textsafe import LINE_UNSAFE

_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")


# What may not appear raw in a line a person reads: defined once, in textsafe.
_CONTROL = LINE_UNSAFE
_SPECIAL = re.compile(_CONTROL.pattern[:-1] + "'\u2018-\u201b]")


def _is_control(char: str) -> bool:
    return _CONTROL.match(char) is not None


_DOUBLE_QUOTES = str.maketrans({q: q + q for q in _QUOTES})


def quote(text: str) -> str:
    """A PowerShell expression whose value is exactly ``text``."""
    if not _SPECIAL.search(text):
        return "'" + text + "'"
    if not _CONTROL.search(text):
        return "'" + text.translate(_DOUBLE_QUOTES) + "'"
    parts: list[str] = []
    run: list[str] = []
    for char in text:
        if _is_control(char):
            if run:
                parts.append("'" + "".join(run) + "'")
                run = []
            parts.append(f"[char]{ord(char)}")
        else:
            run.append(char + char if char in _QUOTES else char)
    if run or not parts:
        parts.append("'" + "".join(run) + "'")
    if len(parts) == 1 and parts[0].startswith("'"):
        return parts[0]
    if not parts[0].startswith("'"):
        parts.insert(0, "''")  # string + [char] concatenates; [char] + string would not
    return "(" + " + ".join(parts) + ")"


def value(v: Json) -> str:
    """One parameter value: $true/$false/$null, a number, a quoted string, or a list."""
    if v is None:
        return "$null"
    if isinstance(v, bool):
        return "$true" if v else "$false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, list | tuple):
        if not v:
            return "@()"
        return ",".join(quote(item) if isinstance(item, str) else value(item) for item in v)
    return quote(str(v))


def command_line(cmdlet: str, parameters: Mapping[str, Json]) -> str:
    """``Set-InboundConnector -Identity '...' -Enabled $false``; parameters in the given order."""
    words = [cmdlet]
    for name, v in parameters.items():
        words.append(f"-{name} {value(v)}")
    return " ".join(words)
