"""Who changed a connector: the unified audit log, as ``AuditEvent`` values.

Two live sources (EXCHANGE.md "Who changed it"):

- ``Search-UnifiedAuditLog`` through InvokeCommand, in a ``ReturnLargeSet`` session: the same
  call repeated with one ``SessionId`` returns the next 5,000 rows until the session's
  ``ResultCount`` rows have come (at most 50,000). Each row's ``AuditData`` is a JSON string.
- The Graph audit log query (create, poll until ``succeeded``, page the records), global cloud only.

Either way the result is complete or an error: a count that does not add up, a session that hits
the 50,000 cap or a page that goes missing raises ``TruncatedReadError`` ("the log may be
incomplete"), never a shorter list that would read as "nobody changed it".

Parsing lives in auditrecords.py (re-exported here).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from driftguard.errors import ServiceError, TruncatedReadError
from driftguard.investigate.auditrecords import (
    OPERATIONS,
    AuditRecordError,
    audit_data,
    client_ip,
    connector_name,
    event_from_graph,
    event_from_record,
    event_from_row,
    is_connector_operation,
    parse_parameters,
    parse_time,
    wire_time,
)
from driftguard.model import AuditEvent

__all__ = [
    "MAX_RECORDS",
    "OPERATIONS",
    "PAGE_SIZE",
    "AuditRecordError",
    "AuditWindow",
    "audit_data",
    "client_ip",
    "connector_events",
    "connector_name",
    "event_from_graph",
    "event_from_record",
    "event_from_row",
    "graph_audit_events",
    "is_connector_operation",
    "parse_parameters",
    "parse_time",
    "search_unified_audit_log",
    "unified_audit_rows",
]

PAGE_SIZE = 5000
MAX_RECORDS = 50_000


class Invoker(Protocol):
    """What auditlog needs of the InvokeCommand client (``live.exchange.ExchangeClient``)."""

    def invoke(self, cmdlet: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]: ...


# --------------------------------------------------------------------------- live: Exchange


@dataclass(frozen=True)
class AuditWindow:
    start: datetime
    end: datetime

    def params(self) -> dict[str, str]:
        return {"StartDate": wire_time(self.start), "EndDate": wire_time(self.end)}


def search_unified_audit_log(
    client: Invoker,
    window: AuditWindow,
    *,
    session_id: str | None = None,
    max_records: int = MAX_RECORDS,
) -> list[AuditEvent]:
    """Every inbound-connector admin event in ``window``, or ``TruncatedReadError``.

    Rows whose AuditData cannot be read are an error too: the live service is not a file
    someone edited, and a record we cannot read may be the one that matters.
    """
    events: list[AuditEvent] = []
    rows = unified_audit_rows(client, window, session_id=session_id, max_records=max_records)
    for number, row in enumerate(rows, start=1):
        try:
            events.append(event_from_row(row))
        except AuditRecordError as exc:
            raise _unreadable(number, exc) from None
    return events


def _unreadable(number: int, exc: AuditRecordError) -> ServiceError:
    return ServiceError(
        f"audit log: record {number} of the search cannot be read ({exc}); "
        "the trail is not reported without it",
        hint="run the investigation again; if it persists, export the search and use --audit-log "
        "(unreadable rows of a file are skipped and counted)",
    )


def unified_audit_rows(
    client: Invoker,
    window: AuditWindow,
    *,
    session_id: str | None = None,
    max_records: int = MAX_RECORDS,
) -> Iterator[Mapping[str, Any]]:
    """The raw rows of one ReturnLargeSet session, checked for completeness as they come."""
    session = session_id or f"driftguard-{uuid.uuid4()}"
    params: dict[str, Any] = {
        **window.params(),
        "Operations": list(OPERATIONS),
        "RecordType": "ExchangeAdmin",
        "ResultSize": PAGE_SIZE,
        "SessionId": session,
        "SessionCommand": "ReturnLargeSet",
    }
    expected: int | None = None
    seen = 0
    # ReturnLargeSet results are documented as unsorted: indexes are checked as a set (each
    # once, none beyond the count), not as a sequence.
    indexes: set[int] = set()
    while True:
        page = client.invoke("Search-UnifiedAuditLog", params)
        if not page:
            break
        for row in page:
            count = _int(row.get("ResultCount"))
            index = _int(row.get("ResultIndex"))
            if count is not None:
                if expected is None:
                    expected = count
                    if count > max_records:
                        raise _incomplete(
                            f"the search matched {count} records, more than the "
                            f"{max_records} one session can return",
                            hint="narrow the window with --since/--until and run it again",
                        )
                elif count != expected:
                    raise _incomplete(
                        f"the record count changed during the search ({expected} then {count})"
                    )
            seen += 1
            if index is not None:
                if index in indexes:
                    raise _incomplete(f"record number {index} came back twice")
                if index < 1 or (expected is not None and index > expected):
                    raise _incomplete(f"record number {index} is outside the search's count")
                indexes.add(index)
            if seen > max_records:
                raise _incomplete(f"the search returned more than {max_records} records")
            yield row
        if expected is not None and seen >= expected:
            break
        if len(page) < PAGE_SIZE:
            break
    if expected is not None and seen != expected:
        raise _incomplete(f"the search returned {seen} of {expected} records")


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _incomplete(message: str, *, hint: str | None = None) -> TruncatedReadError:
    return TruncatedReadError(
        f"audit log: {message}; the log may be incomplete",
        hint=hint or "run the investigation again; a partial audit trail is never reported",
    )


# --------------------------------------------------------------------------- live: Graph


class GraphReader(Protocol):
    """What the Graph audit query needs (``investigate.graph.GraphClient``)."""

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]: ...

    def get(self, path: str) -> dict[str, Any]: ...

    def pages(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> Iterator[list[dict[str, Any]]]: ...


GRAPH_QUERIES = "/beta/security/auditLog/queries"  # beta has been more reliable than v1.0


def graph_audit_events(
    graph: GraphReader,
    window: AuditWindow,
    *,
    sleep: Callable[[float], None],
    first_poll: float = 0.5,
    poll_interval: float = 30.0,
    max_wait: float = 1800.0,
    max_records: int = MAX_RECORDS,
) -> list[AuditEvent]:
    """The same events from Graph's audit log query API (create, poll, page).

    Polls back off from ``first_poll`` to ``poll_interval`` seconds; a query still running after
    ``max_wait`` seconds is an error, as is one that failed.
    """
    body = {
        "displayName": "driftguard inbound connector changes",
        "filterStartDateTime": wire_time(window.start),
        "filterEndDateTime": wire_time(window.end),
        "recordTypeFilters": ["exchangeAdmin"],
        "operationFilters": list(OPERATIONS),
    }
    created = graph.post(GRAPH_QUERIES, body)
    query_id = created.get("id")
    if not isinstance(query_id, str) or not query_id:
        raise _incomplete("Graph did not return an audit query id")
    status = str(created.get("status", "")).lower()
    waited = 0.0
    delay = first_poll
    while status != "succeeded":
        if status in {"failed", "cancelled"}:
            raise _incomplete(f"the Graph audit query {status}")
        if waited >= max_wait:
            raise _incomplete("the Graph audit query did not finish in time")
        sleep(delay)
        waited += delay
        delay = min(delay * 2, poll_interval)
        status = str(graph.get(f"{GRAPH_QUERIES}/{query_id}").get("status", "")).lower()
    events: list[AuditEvent] = []
    for page in graph.pages(f"{GRAPH_QUERIES}/{query_id}/records"):
        for item in page:
            try:
                events.append(event_from_graph(item))
            except AuditRecordError as exc:
                raise _unreadable(len(events) + 1, exc) from None
            if len(events) > max_records:
                raise _incomplete(f"the Graph audit query returned more than {max_records} records")
    return events


def connector_events(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Only the inbound-connector operations, latest first."""
    return sorted(
        (e for e in events if is_connector_operation(e)), key=lambda e: e.time, reverse=True
    )
