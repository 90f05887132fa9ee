"""Graph's other investigation endpoints: the audit log query and message trace (global only).

- ``POST /security/auditLog/queries`` makes a query over the tenant's audit records (record type,
  operations, time window), ``GET .../queries/{id}`` reports ``notStarted``, ``running`` and then
  ``succeeded`` on successive polls, ``GET .../queries/{id}/records`` pages ``auditLogRecord``
  items (the AuditData object under ``auditData``) with ``@odata.nextLink``.
- ``GET /admin/exchange/tracing/messageTraces`` filters on ``receivedDateTime`` (at most 10 days)
  and pages with ``$top``/``@odata.nextLink``; rows are camelCase.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from driftguard.sim.cmdlets.messagetrace import parse_received
from driftguard.sim.graph_alerts import graph_tenant
from driftguard.sim.http import HttpError, Request, Response, route
from driftguard.sim.state import SimState

_queries: dict[str, dict[str, Any]] = {}
# Tenants (by id) whose audit queries end in "failed" instead of "succeeded".
FAIL_QUERIES: set[str] = set()
_lock = threading.Lock()
_STATES = ("notStarted", "running", "succeeded")
_V = r"/(v1\.0|beta)"


def _bad(message: str, status: int = 400) -> HttpError:
    return HttpError(Response.json(status, {"error": {"code": "BadRequest", "message": message}}))


def _when(text: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"Invalid date: {str(text)[:40]}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _page(request: Request, items: list[dict[str, Any]], default_top: int) -> dict[str, Any]:
    query = request.query_params()
    try:
        top = int(query.get("$top", default_top))
        skip = int(query.get("$skiptoken", "0"))
    except ValueError:
        raise _bad("Invalid $top or $skiptoken") from None
    payload: dict[str, Any] = {"value": items[skip : skip + top]}
    if skip + top < len(items):
        extra = "".join(
            f"&{k}={quote(v)}" for k, v in query.items() if k not in ("$top", "$skiptoken")
        )
        payload["@odata.nextLink"] = (
            f"https://{request.host}{request.path}?$top={top}&$skiptoken={skip + top}{extra}"
        )
    return payload


@route("POST", _V + r"/security/auditLog/queries", name="graph-audit-create", faults=False)
def create_query(request: Request, sim: SimState) -> Response:
    tenant = graph_tenant(request, sim)
    body = request.json() or {}
    start = _when(body.get("filterStartDateTime"))
    end = _when(body.get("filterEndDateTime"))
    types = {str(t).lower() for t in body.get("recordTypeFilters") or ()}
    operations = {str(o).lower() for o in body.get("operationFilters") or ()}
    matched = []
    with tenant.lock:
        for record in tenant.audit:
            when = datetime.fromisoformat(str(record["CreationTime"])[:19]).replace(tzinfo=UTC)
            if not start <= when <= end:
                continue
            if types and "exchangeadmin" not in types:
                continue
            if operations and str(record.get("Operation", "")).lower() not in operations:
                continue
            matched.append(dict(record))
    query_id = str(uuid.uuid4())
    with _lock:
        _queries[query_id] = {"tenant": tenant.tenant_id, "records": matched, "state": 0}
    return Response.json(
        201,
        {
            "id": query_id,
            "displayName": body.get("displayName"),
            "filterStartDateTime": body.get("filterStartDateTime"),
            "filterEndDateTime": body.get("filterEndDateTime"),
            "status": _STATES[0],
        },
    )


def _query(request: Request, sim: SimState) -> dict[str, Any]:
    tenant = graph_tenant(request, sim)
    with _lock:
        query = _queries.get(request.params.get("qid", ""))
    if query is None or query["tenant"] != tenant.tenant_id:
        raise _bad("The audit log query was not found.", 404)
    return query


@route(
    "GET", _V + r"/security/auditLog/queries/(?P<qid>[^/]+)", name="graph-audit-get", faults=False
)
def get_query(request: Request, sim: SimState) -> Response:
    query = _query(request, sim)
    with _lock:
        query["state"] = min(query["state"] + 1, len(_STATES) - 1)
        status = _STATES[query["state"]]
        if status == "succeeded" and query["tenant"] in FAIL_QUERIES:
            status = "failed"
    return Response.json(200, {"id": request.params["qid"], "status": status})


@route(
    "GET",
    _V + r"/security/auditLog/queries/(?P<qid>[^/]+)/records",
    name="graph-audit-records",
    faults=False,
)
def get_records(request: Request, sim: SimState) -> Response:
    query = _query(request, sim)
    if _STATES[query["state"]] != "succeeded":
        raise _bad("The audit log query has not finished.")
    items = [
        {
            "id": r.get("Id"),
            "createdDateTime": str(r["CreationTime"]) + "Z",
            "auditLogRecordType": "exchangeAdmin",
            "operation": r.get("Operation"),
            "organizationId": r.get("OrganizationId"),
            "userPrincipalName": r.get("UserId"),
            "userId": r.get("UserKey"),
            "clientIp": r.get("ClientIP"),
            "objectId": r.get("ObjectId"),
            "administrativeUnits": [],
            "auditData": {
                "@odata.type": "#microsoft.graph.security.exchangeAdminAuditRecord",
                **r,
            },
        }
        for r in query["records"]
    ]
    return Response.json(200, _page(request, items, 150))


_CAMEL = {
    "MessageTraceId": "id",
    "MessageId": "messageId",
    "Received": "receivedDateTime",
    "SenderAddress": "senderAddress",
    "RecipientAddress": "recipientAddress",
    "FromIP": "fromIP",
    "ToIP": "toIP",
    "Subject": "subject",
    "Status": "status",
    "Size": "size",
}


@route("GET", _V + r"/admin/exchange/tracing/messageTraces", name="graph-trace", faults=False)
def message_traces(request: Request, sim: SimState) -> Response:
    tenant = graph_tenant(request, sim)
    text = request.query_params().get("$filter", "")
    bounds: dict[str, datetime] = {}
    for part in text.split(" and "):
        pieces = part.split()
        if len(pieces) != 3 or pieces[0] != "receivedDateTime" or pieces[1] not in ("ge", "le"):
            raise _bad(f"Invalid filter clause: {part[:80]}")
        bounds[pieces[1]] = _when(pieces[2])
    if set(bounds) != {"ge", "le"}:
        raise _bad("A receivedDateTime window (ge and le) is required.")
    if bounds["le"] - bounds["ge"] > timedelta(days=10):
        raise _bad("The receivedDateTime window can't exceed 10 days.")
    with tenant.lock:
        rows = [
            r
            for r in tenant.message_trace
            if bounds["ge"] <= parse_received(r["Received"]) <= bounds["le"]
        ]
    rows.sort(key=lambda r: (-parse_received(r["Received"]).timestamp(), r["RecipientAddress"]))
    items = []
    for r in rows:
        item = {_CAMEL.get(k, k): v for k, v in r.items()}
        status = str(item.get("status") or "")
        item["status"] = status[:1].lower() + status[1:]
        items.append(item)
    return Response.json(200, _page(request, items, 1000))
