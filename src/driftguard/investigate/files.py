"""Offline evidence, like ``--live`` for connectors: audit and message-trace exports.

``--audit-log FILE``:
- the Purview audit search CSV export: the ``AuditData`` column (found by name,
  case-insensitively; the other columns differ between portal versions) holds the record's JSON;
- ``Search-UnifiedAuditLog ...`` saved with ``ConvertTo-Json`` or ``Export-Csv`` (rows with
  ``AuditData`` strings, ``ResultIndex``, ``ResultCount``), or an InvokeCommand body;
- JSON lines of AuditData records.

``--message-trace FILE``:
- ``Get-MessageTraceV2`` exported as CSV (``Export-Csv``, with or without its ``#TYPE`` line) or
  JSON (array, InvokeCommand body or JSON lines);
- Reporting Web Service ``MessageTrace`` bodies: OData v3 (``odata.metadata`` + ``value``) and
  OData v2 (``{"d": {"results": [...]}}``, dates as ``/Date(ms)/``);
- the portal's historical-search CSV (``origin_timestamp_utc``, ``original_client_ip``,
  ``recipient_status`` = ``address##events`` per recipient, ``;`` between them): one row per
  recipient, as ``Get-MessageTraceV2`` counts.

Files are streamed. A row that cannot be read is skipped and named with its line number, never
guessed at; the count of skipped rows goes into the report. A file that is not one of these
formats at all (no ``AuditData`` column, broken JSON document, PowerShell screen text), a file in
which no row or most rows cannot be read, a trace with no row in the window, and a saved search
cut short are input errors: an unreadable file is never evidence of nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, assert_never

from driftguard.errors import InputError, Problem
from driftguard.investigate.auditrecords import AuditRecordError, event_from_row, wire_time
from driftguard.investigate.filerows import (
    Kind,
    Skipped,
    Skips,
    csv_rows,
    json_rows,
    kind,
    require_readable,
)
from driftguard.investigate.messagetrace import Aggregator
from driftguard.investigate.savedsearch import Tally, Verdict
from driftguard.model import AuditEvent

__all__ = ["AuditFile", "Skipped", "read_audit_log", "read_message_trace"]

# Get-MessageTraceV2 (and the Reporting Web Service's MessageTrace) columns, any case.
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
# The portal's historical-search report, in the same names (recipient_status is split apart).
_HISTORICAL = {
    "origin_timestamp_utc": "Received",
    "sender_address": "SenderAddress",
    "message_subject": "Subject",
    "total_bytes": "Size",
    "message_id": "MessageId",
    "network_message_id": "MessageTraceId",
    "original_client_ip": "FromIP",
}
_RECIPIENT_STATUS = "recipient_status"
# The last event of a historical-search recipient, as Get-MessageTraceV2 names the status.
_HISTORICAL_STATUS = {"deliver": "Delivered", "fail": "Failed", "expand": "Expanded"}
# Search-UnifiedAuditLog columns kept beside AuditData from a CSV save.
_AUDIT_COLUMNS = ("ResultIndex", "ResultCount", "CreationDate")

_AUDIT_EXPORT = (
    "export the search from the Purview portal (Audit > Export), or save Search-UnifiedAuditLog "
    "output with '| ConvertTo-Json -Depth 5 | Out-File FILE' or '| Export-Csv FILE'"
)
_TRACE_EXPORT = (
    "save Get-MessageTraceV2 output with '| Export-Csv FILE' or '| ConvertTo-Json | Out-File "
    "FILE', or download the historical search report as CSV"
)


@dataclass(frozen=True)
class AuditFile:
    events: tuple[AuditEvent, ...]
    skipped: Skipped
    source: str
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- audit


def read_audit_log(path: str | Path) -> AuditFile:
    """Every audit event of an export; unreadable rows skipped and named by line."""
    file = Path(path)
    skips = Skips(str(file))
    events: list[AuditEvent] = []
    tally = Tally()
    for line, row in _audit_rows(file, skips):
        tally.add(row.get("ResultCount"), row.get("ResultIndex"))
        try:
            events.append(event_from_row(row))
        except AuditRecordError as exc:
            skips.add(line, str(exc))
    warnings: list[str] = []
    for check in tally.checks():
        match check.verdict:
            case Verdict.COMPLETE:
                pass
            case Verdict.FILTERED:
                warnings.append(f"{file.name}: {check.describe()}")
            case Verdict.TRUNCATED:
                raise InputError(
                    f"{file}: {check.describe()}: the audit log may be incomplete",
                    hint="save the whole search (-SessionCommand ReturnLargeSet, repeated until "
                    "no rows come back; driftguard keeps the connector operations itself) or "
                    "narrow its dates",
                )
            case _:
                assert_never(check.verdict)
    require_readable(file, len(events), skips, what="audit records")
    return AuditFile(tuple(events), skips.result(), f"file:{file.name}", tuple(warnings))


def _audit_rows(file: Path, skips: Skips) -> Iterator[tuple[int, Mapping[str, Any]]]:
    found = kind(file, export_hint=_AUDIT_EXPORT)
    match found:
        case Kind.CSV:
            yield from _csv_audit(file, skips)
        case Kind.JSON:
            yield from json_rows(file, skips)
        case _:
            assert_never(found)


def _csv_audit(file: Path, skips: Skips) -> Iterator[tuple[int, dict[str, Any]]]:
    column: int | None = None
    kept: dict[str, int] = {}
    for line, header, row in csv_rows(file, skips):
        if not row:
            lowered = [h.lower() for h in header]
            if "auditdata" not in lowered:
                raise InputError(
                    f"{file}: no AuditData column",
                    [Problem(str(file), line, 1, "the header has no AuditData column")],
                    hint=_AUDIT_EXPORT,
                )
            column = lowered.index("auditdata")
            kept = {c: lowered.index(c.lower()) for c in _AUDIT_COLUMNS if c.lower() in lowered}
            continue
        assert column is not None  # noqa: S101 - the header comes first
        text = row[column]
        if not text.strip():
            skips.add(line, "empty AuditData")
            continue
        yield line, {"AuditData": text, **{name: row[i] for name, i in kept.items()}}


# --------------------------------------------------------------------------- message trace


def read_message_trace(path: str | Path, aggregator: Aggregator) -> Skipped:
    """Feed every row of a message-trace export to ``aggregator``; return the skipped rows.

    Rows it cannot read (no or bad ``Received``, no ``FromIP``) are skipped with their line.
    """
    file = Path(path)
    skips = Skips(str(file))
    found = kind(file, export_hint=_TRACE_EXPORT)
    match found:
        case Kind.CSV:
            read = _csv_trace(file, skips, aggregator)
        case Kind.JSON:
            read = _feed(aggregator, skips, _json_trace(file, skips))
        case _:
            assert_never(found)
    require_readable(file, read, skips, what="message trace")
    if not aggregator.rows:
        # Rows of another period say nothing about this one (plan reads "no mail went through").
        raise InputError(
            f"{file}: none of its {aggregator.outside_window} rows falls in the window "
            f"{wire_time(aggregator.start)} .. {wire_time(aggregator.end)}",
            hint="give --since/--until covering the export, or export the window",
        )
    return skips.result()


# The fields ``Aggregator.add_fields`` takes, in its order.
_ROW_FIELDS = (
    "Received",
    "MessageTraceId",
    "RecipientAddress",
    "FromIP",
    "Status",
    "SenderAddress",
)


def _csv_trace(file: Path, skips: Skips, aggregator: Aggregator) -> int:
    """Feed a CSV export's rows; the number of lines read. A ``Get-MessageTraceV2`` export
    (every field the aggregator reads has its column) goes row by row without a mapping made
    for each row; the historical-search report is first split per recipient."""
    rows = csv_rows(file, skips)
    first = next(rows, None)  # the header comes first
    if first is None:
        return 0
    line, header, _ = first
    lowered = [h.lower() for h in header]
    historical = _HISTORICAL.keys() & set(lowered)
    table = _HISTORICAL if historical else _TRACE_LOWER
    mapping = [table.get(h, h) for h in lowered]
    missing = [c for c in ("Received", "FromIP") if c not in mapping]
    if missing:
        names = " or ".join(f"{c} ({_source_name(c)})" if historical else c for c in missing)
        raise InputError(
            f"{file}: not a message trace export",
            [Problem(str(file), line, 1, f"no {names} column")],
            hint=_TRACE_EXPORT,
        )
    if _RECIPIENT_STATUS in lowered:
        recipients = lowered.index(_RECIPIENT_STATUS)
        return _feed(aggregator, skips, _historical(rows, mapping, recipients))
    column = {name: i for i, name in enumerate(mapping)}  # the last of equal names, as a dict
    if not all(name in column for name in _ROW_FIELDS):
        return _feed(
            aggregator, skips, ((n, [dict(zip(mapping, r, strict=True))]) for n, _, r in rows)
        )
    received, trace_id, recipient, from_ip, status, sender = (column[n] for n in _ROW_FIELDS)
    read = 0
    add = aggregator.add_fields
    for line, _, row in rows:
        if add(
            row[received],
            row[trace_id],
            row[recipient],
            row[from_ip],
            row[status],
            row[sender],
            line,
        ):
            read += 1
        else:
            skips.add(line, aggregator.last_skip)
    return read


def _historical(
    rows: Iterator[tuple[int, list[str], list[str]]], mapping: list[str], recipients: int
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    for line, _, row in rows:
        yield line, _per_recipient(dict(zip(mapping, row, strict=True)), row[recipients])


def _source_name(column: str) -> str:
    return next(k for k, v in _HISTORICAL.items() if v == column)


def _per_recipient(record: dict[str, Any], status: str) -> list[dict[str, Any]]:
    """``a@x##Receive, Deliver;b@x##Receive, Fail`` -> one row per recipient."""
    out: list[dict[str, Any]] = []
    for part in status.split(";"):
        address, _, events = part.strip().partition("##")
        if not address:
            continue
        last = events.rpartition(",")[2].strip()
        state = _HISTORICAL_STATUS.get(last.lower(), last)
        out.append({**record, "RecipientAddress": address, "Status": state})
    return out or [record]


def _json_trace(file: Path, skips: Skips) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    for line, record in json_rows(file, skips):
        fixed = {_TRACE_LOWER.get(k.lower(), k): v for k, v in record.items()}
        if "FromIP" not in fixed:
            # Without it no row can be matched to a connector: the file is not a trace.
            skips.add(line, "no FromIP field")
            continue
        yield line, [fixed]


def _feed(
    aggregator: Aggregator, skips: Skips, lines: Iterable[tuple[int, list[dict[str, Any]]]]
) -> int:
    """Count every line's rows; the number of lines read (a line is skipped, once, when one of
    its rows is: they share one time)."""
    read = 0
    for line, rows in lines:
        before = aggregator.skipped_count
        for row in rows:
            aggregator.add(row, line)
            if aggregator.skipped_count != before:
                skips.add(line, aggregator.last_skip)
                break
        else:
            read += 1
    return read
