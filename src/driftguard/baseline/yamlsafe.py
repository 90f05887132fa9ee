"""Read one YAML file safely, keeping the line and column of every key and value.

PyYAML's loaders accept duplicate keys silently, expand aliases without limit (billion laughs) and
lose positions. Here libyaml (when PyYAML was built with it, else the pure-Python parser) only
composes the node graph; this module builds the Python values itself, so it can refuse duplicate
keys, bound alias expansion and nesting, and remember where everything stands.

Problems come back as ``errors.Problem`` values; nothing here raises on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from driftguard.baseline import plainyaml
from driftguard.errors import Problem
from driftguard.model import Location
from driftguard.textsafe import shown

MAX_BYTES = 256 * 1024
"""A baseline file is a few hundred bytes; anything this large is a mistake or an attack."""

MAX_NODES = 10_000
"""Values built from one file, aliases counted every time they are expanded."""

MAX_DEPTH = 32
"""Nesting of mappings and lists; baseline files need three levels."""

JsonPath = plainyaml.JsonPath

# A tab, or what YAML's reader refuses (C0/C1 controls but CR and LF, DEL, surrogates, U+FFFE/F):
# found here first so it is placed at its own line and column, in one line.
_UNREADABLE = re.compile("[^\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Document:
    """A parsed file: its value plus where each key and value stands.

    ``values`` maps a JSON path (keys and list indexes from the top) to the start of that value;
    ``keys`` maps the path of a mapping entry to the start of its key. Positions are 1-based
    ``(line, column)`` pairs (cheaper than a Location per node; most are never asked for).
    """

    path: str
    data: Any
    values: Mapping[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: Mapping[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def value_at(self, path: JsonPath) -> Location:
        """The closest located value at or above ``path``."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return Location(self.path, *found)
        return Location(self.path)

    def key_at(self, path: JsonPath) -> Location:
        """Where the key of ``path`` stands, else where its value (or its parent) stands."""
        found = self.keys.get(path)
        return Location(self.path, *found) if found else self.value_at(path)


class _Refused(Exception):
    """Raised inside the builder; becomes one Problem."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


def read(
    path: Path, display: str | None = None, *, allow_empty: bool = False
) -> tuple[Document | None, list[Problem]]:
    """Parse ``path``; on any problem return ``(None, problems)``.

    An empty file (nothing but comments) is a problem unless ``allow_empty``, when its data is None.
    """
    shown = display or str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, [Problem(shown, 1, 1, f"cannot read file: {exc.strerror or exc}")]
    if len(raw) > MAX_BYTES:
        return None, [
            Problem(shown, 1, 1, f"file is larger than {MAX_BYTES // 1024} KiB; refusing to read")
        ]
    return parse(raw, shown, allow_empty=allow_empty)


def parse(
    raw: bytes, path: str, *, allow_empty: bool = False
) -> tuple[Document | None, list[Problem]]:
    """Parse bytes that claim to come from ``path``."""
    text, problem = _decode(raw, path)
    if problem is not None:
        return None, [problem]
    bad = _UNREADABLE.search(text)
    if bad is not None:
        return None, [_unreadable(path, text, bad.start())]
    if not _has_content(text):
        return _empty(path, allow_empty)
    plain = plainyaml.read(text, MAX_NODES, lambda: _positions(text, path))
    if plain is not None:
        data, values, keys = plain
        return Document(path, data, values, keys), []
    return composed(text, path, allow_empty)


def _positions(text: str, path: str) -> tuple[dict[JsonPath, tuple[int, int]], ...]:
    """Where every key and value of ``text`` stands, as the full reader finds them."""
    doc, _problems = composed(text, path, allow_empty=True)
    if doc is None:  # pragma: no cover - the plain form is always valid YAML
        return {}, {}
    return dict(doc.values), dict(doc.keys)


def composed(text: str, path: str, allow_empty: bool) -> tuple[Document | None, list[Problem]]:
    """The full reader: libyaml composes the node graph, ``_Builder`` builds the values."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return _empty(path, allow_empty)
        builder = _Builder(path, loader)
        data = builder.build(node, (), 0)
    except _Refused as exc:
        return None, [_problem_at(path, exc.mark, exc.message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {_yaml_text(exc)}"
        if "alias" in message or "anchor" in message:
            message += ' (a value starting with * or & must be quoted, e.g. "*")'
        return None, [_problem_at(path, mark, message)]
    except yaml.YAMLError as exc:
        return None, [Problem(path, 1, 1, f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    return Document(path, data, builder.values, builder.keys), []


# --------------------------------------------------------------------------- building values


class _Builder:
    def __init__(self, path: str, loader: Any) -> None:
        self.path = path
        self.loader = loader
        self.count = 0
        self.values: dict[JsonPath, tuple[int, int]] = {}
        self.keys: dict[JsonPath, tuple[int, int]] = {}

    def build(self, node: yaml.Node, at: JsonPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Refused(
                node.start_mark,
                f"more than {MAX_NODES} values (aliases expand too far); refusing to read",
            )
        if depth > MAX_DEPTH:
            raise _Refused(node.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        mark = node.start_mark
        self.values.setdefault(at, (mark.line + 1, mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                raise _Refused(node.start_mark, f"unsupported tag {node.tag}")
            return self._mapping(node, at, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise _Refused(node.start_mark, f"unsupported tag {node.tag}")
            return [self.build(item, (*at, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, at: JsonPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                raise _Refused(
                    key_node.start_mark, "merge keys (<<) are not supported; write the keys out"
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(key_node.start_mark, "a key must be plain text, not a list or map")
            # The key as written: `on:` stays "on", `1:` stays "1" (no YAML 1.1 surprises).
            key = str(key_node.value)
            if key in out:
                first_line = self.keys[(*at, key)][0]
                raise _Refused(
                    key_node.start_mark,
                    f"duplicate key {shown(key)} (first at line {first_line}); "
                    "a key may appear once per mapping",
                )
            mark = key_node.start_mark
            self.keys[(*at, key)] = (mark.line + 1, mark.column + 1)
            out[key] = self.build(value_node, (*at, key), depth + 1)
        return out

    def _scalar(self, node: yaml.Node) -> Any:
        constructor: Callable[[Any, yaml.Node], Any] | None = self.loader.yaml_constructors.get(
            node.tag
        )
        if constructor is None or not isinstance(node, yaml.ScalarNode):
            raise _Refused(node.start_mark, f"unsupported tag {node.tag}")
        try:
            return constructor(self.loader, node)
        except yaml.MarkedYAMLError:
            raise
        except (yaml.YAMLError, ValueError, OverflowError, TypeError) as exc:
            # e.g. an integer too long to convert, an impossible timestamp
            raise _Refused(node.start_mark, f"cannot read value {shown(node.value)}") from exc


# --------------------------------------------------------------------------- helpers


def _empty(path: str, allow_empty: bool) -> tuple[Document | None, list[Problem]]:
    if allow_empty:
        return Document(path, None), []
    return None, [Problem(path, 1, 1, "file is empty")]


def _decode(raw: bytes, path: str) -> tuple[str, Problem | None]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "", Problem(
            path, 1, 1, "file starts with a byte-order mark (BOM); save it as UTF-8 without BOM"
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "", Problem(path, 1, 1, "file is UTF-16; save it as UTF-8 without BOM")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start].decode("utf-8", errors="replace")
        line, col = _line_col(prefix, len(prefix))
        return "", Problem(
            path, line, col, f"not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        )


def _unreadable(path: str, text: str, index: int) -> Problem:
    """A tab or a character YAML does not allow, placed at its own line and column."""
    line, col = _line_col(text, index)
    char = text[index]
    if char == "\t":
        message = (
            "tab character: YAML is indented with spaces (write \\t inside a double-quoted "
            "string if a value needs a tab)"
        )
    else:
        message = (
            f"character U+{ord(char):04X} is not allowed in YAML (control characters are "
            "written as escapes inside a double-quoted string, e.g. \\x07)"
        )
    return Problem(path, line, col, message)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    start = text.rfind("\n", 0, index) + 1
    return line, index - start + 1


def _has_content(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and stripped not in {"---", "..."}:
            return True
    return False


def _problem_at(path: str, mark: Any, message: str) -> Problem:
    if mark is None:
        return Problem(path, 1, 1, message)
    return Problem(path, mark.line + 1, mark.column + 1, message)


def _yaml_text(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    return "; ".join(parts) if parts else "syntax error"
