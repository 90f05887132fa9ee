"""Get-MessageTraceV2 with the service's query limits and keyset continuation.

At most 10 days per query and 5,000 rows per answer, newest first (ties by recipient). There is
no paging: a client continues with ``EndDate`` = the last row's ``Received`` and
``StartingRecipientAddress`` = its ``RecipientAddress``. As on the real service, the bounds are
inclusive, so the row a continuation starts from comes back again, and a row received exactly on
the edge between two 10-day queries is in both: clients dedupe on ``MessageTraceId``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from driftguard.sim.cmdlets import CmdletContext, SimCmdletError, cmdlet, parameter
from driftguard.sim.state import TenantState

MAX_SPAN = timedelta(days=10)
MAX_PAGE = 5000

_Index = list[tuple[datetime, str, dict[str, Any]]]
_cache: dict[str, tuple[int, int, _Index]] = {}
_lock = threading.Lock()


def parse_received(value: Any) -> datetime:
    text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _bound(parameters: Mapping[str, Any], name: str) -> datetime:
    value = parameter(parameters, name)
    if not value:
        raise SimCmdletError(f"Cannot process command: {name} is required.")
    try:
        return parse_received(value)
    except ValueError:
        raise SimCmdletError(f"Cannot bind parameter '{name}'. Cannot convert value.") from None


def _index(tenant: TenantState) -> _Index:
    """Rows sorted newest first, then by recipient; rebuilt when the list changes."""
    rows = tenant.message_trace
    stamp = (len(rows), id(rows))
    with _lock:
        cached = _cache.get(tenant.tenant_id)
        if cached is not None and (cached[0], cached[1]) == stamp:
            return cached[2]
    index = [
        (parse_received(r["Received"]), str(r.get("RecipientAddress", "")).lower(), r) for r in rows
    ]
    index.sort(key=lambda item: (-item[0].timestamp(), item[1]))
    with _lock:
        _cache[tenant.tenant_id] = (stamp[0], stamp[1], index)
    return index


@cmdlet("Get-MessageTraceV2")
def get_message_trace(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    start = _bound(parameters, "StartDate")
    end = _bound(parameters, "EndDate")
    if end < start:
        raise SimCmdletError("The EndDate must be later than the StartDate.")
    if end - start > MAX_SPAN:
        raise SimCmdletError("The time range between StartDate and EndDate can't exceed 10 days.")
    raw_size = parameter(parameters, "ResultSize")
    try:
        size = int(raw_size) if raw_size is not None else 1000
    except (TypeError, ValueError):
        raise SimCmdletError("Cannot bind parameter 'ResultSize'.") from None
    if not 1 <= size <= MAX_PAGE:
        raise SimCmdletError(f"The ResultSize must be between 1 and {MAX_PAGE}.")
    after = parameter(parameters, "StartingRecipientAddress")
    after_key = str(after).lower() if after else None
    out: list[dict[str, Any]] = []
    for received, recipient, row in _index(tenant):
        if received > end:
            continue
        if received < start:
            break
        if after_key is not None and received == end and recipient < after_key:
            continue
        out.append(dict(row))
        if len(out) >= size:
            break
    return out
