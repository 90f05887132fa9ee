"""Audit records (ExchangeAdmin AuditData, or Graph's auditLogRecord) as ``AuditEvent`` values.

Pure, and shared by the live sources (auditlog.py) and the offline readers (files.py). Every form
EXCHANGE.md lists is read: ``CreationTime`` without a zone (UTC), ``ClientIP`` with a port or in
IPv6 brackets, ``ObjectId`` as a plain name or an object path, ``Parameters`` as a list of
``{"Name", "Value"}``, ``AuditData`` as a JSON string inside a JSON row (parsed twice).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard

from driftguard import jsonsafe
from driftguard.errors import JsonError
from driftguard.model import AuditEvent

OPERATIONS: tuple[str, ...] = (
    "New-InboundConnector",
    "Set-InboundConnector",
    "Remove-InboundConnector",
)


# Connector operations shown in the timeline besides OPERATIONS (which attribution reads).
TIMELINE_OPERATIONS: tuple[str, ...] = (
    "Remove-BlockedConnector",
    "New-OutboundConnector",
    "Set-OutboundConnector",
    "Remove-OutboundConnector",
)


class AuditRecordError(ValueError):
    """One audit record cannot be read; the message names the field."""


_LEGACY_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")
_PLAIN_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")


def parse_time(value: Any) -> datetime:
    """``CreationTime`` (no zone = UTC), ISO with ``Z`` or offset, 7 fractional digits, the
    ``/Date(ms)/`` form of older PowerShell JSON, or the en-US ``M/D/YYYY h:mm:ss AM`` of CSV
    exports; always an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if type(value) is str and _PLAIN_ISO.fullmatch(value):
        # AuditData's own form, ``2026-09-21T00:00:00`` (no zone, no fraction): what the general
        # path below does with it, without its checks for the other forms (and without
        # ``replace(tzinfo=...)``, several times slower than parsing the zone).
        try:
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            pass  # out of range: the general path says so
    if not isinstance(value, str) or not value.strip():
        raise AuditRecordError(f"time: expected a timestamp, got {value!r}")
    text = value.strip()
    legacy = _LEGACY_DATE.fullmatch(text)
    if legacy:
        try:
            return datetime.fromtimestamp(int(legacy.group(1)) / 1000, tz=UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise AuditRecordError(f"time: not a timestamp: {value!r}") from exc
    if text[-2:].upper() in {"AM", "PM"} and "/" in text:
        # US-locale text (Export-Csv, Purview's CreationDate), UTC. Day-first forms are
        # ambiguous and never end in AM/PM: they fail below.
        try:
            return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=UTC)
        except ValueError as exc:
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


def wire_time(moment: datetime) -> str:
    """A moment as the services take it in filters and parameters: UTC, seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    return _address(text.partition("%")[0])  # without the zone id of link-local IPv6


@functools.lru_cache(maxsize=8192)
def _address(text: str) -> str | None:
    """The canonical address (an admin's few addresses recur across thousands of records)."""
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
            value = jsonsafe.loads(value, source="Parameters")
        except JsonError as exc:
            raise AuditRecordError("Parameters: not JSON") from exc
    if _is_mapping(value):
        return {str(k): _text(v) for k, v in value.items()}
    if not isinstance(value, list):
        raise AuditRecordError(f"Parameters: expected a list, got {type(value).__name__}")
    out: dict[str, str] = {}
    for item in value:
        if not _is_mapping(item):
            raise AuditRecordError("Parameters: an item is not an object")
        name = item["Name"] if "Name" in item else item.get("name")
        if not isinstance(name, str) or not name:
            raise AuditRecordError("Parameters: an item has no Name")
        text = item["Value"] if "Value" in item else item.get("value")
        out[name] = text if type(text) is str else _text(text)
    return out


def _is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, the parsed JSON object's ``dict`` first: the ABC's own
    check costs a microsecond, three times per record."""
    return type(value) is dict or isinstance(value, Mapping)


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
        if low in {"true", "succeeded", "success", "partiallysucceeded"}:  # it did change
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
            data = jsonsafe.loads(data, source="AuditData")
        except JsonError as exc:
            raise AuditRecordError("AuditData: not JSON") from exc
    if not _is_mapping(data):
        raise AuditRecordError("AuditData: not a JSON object")
    return data


def event_from_record(record: Mapping[str, Any]) -> AuditEvent:
    """One AuditData record (ExchangeAdmin schema, or Graph's camelCase) as an ``AuditEvent``.

    A connector operation must be read whole. Any other record (a full export's sign-ins,
    SharePoint and compliance events) is only counted, never shown or matched: a field its
    workload writes its own way (``Parameters`` as command-line text, a ``ResultStatus`` of its
    own, no ``UserId``) does not make it unreadable; its operation and time must still be there.
    """
    operation = _get(record, "Operation", "operation")
    if not isinstance(operation, str) or not operation:
        raise AuditRecordError("Operation: missing")
    time = parse_time(_get(record, "CreationTime", "createdDateTime", "CreationDate"))
    if operation.lower() in _TIMELINE_LOWER:
        return _event(record, operation, time)
    try:
        return _event(record, operation, time)
    except AuditRecordError:
        actor = _get(record, "UserId", "userPrincipalName", "userId")
        return AuditEvent(time, actor if isinstance(actor, str) else "", None, operation, "")


def _event(record: Mapping[str, Any], operation: str, time: datetime) -> AuditEvent:
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
    """A Search-UnifiedAuditLog row (AuditData parsed a second time) as an ``AuditEvent``; the
    row's ``CreationDate`` stands in for a record without ``CreationTime``."""
    record = audit_data(row)
    if record is not row and "CreationTime" not in record and row.get("CreationDate"):
        record = {**record, "CreationTime": row["CreationDate"]}
    return event_from_record(record)


def is_connector_operation(event: AuditEvent) -> bool:
    return event.operation.lower() in _OPERATIONS_LOWER


def is_timeline_operation(event: AuditEvent) -> bool:
    """An operation on a connector, worth a line in the timeline (a full audit export also holds
    sign-ins, SharePoint and mailbox events: those are counted, not shown)."""
    return event.operation.lower() in _TIMELINE_LOWER


_OPERATIONS_LOWER = frozenset(op.lower() for op in OPERATIONS)
_TIMELINE_LOWER = _OPERATIONS_LOWER | frozenset(op.lower() for op in TIMELINE_OPERATIONS)


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
            data = jsonsafe.loads(data, source="AuditData")
        except JsonError as exc:
            raise AuditRecordError("auditData: not JSON") from exc
    if isinstance(data, Mapping):
        merged.update({k: v for k, v in data.items() if v is not None and not k.startswith("@")})
    return event_from_record(merged)
