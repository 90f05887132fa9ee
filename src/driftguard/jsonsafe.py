"""Strict JSON for everything driftguard reads: live files, snapshots, plans, reports, evidence.

Python's ``json`` keeps the last of two equal keys (so ``TreatMessagesAsInternal: true`` then
``false`` silently hides a critical value), accepts ``NaN``/``Infinity``, turns a 5,000-digit number
into a ``ValueError`` and a 100,000-deep document into a ``RecursionError``. Here each of those is
one ``errors.JsonError`` naming the source:

- two keys of one object equal, or equal but for letter case (Exchange's property names are
  case-insensitive, so ``treatMessagesAsInternal`` is the same property), refuse the document;
- nesting deeper than ``MAX_DEPTH``, integers longer than ``MAX_INT_DIGITS`` digits, numbers that
  overflow to infinity, ``NaN``/``Infinity`` and texts over ``MAX_CHARS`` are refused;
- a lone UTF-16 surrogate (``"\\ud800"``), which no UTF-8 output can carry, becomes U+FFFD, so one
  connector's broken name is shown as broken instead of crashing every report.

Two decoders refuse exactly the same documents. The careful one (``_DECODER``) checks every key
of every object in Python and walks the whole value for depth and surrogates. The quick one
(``_QUICK``), tried first, does the same checks at C speed where it can: an object's keys are
checked with one ``dict`` and one set of case-folded keys (key lists already seen are
remembered), an integer's length only when it is long, and the depth walk is skipped when the
document holds no more than ``MAX_DEPTH`` brackets at all. It is used only for documents that
cannot hold a surrogate; anything it refuses, and any document that may hold a surrogate, goes
through the careful decoder, whose answer (value or error) is the one given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from driftguard.errors import JsonError
from driftguard.textsafe import shown

MAX_DEPTH = 64
"""Nesting of objects and arrays; connector records need four levels."""

MAX_INT_DIGITS = 20
"""A 64-bit integer has at most 20 digits; nothing driftguard reads needs more."""

MAX_NUMBER_CHARS = 40
MAX_CHARS = 64 * 1024 * 1024
"""The largest JSON text read at all (a tenant of thousands of connectors is a few MiB)."""

_SURROGATE = re.compile("[\ud800-\udfff]")
# Where a lone surrogate can come from: an escape such as \ud800, or one already in the text.
_MAY_HOLD_SURROGATE = re.compile("\\\\u[dD][89a-fA-F]|[\ud800-\udfff]")


class _Refused(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def loads(text: str | bytes, *, source: str) -> Any:
    """The value of one JSON document; ``JsonError`` naming ``source`` if it is broken or unsafe."""
    decoded = _text(text, source)
    try:
        value = _QUICK.decode(decoded)
    except _QUICK_FAILURES:
        pass  # the careful decoder names what is wrong
    else:
        if _accepted(value, decoded, 0, len(decoded)):
            return value
    return _careful_loads(decoded, source)


def decode_at(text: str, pos: int, *, source: str) -> tuple[Any, int]:
    """One JSON value starting at ``text[pos]`` and the index after it (for streaming readers)."""
    if len(text) - pos > MAX_CHARS:
        raise JsonError(source, f"more than {MAX_CHARS // (1024 * 1024)} MiB of JSON", pos=pos)
    try:
        value, end = _QUICK.raw_decode(text, pos)
    except _QUICK_FAILURES:
        pass
    else:
        if _accepted(value, text, pos, end):
            return value, end
    return _careful_decode_at(text, pos, source)


def _careful_loads(text: str, source: str) -> Any:
    """``loads`` by the careful decoder alone (the reference the quick one is tested against)."""
    return _checked(lambda: _DECODER.decode(text), text, 0, source)[0]


def _careful_decode_at(text: str, pos: int, source: str) -> tuple[Any, int]:
    return _checked(lambda: _DECODER.raw_decode(text, pos), text, pos, source)


# What the quick decoder raises on a document the careful one refuses, or must name the fault
# of (JSONDecodeError is a ValueError).
_QUICK_FAILURES = (ValueError, _Refused, RecursionError)


def _accepted(value: Any, text: str, start: int, end: int) -> bool:
    """Whether ``value``, read by the quick decoder from ``text[start:end]``, is what the careful
    one would give: nothing it would replace (no surrogate) and no nesting it would refuse."""
    if (text.find("\\u", start, end) >= 0 or not text.isascii()) and _may_hold_surrogate(
        text, start, end
    ):
        return False  # (the first test is _may_hold_surrogate's own quick one, without a call)
    if text.count("[", start, end) + text.count("{", start, end) <= MAX_DEPTH:
        return True  # no more containers than levels allowed: the walk cannot refuse
    try:
        _walk(value, False)
    except _Refused:
        return False
    return True


def _checked(parse: Callable[[], Any], text: str, start: int, source: str) -> tuple[Any, int]:
    try:
        result = parse()
    except json.JSONDecodeError as exc:
        raise JsonError(
            source, f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno, pos=exc.pos
        ) from None
    except _Refused as exc:
        raise JsonError(source, exc.detail, pos=start) from None
    except RecursionError:
        raise JsonError(source, f"nested deeper than {MAX_DEPTH} levels", pos=start) from None
    value, end = result if isinstance(result, tuple) else (result, len(text))
    try:
        return _walk(value, _may_hold_surrogate(text, start, end)), end
    except _Refused as exc:
        raise JsonError(source, exc.detail, pos=start) from None


def _may_hold_surrogate(text: str, start: int, end: int) -> bool:
    if text.find("\\u", start, end) < 0 and text.isascii():  # the common case, at C speed
        return False
    return _MAY_HOLD_SURROGATE.search(text, start, end) is not None


def _text(data: str | bytes, source: str) -> str:
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode(json.detect_encoding(data))
        except UnicodeDecodeError as exc:
            detail = f"not UTF-8, UTF-16 or UTF-32 text (byte {exc.start})"
            raise JsonError(source, detail) from None
    if len(text) > MAX_CHARS:
        raise JsonError(source, f"more than {MAX_CHARS // (1024 * 1024)} MiB of JSON")
    return text.removeprefix("\ufeff")


# --------------------------------------------------------------------------- hooks


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    folded: dict[str, str] = {}
    for raw_key, value in pairs:
        key = _SURROGATE.sub("\ufffd", raw_key)
        first = folded.setdefault(key.casefold(), key)
        if key in out:
            raise _Refused(f"duplicate key {shown(key)} in one object")
        if first != key:
            raise _Refused(
                f"keys {shown(first)} and {shown(key)} of one object differ only in case"
            )
        out[key] = value
    return out


_KNOWN_KEYS: set[tuple[str, ...]] = set()
"""Key lists of objects already found free of case collisions (a service's records repeat them)."""
_KNOWN_MAX = 4096
_KNOWN_KEY_CHARS = 1024  # longer key lists are checked every time, never remembered


def _quick_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``_object`` for a document without surrogates: refuses the same objects (equal keys, or
    keys equal but for case), with the checks at C speed; the careful decoder names the keys."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Refused("duplicate key")
    keys = tuple(out)
    if keys in _KNOWN_KEYS:
        return out
    if len(set(map(str.casefold, keys))) != len(keys):
        raise _Refused("keys differ only in case")
    if sum(map(len, keys)) <= _KNOWN_KEY_CHARS:
        if len(_KNOWN_KEYS) >= _KNOWN_MAX:
            _KNOWN_KEYS.clear()
        _KNOWN_KEYS.add(keys)
    return out


def _quick_int(text: str) -> int:
    return int(text) if len(text) <= MAX_INT_DIGITS else _int(text)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"a number of {len(text)} digits (at most {MAX_INT_DIGITS} are read)")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"the number {text} is out of range")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


_CONTAINERS = frozenset((dict, list))
_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_int, parse_float=_float, parse_constant=_constant
)
_QUICK = json.JSONDecoder(
    object_pairs_hook=_quick_object,
    parse_int=_quick_int,
    parse_float=_float,
    parse_constant=_constant,
)


def _walk(value: Any, surrogates: bool) -> Any:
    """Check nesting (iteratively: depth cannot recurse) and, if ``surrogates``, replace them."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if surrogates else value
    if not isinstance(value, dict | list):
        return value
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
        if surrogates:
            _replace_surrogates(node)
        children = node.values() if isinstance(node, dict) else node
        if _CONTAINERS.isdisjoint(map(type, children)):  # at C speed: most lists hold text
            continue
        stack.extend((item, depth + 1) for item in children if isinstance(item, dict | list))
    return value


def _replace_surrogates(node: dict[str, Any] | list[Any]) -> None:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, item in items:
        if isinstance(item, str) and _SURROGATE.search(item):
            node[key] = _SURROGATE.sub("\ufffd", item)  # type: ignore[index]
