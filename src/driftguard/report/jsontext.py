"""The text of ``json.dumps(value, indent=2, ensure_ascii=False)``, faster for lists of text.

With an indent, the standard library encodes in Python, one call per value. A report of a big
tenant holds hundreds of thousands of IP addresses in lists of text; here such a list is encoded
by the C string encoder in one ``map`` and joined. Everything else is written as ``json`` writes
it; a value this module does not handle (a key that is not text, a type json refuses or converts
through ``default``) makes it hand the whole value to ``json.dumps``. A test holds the two
to the same text on random values.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

_INDENT = "  "


class _Unhandled(Exception):
    """A value written by ``json.dumps`` instead."""


def dumps(value: Any) -> str:
    """The text of ``json.dumps(value, indent=2, ensure_ascii=False)``."""
    parts: list[str] = []
    try:
        _encode(value, 0, parts)
    except _Unhandled:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(parts)  # one copy of a report of megabytes, not one per nesting level


def _encode(value: Any, depth: int, out: list[str]) -> None:
    """Append the text of ``value`` to ``out``."""
    # The order of json's own checks: bool before int, str subclasses as text.
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(json.dumps(value))
    elif isinstance(value, list | tuple):
        _list(value, depth, out)
    elif isinstance(value, dict):
        _dict(value, depth, out)
    else:
        raise _Unhandled


def _list(items: list[Any] | tuple[Any, ...], depth: int, out: list[str]) -> None:
    if not items:
        out.append("[]")
        return
    inner = "\n" + _INDENT * (depth + 1)
    if set(map(type, items)) == {str}:
        if _unescaped(items):  # each member is its JSON text in quotes: one join writes all
            out.append(f'[{inner}"' + f'",{inner}"'.join(items) + f'"\n{_INDENT * depth}]')
        else:
            out.append(f"[{inner}" + f",{inner}".join(map(encode_basestring, items)))
            out.append(f"\n{_INDENT * depth}]")
        return
    separator = "[" + inner
    for item in items:
        out.append(separator)
        _encode(item, depth + 1, out)
        separator = "," + inner
    out.append(f"\n{_INDENT * depth}]")


def _unescaped(items: list[str] | tuple[str, ...]) -> bool:
    """Whether no member holds a character ``encode_basestring`` escapes (a quote, a backslash,
    a C0 control; a lone surrogate is not printable either): checked over the joined text."""
    joined = "".join(items)
    return joined.isprintable() and '"' not in joined and "\\" not in joined


def _dict(mapping: dict[Any, Any], depth: int, out: list[str]) -> None:
    if not mapping:
        out.append("{}")
        return
    inner = "\n" + _INDENT * (depth + 1)
    separator = "{" + inner
    for key, item in mapping.items():
        if not isinstance(key, str):
            raise _Unhandled  # json converts numbers, true/false and null keys its own way
        out.append(f"{separator}{encode_basestring(key)}: ")
        _encode(item, depth + 1, out)
        separator = "," + inner
    out.append(f"\n{_INDENT * depth}}}")
