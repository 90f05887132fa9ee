"""Graph ``GET /security/alerts_v2`` over each tenant's alerts (the tenant comes from the token).

``$filter`` supports what the real API does for this purpose (``serviceSource``, ``severity``,
``status`` with ``eq``; ``createdDateTime`` with ``ge``/``gt``/``le``/``lt``, joined by ``and``);
anything else, such as ``title``, is refused with 400 as the service does. Pages of ``$top``
(default 50) are linked by ``@odata.nextLink`` with a ``$skiptoken``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jwt

from driftguard.sim.exchange import bearer, unauthorized
from driftguard.sim.faults import FOREIGN_PREFIX
from driftguard.sim.http import HttpError, Request, Response, route
from driftguard.sim.state import GRAPH_RESOURCE, SimState, TenantState
from driftguard.sim.tokens import TokenRejected, verify_access_token

TITLE = "Suspicious connector activity"
# Tenants (by id) whose app has no SecurityAlert.Read.All: alerts_v2 answers 403 for them.
REFUSE: set[str] = set()
# Tenants (by id) whose alerts pages link to a foreign host (the token must not follow).
FOREIGN_NEXTLINK: set[str] = set()
_CLAUSE = re.compile(
    r"\s*(serviceSource|severity|status|createdDateTime)\s+(eq|ge|gt|le|lt)\s+('([^']*)'|\S+)\s*",
    re.IGNORECASE,
)


def raise_alert(
    tenant: TenantState, connector: str, when: datetime, ips: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The alert Defender for Office 365 raises when the service restricts a connector."""
    alert_id = f"fa{uuid.uuid5(uuid.NAMESPACE_URL, f'{tenant.tenant_id}/{connector}/{when}')}"
    alert = {
        "id": alert_id,
        "title": TITLE,
        "severity": "high",
        "status": "new",
        "category": "ThreatManagement",
        "serviceSource": "microsoftDefenderForOffice365",
        "detectionSource": "microsoftDefenderForOffice365",
        "createdDateTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "description": f"The inbound connector {connector} was restricted after suspicious "
        "activity.",
        "alertWebUrl": f"https://security.microsoft.com/alerts/{alert_id}",
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": ip} for ip in ips
        ]
        + [
            {
                "@odata.type": "#microsoft.graph.security.cloudApplicationEvidence",
                "displayName": connector,
            }
        ],
    }
    with tenant.lock:
        tenant.alerts.append(alert)
    return alert


def _bad_request(message: str) -> HttpError:
    return HttpError(Response.json(400, {"error": {"code": "BadRequest", "message": message}}))


def graph_tenant(request: Request, sim: SimState) -> TenantState:
    token = bearer(request)
    try:
        tid = str(jwt.decode(token, options={"verify_signature": False}).get("tid", ""))
    except jwt.PyJWTError:
        raise unauthorized("The token is not valid") from None
    tenant = sim.tenant(tid) if tid else None
    if tenant is None:
        raise unauthorized("The token is not valid")
    try:
        verify_access_token(
            sim, token, resource=GRAPH_RESOURCE[tenant.cloud], tenant_id=tenant.tenant_id
        )
    except TokenRejected as exc:
        raise unauthorized(str(exc)) from None
    return tenant


def _time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.strip("'").replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _keep(alert: dict[str, Any], clauses: list[tuple[str, str, str]]) -> bool:
    for field, op, value in clauses:
        if field == "createddatetime":
            when = _time(str(alert.get("createdDateTime")))
            bound = _time(value)
            ok = {
                "ge": when >= bound,
                "gt": when > bound,
                "le": when <= bound,
                "lt": when < bound,
                "eq": when == bound,
            }[op]
        else:
            key = {"servicesource": "serviceSource"}.get(field, field)
            ok = str(alert.get(key, "")).lower() == value.lower()
        if not ok:
            return False
    return True


def _clauses(text: str) -> list[tuple[str, str, str]]:
    out = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.fullmatch(part)
        if match is None:
            raise _bad_request(f"Invalid filter clause: {part[:80]}")
        field, op = match.group(1).lower(), match.group(2).lower()
        value = match.group(4) if match.group(4) is not None else match.group(3)
        if field != "createddatetime" and op != "eq":
            raise _bad_request(f"Invalid filter clause: {part[:80]}")
        try:
            if field == "createddatetime":
                _time(value)
        except ValueError:
            raise _bad_request(f"Invalid filter clause: {part[:80]}") from None
        out.append((field, op, value))
    return out


@route("GET", r"/(v1\.0|beta)/security/alerts_v2", name="graph-alerts", faults=False)
def alerts_v2(request: Request, sim: SimState) -> Response:
    tenant = graph_tenant(request, sim)
    if tenant.tenant_id in REFUSE:
        raise HttpError(
            Response.json(
                403,
                {
                    "error": {
                        "code": "Forbidden",
                        "message": "Missing application permission SecurityAlert.Read.All.",
                    }
                },
            )
        )
    query = request.query_params()
    clauses = _clauses(query["$filter"]) if query.get("$filter") else []
    try:
        top = int(query.get("$top", "50"))
        skip = int(query.get("$skiptoken", "0"))
    except ValueError:
        raise _bad_request("Invalid $top or $skiptoken") from None
    with tenant.lock:
        matched = [dict(a) for a in tenant.alerts if _keep(a, clauses)]
    page = matched[skip : skip + top]
    payload: dict[str, Any] = {
        "@odata.context": f"https://{request.host}/v1.0/$metadata#security/alerts_v2",
        "value": page,
    }
    if skip + top < len(matched):
        params = f"$top={top}&$skiptoken={skip + top}"
        if query.get("$filter"):
            params += "&$filter=" + quote(query["$filter"])
        host = request.host
        if tenant.tenant_id in FOREIGN_NEXTLINK:
            name, _, port = host.partition(":")
            foreign = "127.0.0.1" if name != "127.0.0.1" else "localhost"
            host = f"{foreign}:{port}" if port else foreign
            params += "&foreign=1"
            payload["@odata.nextLink"] = f"https://{host}{FOREIGN_PREFIX}{request.path}?{params}"
        else:
            payload["@odata.nextLink"] = f"https://{host}{request.path}?{params}"
    return Response.json(200, payload)


# The other Graph investigation routes register on import (after graph_tenant is defined).
from driftguard.sim import graph_evidence, graph_users  # noqa: E402

_GRAPH_ROUTE_MODULES = (graph_evidence, graph_users)
