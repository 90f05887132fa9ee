"""Records of a large JSON or JSON-lines file, one at a time, with the line each starts on.

Accepted shapes: an array of objects (``ConvertTo-Json`` output), an InvokeCommand or OData v3
body ``{"value": [...]}`` (the Reporting Web Service adds ``odata.metadata``), an OData v2 body
``{"d": {"results": [...]}}`` (or ``{"d": [...]}``), a single object, or JSON lines. Memory holds
one record plus a read buffer; an envelope is read whole (they are single service pages).

A body that names a next page (``odata.nextLink``, ``@odata.nextLink``, ``d.__next``) is one page
of more: ``MorePages``, never read as the whole answer.

In a JSON document a syntax error is fatal (there is no telling where the next record starts):
``JsonSyntax`` carries its line and column. In JSON lines each line stands alone, so a broken line
is yielded as a ``BadLine`` and the reader goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from driftguard import jsonsafe
from driftguard.errors import JsonError

_CHUNK = 1 << 16
MAX_VALUE = jsonsafe.MAX_CHARS  # characters of one record or one envelope read whole
_BLANK = re.compile("[ \t\r\n\ufeff]*")
_BETWEEN = re.compile("[ \t\r\n\ufeff]*,[ \t\r\n\ufeff]*")


class JsonSyntax(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class MorePages(ValueError):
    """A saved service page whose body links to the next one: the rest is not in the file."""

    def __init__(self, link: str) -> None:
        super().__init__(f"the body links to a next page ({link[:200]})")
        self.link = link


@dataclass(frozen=True)
class BadLine:
    line: int
    message: str


class _Buffer:
    def __init__(self, fh: IO[str]) -> None:
        self.fh = fh
        self.text = ""
        self.pos = 0
        self.line = 1  # line of self.pos
        self.line_start = 0  # index in text where the current line starts (for columns)
        self.eof = False

    def fill(self, size: int = 0) -> bool:
        if self.eof:
            return False
        chunk = self.fh.read(max(size, _CHUNK))
        if not chunk:
            self.eof = True
            return False
        # Drop what was consumed, keep the rest.
        self.line_start -= self.pos
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        return True

    def advance(self, new_pos: int) -> None:
        newlines = self.text.count("\n", self.pos, new_pos)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", self.pos, new_pos) + 1
        self.pos = new_pos

    def skip_ws(self) -> str:
        """The next non-blank character ('' at the end), not consumed."""
        while True:
            text = self.text
            end = len(text)
            blank = _BLANK.match(text, self.pos)  # it always matches, if only nothing
            pos = blank.end() if blank else self.pos
            self.advance(pos)
            if pos < end:
                return text[pos]
            if not self.fill():
                return ""

    def column(self) -> int:
        return self.pos - self.line_start + 1

    def error(self, message: str) -> JsonSyntax:
        return JsonSyntax(message, self.line, self.column())

    def value(self) -> Any:
        while True:
            try:
                obj, end = jsonsafe.decode_at(self.text, self.pos, source="")
            except JsonError as exc:
                pending = len(self.text) - self.pos
                if pending > MAX_VALUE:
                    raise self.error(
                        f"one JSON value is larger than {MAX_VALUE >> 20} MiB; save the rows "
                        "as a JSON array or JSON lines"
                    ) from None
                # A syntax error (the placed kind) may be a record cut at the end of the chunk:
                # read as much again as is pending, so a large value is decoded O(log n) times.
                if exc.line > 0 and self.fill(pending):
                    continue
                line = self.line + self.text.count("\n", self.pos, exc.pos)
                last = self.text.rfind("\n", 0, exc.pos)
                raise JsonSyntax(exc.detail, line, exc.pos - last) from None
            bare = not isinstance(obj, dict | list | str)
            if bare and end == len(self.text) and self.fill():
                continue  # a bare number may go on in the next chunk
            self.advance(end)
            return obj


def records(fh: IO[str]) -> Iterator[tuple[int, Any] | BadLine]:
    """``(line, record)`` for every record; ``BadLine`` for a broken JSON line."""
    buf = _Buffer(fh)
    first = buf.skip_ws()
    if first == "":
        return
    if first == "[":
        buf.advance(buf.pos + 1)
        yield from _array(buf)
        return
    if first != "{":
        raise buf.error("expected a JSON array, object or JSON lines")
    start_line = buf.line
    obj = buf.value()
    following = buf.skip_ws()
    if following == "":
        items = _envelope_items(obj)
        if items is None:
            yield start_line, obj
        else:
            for item in items:
                yield start_line, item
        return
    # More after the first object: JSON lines. The first line was fine; read the rest by line.
    yield start_line, obj
    yield from _lines(buf)


_NEXT_LINKS = ("odata.nextLink", "@odata.nextLink", "__next")


def _envelope_items(obj: Any) -> list[Any] | None:
    """The rows of a service body (InvokeCommand, OData v3 or v2), or None for a plain record."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("value"), list):
        body = obj
        items: list[Any] = obj["value"]
    elif isinstance(obj.get("d"), list):
        return list(obj["d"])
    elif isinstance(obj.get("d"), dict) and isinstance(obj["d"].get("results"), list):
        body = obj["d"]
        items = body["results"]
    else:
        return None
    for key in _NEXT_LINKS:
        link = body.get(key)
        if isinstance(link, str) and link:
            raise MorePages(link)
    return items


def _array(buf: _Buffer) -> Iterator[tuple[int, Any]]:
    expect_value = True
    while True:
        if not expect_value:
            # The common case in one step: blanks, the comma and blanks before the next record,
            # which starts in the buffer; anything else goes the general way below.
            between = _BETWEEN.match(buf.text, buf.pos)
            if between is not None:
                following = between.end()
                if following < len(buf.text) and buf.text[following] != "]":
                    buf.advance(following)
                    line = buf.line
                    yield line, buf.value()
                    continue
        char = buf.skip_ws()
        if char == "":
            raise buf.error("the JSON array is not closed (truncated file?)")
        if char == "]":
            buf.advance(buf.pos + 1)
            if buf.skip_ws() != "":
                raise buf.error("unexpected text after the JSON array")
            return
        if not expect_value:
            if char != ",":
                raise buf.error("expected ',' or ']' between records")
            buf.advance(buf.pos + 1)
            expect_value = True
            continue
        line = buf.line
        yield line, buf.value()
        expect_value = False


def _lines(buf: _Buffer) -> Iterator[tuple[int, Any] | BadLine]:
    while True:
        if buf.skip_ws() == "":
            return
        # Make sure the whole line is in the buffer (find, not a slice: no copy per line).
        newline = buf.text.find("\n", buf.pos)
        while newline < 0:
            pending = len(buf.text) - buf.pos  # searched already: not searched again
            if pending > MAX_VALUE:
                raise buf.error(f"a JSON line longer than {MAX_VALUE >> 20} MiB")
            if not buf.fill(pending):
                break
            newline = buf.text.find("\n", buf.pos + pending)
        end = len(buf.text) if newline < 0 else newline
        line_text = buf.text[buf.pos : end]
        line = buf.line
        buf.advance(end)
        try:
            yield line, jsonsafe.loads(line_text, source="")
        except JsonError as exc:
            yield BadLine(line, f"not valid JSON ({exc.detail}, column {exc.column or 1})")
