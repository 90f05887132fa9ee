"""The plain form of a baseline file, read without composing a YAML node per value.

A big tenant's baseline is thousands of files as ``driftguard adopt`` writes them: comment lines,
then one ``Key: value`` per line, lists in flow style (``[10.0.0.1/32, 10.0.0.2/32]``). Building
their hundreds of thousands of list members through libyaml's node graph costs more than all the
checks after it. This reads exactly that form with string operations; whatever it does not
recognise with certainty (nesting, other quoting, anchors, tags, a duplicate key, a value of
another YAML type, CR line ends, anything non-ASCII) is left to ``yamlsafe``'s full reader, so the
data and every problem stay exactly what the full reader gives (a test holds the two together).

Scalars are typed by PyYAML's own resolver, as the full reader types them; only members shaped
like dotted IPv4 text (digits with two or more dots, an optional ``/`` and digits), which no
YAML 1.1 implicit type matches, are taken as text without asking it.

Positions: the root, each top-level key and value are located here; anything deeper (a list
member at fault) is asked of the full reader, run once and only then.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import yaml

Position = tuple[int, int]
JsonPath = tuple[str | int, ...]

_KEY_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_]*): (.+)")
# One member of a flow list: single-quoted without a quote inside, or a plain token that cannot
# start an indicator, hold a flow or comment character, or a space.
_FLOW_ITEM = r"(?:'[^'\n]*'|[A-Za-z0-9_./][A-Za-z0-9_./*@+=;-]*)"
_FLOW_LIST = re.compile(rf"{_FLOW_ITEM}(?:, {_FLOW_ITEM})*")
_IPV4_ITEM = r"[0-9]+(?:\.[0-9]+){2,}(?:/[0-9]+)?"
_IPV4_LIST = re.compile(rf"{_IPV4_ITEM}(?:, {_IPV4_ITEM})*")
# A plain scalar on one line of a block mapping: no indicator first, no ``:`` or ``#``, no
# trailing space (the quoted form is matched separately).
_PLAIN_SCALAR = re.compile(r"[A-Za-z0-9_./(][A-Za-z0-9_./*@+=;(),' -]*(?<! )")
_QUOTED = re.compile(r"'[^'\n]*'")

_STR = "tag:yaml.org,2002:str"
_RESOLVE: Callable[[type[yaml.Node], str, tuple[bool, bool]], str] = (
    yaml.resolver.Resolver().resolve
)
_TYPED: Mapping[str, Callable[[str], Any]] = {
    _STR: str,
    "tag:yaml.org,2002:bool": lambda text: yaml.constructor.SafeConstructor.bool_values[
        text.lower()
    ],
    "tag:yaml.org,2002:null": lambda _text: None,
}


class _NotPlain(Exception):
    """The text is not in the plain form: the full reader decides."""


def read(
    text: str, max_nodes: int, full: Callable[[], tuple[dict[JsonPath, Position], ...]]
) -> tuple[dict[str, Any], Mapping[JsonPath, Position], Mapping[JsonPath, Position]] | None:
    """(data, value positions, key positions) of ``text`` in the plain form, else None.

    ``full`` gives the full reader's (values, keys) positions; it is called only when a
    position not located here is asked for. ``max_nodes`` bounds the values built, as there.
    """
    try:
        return _read(text, max_nodes, full)
    except _NotPlain:
        return None


def _read(
    text: str, max_nodes: int, full: Callable[[], tuple[dict[JsonPath, Position], ...]]
) -> tuple[dict[str, Any], Mapping[JsonPath, Position], Mapping[JsonPath, Position]]:
    if "\r" in text or not text.isascii():
        raise _NotPlain
    data: dict[str, Any] = {}
    values: dict[JsonPath, Position] = {}
    keys: dict[JsonPath, Position] = {}
    nodes = 1
    for number, line in enumerate(text.split("\n"), start=1):
        if not line or line[0] == "#":
            continue
        matched = _KEY_LINE.fullmatch(line)
        if matched is None:
            raise _NotPlain
        key, value = matched.groups()
        if key in data:
            raise _NotPlain  # the full reader names both lines
        built = _value(value)
        nodes += 1 + (len(built) if isinstance(built, list) else 0)
        if nodes > max_nodes:
            raise _NotPlain
        values.setdefault((), (number, 1))
        keys[(key,)] = (number, 1)
        values[(key,)] = (number, len(key) + 3)
        data[key] = built
    if not data:
        raise _NotPlain
    located = _Located(full)
    return data, located.view(values, 0), located.view(keys, 1)


def _value(text: str) -> Any:
    if text[0] == "[":
        if text[-1] != "]":
            raise _NotPlain
        inner = text[1:-1]
        if not inner:
            return []
        if _IPV4_LIST.fullmatch(inner):
            return inner.split(", ")
        if not _FLOW_LIST.fullmatch(inner):
            raise _NotPlain
        return [_scalar(item) for item in inner.split(", ")]
    if _QUOTED.fullmatch(text) or _PLAIN_SCALAR.fullmatch(text):
        return _scalar(text)
    raise _NotPlain


def _scalar(text: str) -> Any:
    if text[0] == "'":
        return text[1:-1]
    return _typed(text)


@functools.lru_cache(maxsize=4096)
def _typed(text: str) -> Any:
    """A plain scalar as the full reader types it; another type than text, true/false or null
    (a number, a date) is left to the full reader."""
    tag = _RESOLVE(yaml.ScalarNode, text, (True, False))
    construct = _TYPED.get(tag)
    if construct is None:
        raise _NotPlain
    return construct(text)


class _Located:
    """Positions found here, and the full reader's, fetched once when one is missing."""

    def __init__(self, full: Callable[[], tuple[dict[JsonPath, Position], ...]]) -> None:
        self._full = full
        self._fetched: tuple[dict[JsonPath, Position], ...] | None = None

    def view(self, known: dict[JsonPath, Position], which: int) -> Mapping[JsonPath, Position]:
        return _Positions(known, lambda: self.fetched()[which])

    def fetched(self) -> tuple[dict[JsonPath, Position], ...]:
        if self._fetched is None:
            self._fetched = self._full()
        return self._fetched


class _Positions(Mapping[JsonPath, Position]):
    """A position mapping whose missing entries come from the full reader."""

    def __init__(
        self, known: dict[JsonPath, Position], full: Callable[[], dict[JsonPath, Position]]
    ) -> None:
        self._known = known
        self._full = full

    def __getitem__(self, path: JsonPath) -> Position:
        found = self._known.get(path)
        return found if found is not None else self._full()[path]

    def __iter__(self) -> Iterator[JsonPath]:
        return iter(self._full())

    def __len__(self) -> int:
        return len(self._full())
