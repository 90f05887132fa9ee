"""Search-UnifiedAuditLog over the tenant's audit records, with ReturnLargeSet sessions.

Rows wrap each AuditData record with ``AuditData`` as a JSON string (parsed twice by clients),
``ResultIndex`` (1-based, across the session) and ``ResultCount`` (the session's total). A session
(``SessionId`` + ``SessionCommand: ReturnLargeSet``) is fixed at its first call and hands out the
next ``ResultSize`` (<= 5000) rows per call, at most 50,000 in all; later calls return nothing.

``QUIRKS`` lets tests make the service misbehave the ways clients must survive, per tenant id:
``"count-drift"`` (ResultCount changes mid-session), ``"lose-page"`` (the second page never comes:
an empty answer while rows remain), ``"repeat-row"`` (the second page starts with the first page's
last row again), ``"unsorted"`` (the session hands rows out in no order, as the documentation
warns ReturnLargeSet does; their ResultIndex values are still 1..N).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from driftguard.sim.auditlog import search_row
from driftguard.sim.cmdlets import CmdletContext, SimCmdletError, cmdlet, parameter
from driftguard.sim.state import TenantState

MAX_PAGE = 5000
MAX_SESSION = 50_000
QUIRKS: dict[str, str] = {}

_sessions: dict[tuple[str, str], dict[str, Any]] = {}
_lock = threading.Lock()


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise SimCmdletError(f"Cannot bind parameter '{name}': a date is required.")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SimCmdletError(f"Cannot bind parameter '{name}'. Cannot convert value.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _record_time(record: Mapping[str, Any]) -> datetime:
    text = str(record["CreationTime"])[:19]
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _operations(value: Any) -> set[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return {str(i).strip().lower() for i in items if str(i).strip()}


def _matching(tenant: TenantState, parameters: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    start = _time(parameter(parameters, "StartDate"), "StartDate")
    end = _time(parameter(parameters, "EndDate"), "EndDate")
    if end < start:
        raise SimCmdletError("The StartDate should be before the EndDate.")
    operations = _operations(parameter(parameters, "Operations"))
    record_type = parameter(parameters, "RecordType")
    out: list[Mapping[str, Any]] = []
    for record in tenant.audit:
        if (
            record_type
            and str(record_type).lower() == "exchangeadmin"
            and record.get("RecordType") not in (1, "1", "ExchangeAdmin")
        ):
            continue
        if operations is not None and str(record.get("Operation", "")).lower() not in operations:
            continue
        when = _record_time(record)
        if start <= when <= end:
            out.append(record)
    # The service returns newest first.
    out.sort(key=lambda r: str(r["CreationTime"]), reverse=True)
    return out


def _size(parameters: Mapping[str, Any]) -> int:
    raw = parameter(parameters, "ResultSize")
    try:
        size = int(raw) if raw is not None else 100
    except (TypeError, ValueError):
        raise SimCmdletError("Cannot bind parameter 'ResultSize'.") from None
    if not 1 <= size <= MAX_PAGE:
        raise SimCmdletError(f"The ResultSize must be between 1 and {MAX_PAGE}.")
    return size


@cmdlet("Search-UnifiedAuditLog")
def search_unified_audit_log(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    size = _size(parameters)
    session_id = parameter(parameters, "SessionId")
    command = str(parameter(parameters, "SessionCommand") or "").lower()
    if not session_id or command != "returnlargeset":
        every = _matching(tenant, parameters)
        return _rows(every[:size], list(range(1, min(size, len(every)) + 1)), len(every))
    key = (tenant.tenant_id, str(session_id))
    with _lock:
        session = _sessions.get(key)
        if session is None:
            matched = _matching(tenant, parameters)
            numbers = list(range(1, len(matched) + 1))
            if QUIRKS.get(tenant.tenant_id) == "unsorted":
                pairs = list(zip(numbers, matched, strict=True))
                random.Random(len(pairs)).shuffle(pairs)  # noqa: S311 - simulation
                numbers = [i for i, _ in pairs]
                matched = [r for _, r in pairs]
            session = {"records": matched, "order": numbers, "next": 0, "calls": 0}
            _sessions[key] = session
        records: list[Mapping[str, Any]] = session["records"]
        order: list[int] = session["order"]
        total = len(records)
        start = session["next"]
        limit = min(total, MAX_SESSION)
        end = min(start + size, limit)
        session["next"] = end
        session["calls"] += 1
        calls = session["calls"]
        if start >= limit:  # exhausted: keep only a tombstone, which answers nothing more
            _sessions[key] = {"records": [], "order": [], "next": 0, "calls": calls}
    quirk = QUIRKS.get(tenant.tenant_id)
    if quirk == "lose-page" and calls == 2:
        return []
    if quirk == "repeat-row" and calls == 2 and start > 0:
        start -= 1
    rows = _rows(records[start:end], order[start:end], total)
    if quirk == "count-drift" and calls == 2:
        for row in rows:
            row["ResultCount"] = total + 7
    return rows


def _rows(records: list[Mapping[str, Any]], indexes: list[int], total: int) -> list[dict[str, Any]]:
    rows = []
    for index, record in zip(indexes, records, strict=True):
        row = search_row(record)
        row["ResultIndex"] = index
        row["ResultCount"] = total
        rows.append(row)
    return rows


def forget_sessions() -> None:
    with _lock:
        _sessions.clear()
