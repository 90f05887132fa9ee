"""What went through a connector: message-trace rows, read in slices and continued by keyset.

Reading (EXCHANGE.md "Mail-flow evidence"): ``Get-MessageTraceV2`` answers at most 10 days and
5,000 rows per query and has no paging. The window is cut into <= 10-day slices, newest first; a
full page is continued with ``EndDate`` = its last row's ``Received`` and
``StartingRecipientAddress`` = that row's ``RecipientAddress``. The service repeats rows at those
edges (and at slice edges); the aggregator (mailflow.py, re-exported here) drops the repeats in
bounded memory. Graph's message trace (global cloud) is the alternative, paged by nextLink.
Rows are generators all the way: nothing here holds more than one page.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from driftguard.errors import TruncatedReadError
from driftguard.investigate.auditrecords import wire_time
from driftguard.investigate.mailflow import (
    HISTORY_DAYS,
    MAX_DOMAINS,
    MIN_EXCESS,
    MIN_HISTORY_DAYS,
    Z_THRESHOLD,
    Aggregator,
    ConnectorMatcher,
    DayStats,
    MailFlow,
    Spike,
    TraceRowError,
    aggregate,
    received_at,
    received_utc,
    spikes,
)

__all__ = [
    "HISTORY_DAYS",
    "MAX_DOMAINS",
    "MIN_EXCESS",
    "MIN_HISTORY_DAYS",
    "PAGE_SIZE",
    "SLICE",
    "Z_THRESHOLD",
    "Aggregator",
    "ConnectorMatcher",
    "DayStats",
    "MailFlow",
    "Spike",
    "TraceRowError",
    "aggregate",
    "graph_trace_rows",
    "received_at",
    "received_utc",
    "slices",
    "spikes",
    "trace_rows",
]

SLICE = timedelta(days=10)
PAGE_SIZE = 5000


class Invoker(Protocol):
    def invoke(self, cmdlet: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]: ...


# --------------------------------------------------------------------------- reading


def slices(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The window cut into <= 10-day slices, newest first (consecutive slices share an edge)."""
    out: list[tuple[datetime, datetime]] = []
    upper = end
    while upper > start:
        lower = max(start, upper - SLICE)
        out.append((lower, upper))
        upper = lower
    return out


def trace_rows(
    client: Invoker, start: datetime, end: datetime, *, page_size: int = PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Every row of ``Get-MessageTraceV2`` in the window, newest slice first, duplicates kept
    (``dedupe`` removes them). A continuation that makes no progress is an error."""
    for lower, upper in slices(start, end):
        params: dict[str, Any] = {
            "StartDate": wire_time(lower),
            "EndDate": wire_time(upper),
            "ResultSize": page_size,
        }
        previous: tuple[str, str] | None = None
        while True:
            page = client.invoke("Get-MessageTraceV2", params)
            yield from page
            if len(page) < page_size:
                break
            last = page[-1]
            received = last.get("Received")
            recipient = last.get("RecipientAddress")
            if not isinstance(received, str) or not isinstance(recipient, str):
                raise TruncatedReadError(
                    "message trace: a full page ended in a row without Received or "
                    "RecipientAddress; cannot continue, the trace may be incomplete"
                )
            position = (received, recipient)
            if position == previous:
                raise TruncatedReadError(
                    "message trace: the continuation returned the same page again "
                    "(more rows share one time and recipient than one page holds); "
                    "the trace may be incomplete",
                    hint="narrow the window with --since/--until",
                )
            previous = position
            try:
                received_at(received)
            except TraceRowError:
                raise TruncatedReadError(
                    f"message trace: cannot continue after a row received {received!r}; "
                    "the trace may be incomplete"
                ) from None
            params = {
                **params,
                # The row's own text: rounding it to seconds would skip the rows in between.
                "EndDate": received,
                "StartingRecipientAddress": recipient,
            }


class GraphPager(Protocol):
    def pages(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> Iterator[list[dict[str, Any]]]: ...


_GRAPH_FIELDS = {
    "id": "MessageTraceId",
    "messageId": "MessageId",
    "receivedDateTime": "Received",
    "senderAddress": "SenderAddress",
    "recipientAddress": "RecipientAddress",
    "fromIP": "FromIP",
    "fromIp": "FromIP",
    "toIP": "ToIP",
    "toIp": "ToIP",
    "subject": "Subject",
    "status": "Status",
    "size": "Size",
}


def graph_trace_rows(graph: GraphPager, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """The same rows from Graph's message trace (global cloud), in Exchange's field names."""
    for lower, upper in slices(start, end):
        params = {
            "$top": str(PAGE_SIZE),
            "$filter": (
                f"receivedDateTime ge {wire_time(lower)} and receivedDateTime le {wire_time(upper)}"
            ),
        }
        for page in graph.pages("/beta/admin/exchange/tracing/messageTraces", params):
            for item in page:
                row = {_GRAPH_FIELDS.get(k, k): v for k, v in item.items()}
                status = row.get("Status")
                if isinstance(status, str) and status:
                    row["Status"] = status[0].upper() + status[1:]
                yield row
