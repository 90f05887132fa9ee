"""Who changed a connector: the unified audit log, as ``AuditEvent`` values.

Two live sources (EXCHANGE.md "Who changed it"):

- ``Search-UnifiedAuditLog`` through InvokeCommand, in a ``ReturnLargeSet`` session: the same
  call repeated with one ``SessionId`` returns the next 5,000 rows until the session's
  ``ResultCount`` rows have come (at most 50,000). Each row's ``AuditData`` is a JSON string.
- The Graph audit log query (create, poll until ``succeeded``, page the records), global cloud only.

Either way the result is complete or an error: a count that does not add up, a session that hits
the 50,000 cap or a page that goes missing raises ``TruncatedReadError`` ("the log may be
incomplete"), never a shorter list that would read as "nobody changed it".

Parsing is pure and shared with the offline readers (files.py).
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from driftguard.errors import TruncatedReadError
from driftguard.model import AuditEvent

OPERATIONS: tuple[str, ...] = (
    "New-InboundConnector",
    "Set-InboundConnector",
    "Remove-InboundConnector",
)
PAGE_SIZE = 5000
MAX_RECORDS = 50_000


class AuditRecordError(ValueError):
    """One audit record cannot be read; the message names the field."""


class Invoker(Protocol):
    """What auditlog needs of the InvokeCommand client (``live.exchange.ExchangeClient``)."""

    def invoke(self, cmdlet: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]: ...


# --------------------------------------------------------------------------- parsing (pure)


_LEGACY_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")


def parse_time(value: Any) -> datetime:
    """``CreationTime`` (no zone = UTC), ISO with ``Z`` or offset, 7 fractional digits, or the
    ``/Date(ms)/`` form of older PowerShell JSON; always an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str) or not value.strip():
        raise AuditRecordError(f"time: expected a timestamp, got {value!r}")
    text = value.strip()
    legacy = _LEGACY_DATE.fullmatch(text)
    if legacy:
        try:
            return datetime.fromtimestamp(int(legacy.group(1)) / 1000, tz=UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise AuditRecordError(f"time: not a timestamp: {value!r}") from exc
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.11 parses at most 6 fractional digits; Exchange writes 7.
    head, dot, rest = text.partition(".")
    if dot:
        frac = rest
        zone = ""
        for sep in ("+", "-"):
            if sep in rest:
                frac, _, tail = rest.partition(sep)
                zone = sep + tail
                break
        text = f"{head}.{frac[:6]}{zone}" if frac else f"{head}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise AuditRecordError(f"time: not an ISO-8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def client_ip(value: Any) -> str | None:
    """``ClientIP`` without its port: ``1.2.3.4:5678``, ``[2001:db8::1]:443``, bare IPv6.

    Anything that is not an address after that (empty, garbage) is ``None``: unknown, not guessed.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has two or more colons
        text = text.partition(":")[0]
    text = text.partition("%")[0]  # zone ids of link-local IPv6
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped) if mapped is not None else str(address)


def connector_name(object_id: Any) -> str:
    """``ObjectId`` reduced to the connector name.

    Seen: the plain name; a container path ``.../Inbound Connectors/Hybrid relay``; a hosted
    organisation path ``EURPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/
    contoso.onmicrosoft.com/Hybrid relay``; a backslash path ``contoso.onmicrosoft.com\\Hybrid
    relay``. A plain name may itself contain ``/``, so only recognised paths are cut.
    """
    if object_id is None:
        return ""
    text = str(object_id).strip()
    unified = text.replace("\\", "/")
    lowered = unified.lower()
    marker = "inbound connectors/"
    index = lowered.rfind(marker)
    if index == 0 or (index > 0 and lowered[index - 1] == "/"):
        return unified[index + len(marker) :].strip().strip("/")
    marker = "microsoft exchange hosted organizations/"
    index = lowered.find(marker)
    if index >= 0:
        rest = unified[index + len(marker) :]
        return rest.partition("/")[2].strip().strip("/") or rest.strip("/")
    if "\\" in text:
        return text.rsplit("\\", 1)[1].strip()
    return text


def parse_parameters(value: Any) -> dict[str, str]:
    """``[{"Name": "SenderIPAddresses", "Value": "..."}]`` -> ``{"SenderIPAddresses": "..."}``.

    A mapping is accepted as it is; values are kept as the text the log holds (multi-values are
    joined in one string there, in a format Microsoft does not document).
    """
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise AuditRecordError("Parameters: not JSON") from exc
    if isinstance(value, Mapping):
        return {str(k): _text(v) for k, v in value.items()}
    if not isinstance(value, list):
        raise AuditRecordError(f"Parameters: expected a list, got {type(value).__name__}")
    out: dict[str, str] = {}
    for item in value:
        if not isinstance(item, Mapping):
            raise AuditRecordError("Parameters: an item is not an object")
        name = item.get("Name", item.get("name"))
        if not isinstance(name, str) or not name:
            raise AuditRecordError("Parameters: an item has no Name")
        out[name] = _text(item.get("Value", item.get("value")))
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ";".join(_text(v) for v in value)
    return json.dumps(value, sort_keys=True) if isinstance(value, Mapping) else str(value)


def _bool(value: Any, *, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in {"true", "succeeded", "success"}:
            return True
        if low in {"false", "failed", "failure"}:
            return False
    if value is None or value == "":
        return default
    raise AuditRecordError(f"expected true or false, got {value!r}")


def _get(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in record:
            return record[name]
    return None


def audit_data(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The AuditData record of one Search-UnifiedAuditLog row (or the record itself).

    The row arrives as JSON, and its ``AuditData`` is a JSON string inside it: parse it again.
    A record given directly (JSON lines, Graph ``auditData``) passes through.
    """
    data = _get(row, "AuditData", "auditData")
    if data is None:
        if "Operation" in row or "operation" in row or "CreationTime" in row:
            return row
        raise AuditRecordError("AuditData: missing")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise AuditRecordError("AuditData: not JSON") from exc
    if not isinstance(data, Mapping):
        raise AuditRecordError("AuditData: not a JSON object")
    return data


def event_from_record(record: Mapping[str, Any]) -> AuditEvent:
    """One AuditData record (ExchangeAdmin schema, or Graph's camelCase) as an ``AuditEvent``."""
    operation = _get(record, "Operation", "operation")
    if not isinstance(operation, str) or not operation:
        raise AuditRecordError("Operation: missing")
    time = parse_time(_get(record, "CreationTime", "createdDateTime", "CreationDate"))
    app_id = _get(record, "AppId", "appId", "ClientAppId")
    actor = _get(record, "UserId", "userPrincipalName", "userId")
    if not actor:
        actor = f"app:{app_id}" if app_id else ""
    if not isinstance(actor, str) or not actor:
        raise AuditRecordError("UserId: missing")
    object_id = _get(record, "ObjectId", "objectId")
    parameters = parse_parameters(_get(record, "Parameters", "parameters"))
    name = connector_name(object_id)
    if not name:
        name = connector_name(parameters.get("Identity") or parameters.get("Name") or "")
    record_id = _get(record, "Id", "id")
    return AuditEvent(
        time=time,
        actor=actor,
        client_ip=client_ip(_get(record, "ClientIP", "clientIp", "ClientIPAddress")),
        operation=operation,
        connector=name,
        parameters=parameters,
        app_id=str(app_id) if app_id else None,
        succeeded=_bool(_get(record, "ResultStatus", "resultStatus"), default=True),
        external_access=_bool(_get(record, "ExternalAccess", "externalAccess"), default=False),
        record_id=str(record_id) if record_id else None,
    )


def event_from_row(row: Mapping[str, Any]) -> AuditEvent:
    """A Search-UnifiedAuditLog row (AuditData parsed a second time) as an ``AuditEvent``."""
    return event_from_record(audit_data(row))


def is_connector_operation(event: AuditEvent) -> bool:
    return event.operation.lower() in _OPERATIONS_LOWER


_OPERATIONS_LOWER = frozenset(op.lower() for op in OPERATIONS)


# --------------------------------------------------------------------------- live: Exchange


@dataclass(frozen=True)
class AuditWindow:
    start: datetime
    end: datetime

    def params(self) -> dict[str, str]:
        return {"StartDate": _wire_time(self.start), "EndDate": _wire_time(self.end)}


def _wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    return [
        event_from_row(row)
        for row in unified_audit_rows(
            client, window, session_id=session_id, max_records=max_records
        )
    ]


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
        "filterStartDateTime": _wire_time(window.start),
        "filterEndDateTime": _wire_time(window.end),
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
            events.append(event_from_graph(item))
            if len(events) > max_records:
                raise _incomplete(f"the Graph audit query returned more than {max_records} records")
    return events


def event_from_graph(item: Mapping[str, Any]) -> AuditEvent:
    """A Graph ``auditLogRecord``: its ``auditData`` holds the ExchangeAdmin record; the
    top-level camelCase fields fill what it lacks."""
    data = item.get("auditData")
    merged: dict[str, Any] = {}
    merged.update(
        {
            "Operation": item.get("operation"),
            "CreationTime": item.get("createdDateTime"),
            "UserId": item.get("userPrincipalName") or item.get("userId"),
            "ClientIP": item.get("clientIp"),
            "ObjectId": item.get("objectId"),
            "Id": item.get("id"),
        }
    )
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise AuditRecordError("auditData: not JSON") from exc
    if isinstance(data, Mapping):
        merged.update({k: v for k, v in data.items() if v is not None and not k.startswith("@")})
    return event_from_record(merged)


def connector_events(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Only the inbound-connector operations, latest first."""
    return sorted(
        (e for e in events if is_connector_operation(e)), key=lambda e: e.time, reverse=True
    )
