"""Rows of an evidence file (CSV or JSON), each with the line it starts on, and the rule that a
file mostly unreadable is an error, never evidence of nothing.

Text: UTF-8 (with or without BOM) or UTF-16 with BOM (Windows PowerShell's ``Out-File``, the
portal's historical-search reports). PowerShell's ``Format-List`` / ``Format-Table`` text is
refused with its own message: it is made for the screen, cut and padded, and has no reliable
structure.
"""

from __future__ import annotations

import codecs
import csv
import enum
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from driftguard.errors import InputError, Problem
from driftguard.investigate.jsonstream import BadLine, JsonSyntax, MorePages, records

MAX_NAMED = 100  # skipped rows named one by one; the rest are counted
_SKIPPED = "row skipped: "
_HEAD = 4096


@dataclass(frozen=True)
class Skipped:
    problems: tuple[Problem, ...]  # the first MAX_NAMED, with line numbers
    count: int


class Skips:
    """Rows skipped while reading one file: all counted, the first ``MAX_NAMED`` named."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.count = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.problems) < MAX_NAMED:
            self.problems.append(Problem(self.path, line, 1, f"{_SKIPPED}{message}"))

    def result(self) -> Skipped:
        return Skipped(tuple(self.problems), self.count)


def require_readable(file: Path, read: int, skips: Skips, *, what: str) -> None:
    """An error unless most rows were read: a file of which no row could be read, or more than
    half of the rows were skipped, says nothing about what happened (fail closed)."""
    if read and skips.count <= read:
        return
    first = ""
    if skips.problems:
        problem = skips.problems[0]
        first = f"; line {problem.line}: {problem.message.removeprefix(_SKIPPED)}"
    if not read and not skips.count:
        raise InputError(
            f"{file}: holds no {what}: an empty export is not evidence that nothing happened",
            hint="check the export's dates and filters; to go on without this evidence, leave "
            "the option out (the report then says the source was not read)",
        )
    verdict = "most rows could not" if read else "no row could"
    raise InputError(
        f"{file}: {verdict} be read as {what} ({skips.count} of {read + skips.count} rows "
        f"skipped{first})",
        hint="the file is not in a shape driftguard reads; see the README for the exports it "
        "accepts",
    )


class Kind(enum.Enum):
    JSON = "json"
    CSV = "csv"


def open_text(path: Path) -> IO[str]:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    head = raw.read(4)
    raw.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")


# ``RunspaceId   : 4f8c...`` (Format-List pads names to the longest, which keeps one space).
_FORMAT_LIST = re.compile(r"[A-Za-z][\w.-]*\s+:(?: |$)")
# Format-Table: a header line, then a line of dashes under each column.
_TABLE_RULE = re.compile(r"-{2,}(?: +-+)*")


def kind(path: Path, *, export_hint: str) -> Kind:
    """JSON or CSV, from the first non-blank character; PowerShell screen text refused."""
    with open_text(path) as fh:
        try:
            head = fh.read(_HEAD)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 or UTF-16 text ({exc.reason})") from exc
    stripped = head.lstrip(" \t\r\n\ufeff")
    if stripped[:1] in ("[", "{"):
        return Kind.JSON
    lines = [line.strip() for line in stripped.splitlines()[:3]]
    if lines and _FORMAT_LIST.match(lines[0]):
        raise InputError(
            f"{path}: PowerShell Format-List text ('{lines[0][:40]} ...'), not an export: "
            "it is cut to the screen and cannot be read reliably",
            hint=export_hint,
        )
    if len(lines) > 1 and _TABLE_RULE.fullmatch(lines[1]):
        raise InputError(
            f"{path}: PowerShell Format-Table text, not an export: it is cut to the screen "
            "and cannot be read reliably",
            hint=export_hint,
        )
    return Kind.CSV


def json_rows(file: Path, skips: Skips) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, record)`` of every JSON object; non-objects and broken JSON lines skipped."""
    with open_text(file) as fh:
        try:
            for item in records(fh):
                if isinstance(item, BadLine):
                    skips.add(item.line, item.message)
                    continue
                line, record = item
                if not isinstance(record, dict):
                    skips.add(line, "not a JSON object")
                    continue
                yield line, record
        except JsonSyntax as exc:
            raise InputError(
                f"{file}: not valid JSON",
                [Problem(str(file), exc.line, exc.column, exc.message)],
                hint="the file must be a JSON array, an object or JSON lines",
            ) from None
        except MorePages as exc:
            raise InputError(
                f"{file}: one page of a longer answer: {exc}; the rest is not in the file",
                hint="save every page (follow the next link until there is none) into one file",
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{file}: not UTF-8 or UTF-16 text ({exc.reason})") from None


def csv_rows(file: Path, skips: Skips) -> Iterator[tuple[int, list[str], list[str]]]:
    """``(line, header, row)`` of a CSV file, the header first with an empty row; ``#TYPE``
    lines (Export-Csv) skipped, rows of the wrong width skipped and named."""
    # An AuditData cell can outgrow csv's 128 KiB default (a connector with a thousand ranges).
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))
    with open_text(file) as fh:
        reader = csv.reader(fh)
        header: list[str] = []
        previous_end = 0
        try:
            for row in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if row and not row[0].startswith("#"):
                    header = [h.strip().lstrip("\ufeff") for h in row]
                    yield start, header, []
                    break
            width = len(header)
            for row in reader:  # the hot loop: one check per row
                start = previous_end + 1
                previous_end = reader.line_num
                if len(row) != width:
                    if row:
                        skips.add(start, f"{len(row)} columns where the header has {width}")
                    continue
                yield start, header, row
        except csv.Error as exc:
            raise InputError(
                f"{file}: not a readable CSV file",
                [Problem(str(file), reader.line_num, 1, str(exc))],
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{file}: not UTF-8 or UTF-16 text ({exc.reason})") from None
