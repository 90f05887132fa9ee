"""Offline evidence, like ``--live`` for connectors: audit and message-trace exports.

``--audit-log FILE``:
- the Purview audit search CSV export: the ``AuditData`` column (found by name,
  case-insensitively; the other columns differ between portal versions) holds the record's JSON;
- ``Search-UnifiedAuditLog ... | ConvertTo-Json`` output (rows with ``AuditData`` strings), or an
  InvokeCommand body;
- JSON lines of AuditData records.

``--message-trace FILE``: ``Get-MessageTraceV2`` exported as CSV (``Export-Csv``, with or without
its ``#TYPE`` line) or JSON (array, InvokeCommand body or JSON lines).

Files are streamed. A row that cannot be read is skipped and named with its line number, never
guessed at; the count of skipped rows goes into the report. A file that is not one of these
formats at all (no ``AuditData`` column, broken JSON document) is an input error.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from driftguard.errors import InputError, Problem
from driftguard.investigate.auditlog import AuditRecordError, event_from_row
from driftguard.investigate.jsonstream import BadLine, JsonSyntax, records
from driftguard.investigate.messagetrace import Aggregator
from driftguard.model import AuditEvent

MAX_NAMED = 100  # skipped rows named one by one; the rest are counted

# Get-MessageTraceV2 columns, matched case-insensitively.
TRACE_COLUMNS = (
    "MessageTraceId",
    "MessageId",
    "Received",
    "SenderAddress",
    "RecipientAddress",
    "FromIP",
    "ToIP",
    "Subject",
    "Status",
    "Size",
)
_TRACE_LOWER = {c.lower(): c for c in TRACE_COLUMNS}


@dataclass(frozen=True)
class Skipped:
    problems: tuple[Problem, ...]  # the first MAX_NAMED, with line numbers
    count: int


@dataclass(frozen=True)
class AuditFile:
    events: tuple[AuditEvent, ...]
    skipped: Skipped
    source: str


class _Skips:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.count = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.problems) < MAX_NAMED:
            self.problems.append(Problem(self.path, line, 1, f"row skipped: {message}"))

    def result(self) -> Skipped:
        return Skipped(tuple(self.problems), self.count)


def _open_text(path: Path) -> IO[str]:
    """UTF-8 (with or without BOM) or UTF-16 with BOM (Windows PowerShell's Out-File)."""
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


def _kind(path: Path) -> str:
    with _open_text(path) as fh:
        try:
            head = fh.read(4096)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 or UTF-16 text ({exc.reason})") from exc
    stripped = head.lstrip(" \t\r\n\ufeff")
    return "json" if stripped[:1] in ("[", "{") else "csv"


# --------------------------------------------------------------------------- audit


def read_audit_log(path: str | Path) -> AuditFile:
    """Every audit event of an export; unreadable rows skipped and named by line."""
    file = Path(path)
    skips = _Skips(str(file))
    events: list[AuditEvent] = []
    rows = _csv_audit(file, skips) if _kind(file) == "csv" else _json_rows(file, skips)
    counted = 0  # rows of a saved Search-UnifiedAuditLog result, which carry ResultCount
    total = 0
    for line, row in rows:
        count = row.get("ResultCount")
        if isinstance(count, int) and not isinstance(count, bool):
            counted += 1
            total = max(total, count)
        try:
            events.append(event_from_row(row))
        except AuditRecordError as exc:
            skips.add(line, str(exc))
    if counted and total > counted:
        raise InputError(
            f"{file}: the saved search holds {counted} of its {total} records "
            "(ResultCount): the audit log may be incomplete",
            hint="save the whole search (-SessionCommand ReturnLargeSet, repeated until no rows "
            "come back) or narrow its dates",
        )
    return AuditFile(tuple(events), skips.result(), f"file:{file.name}")


def _json_rows(file: Path, skips: _Skips) -> Iterator[tuple[int, dict[str, Any]]]:
    with _open_text(file) as fh:
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
        except UnicodeDecodeError as exc:
            raise InputError(f"{file}: not UTF-8 or UTF-16 text ({exc.reason})") from None


def _csv_rows(file: Path, skips: _Skips) -> Iterator[tuple[int, list[str], list[str]]]:
    """``(line, header, row)`` of a CSV file; ``#TYPE`` lines (Export-Csv) skipped."""
    # An AuditData cell can outgrow csv's 128 KiB default (a connector with a thousand ranges).
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))
    with _open_text(file) as fh:
        reader = csv.reader(fh)
        header: list[str] | None = None
        previous_end = 0
        try:
            for row in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if not row or (header is None and row[0].startswith("#")):
                    continue
                if header is None:
                    header = [h.strip().lstrip("\ufeff") for h in row]
                    yield start, header, []
                    continue
                if len(row) != len(header):
                    skips.add(start, f"{len(row)} columns where the header has {len(header)}")
                    continue
                yield start, header, row
        except csv.Error as exc:
            raise InputError(
                f"{file}: not a readable CSV file",
                [Problem(str(file), reader.line_num, 1, str(exc))],
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{file}: not UTF-8 or UTF-16 text ({exc.reason})") from None


def _csv_audit(file: Path, skips: _Skips) -> Iterator[tuple[int, dict[str, Any]]]:
    column: int | None = None
    for line, header, row in _csv_rows(file, skips):
        if not row:
            lowered = [h.lower() for h in header]
            if "auditdata" not in lowered:
                raise InputError(
                    f"{file}: no AuditData column",
                    [Problem(str(file), line, 1, "the header has no AuditData column")],
                    hint="export the search from the Purview portal (Audit > Export), or save "
                    "Search-UnifiedAuditLog output with ConvertTo-Json",
                )
            column = lowered.index("auditdata")
            continue
        assert column is not None  # noqa: S101 - the header comes first
        text = row[column]
        if not text.strip():
            skips.add(line, "empty AuditData")
            continue
        yield line, {"AuditData": text}


# --------------------------------------------------------------------------- message trace


def read_message_trace(path: str | Path, aggregator: Aggregator) -> Skipped:
    """Feed every row of a message-trace export to ``aggregator``; return the skipped rows.

    Rows it cannot read (no or bad ``Received``) are skipped by the aggregator with their line.
    """
    file = Path(path)
    skips = _Skips(str(file))
    if _kind(file) == "csv":
        mapping: list[str] = []
        for line, header, row in _csv_rows(file, skips):
            if not row:
                mapping = [_TRACE_LOWER.get(h.lower(), h) for h in header]
                missing = [c for c in ("Received", "FromIP") if c not in mapping]
                if missing:
                    raise InputError(
                        f"{file}: not a message trace export",
                        [Problem(str(file), line, 1, f"no {' or '.join(missing)} column")],
                        hint="export Get-MessageTraceV2 output with Export-Csv or ConvertTo-Json",
                    )
                continue
            _add(aggregator, skips, line, dict(zip(mapping, row, strict=True)))
    else:
        for line, record in _json_rows(file, skips):
            fixed = {_TRACE_LOWER.get(k.lower(), k): v for k, v in record.items()}
            _add(aggregator, skips, line, fixed)
    return skips.result()


def _add(aggregator: Aggregator, skips: _Skips, line: int, row: dict[str, Any]) -> None:
    before = aggregator.skipped_count
    aggregator.add(row, line)
    if aggregator.skipped_count != before:
        skips.add(line, aggregator.last_skip)
