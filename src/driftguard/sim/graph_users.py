"""Graph user objects: read one (``GET /users/{id | userPrincipalName}``), revoke its sign-in
sessions (``POST /users/{id}/revokeSignInSessions``) and block or allow its sign-in
(``PATCH /users/{id}`` with ``accountEnabled``).

Shapes follow the Graph v1.0 reference ("Get user", "user: revokeSignInSessions", "Update user"):
a read answers the default property set or the ``$select``ed one (``id`` always included); a
revocation answers ``{"value": true}`` and moves ``signInSessionsValidFromDateTime`` to now; an
update answers 204 with no body. A missing permission is Graph's 403
``Authorization_RequestDenied``; an unknown user 404 ``Request_ResourceNotFound``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from driftguard.sim.graph_auth import authorised as _authorised
from driftguard.sim.http import HttpError, Request, Response, route
from driftguard.sim.state import SimState, TenantState

_V = r"/(?P<version>v1\.0|beta)"
_USER = r"/users/(?P<user>[^/]+)"
_DEFAULT = ("id", "displayName", "userPrincipalName", "mail", "accountEnabled")
_SELECTABLE = frozenset(
    (*_DEFAULT, "createdDateTime", "signInSessionsValidFromDateTime", "userType")
)
_WRITABLE = frozenset(("accountEnabled",))

READ_ROLES = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
REVOKE_ROLES = ("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
ENABLE_ROLES = ("User.EnableDisableAccount.All", "User.ReadWrite.All")


def user_id(upn: str) -> str:
    """The object id the simulator gives a user: stable for its UPN, so every simulated source
    (sign-ins, audit records, role assignments) names the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "https://driftguard.sim/users/" + upn.lower()))


def graph_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_user(
    tenant: TenantState,
    upn: str,
    display_name: str,
    *,
    created: datetime,
    enabled: bool = True,
    sessions_valid_from: datetime | None = None,
) -> dict[str, Any]:
    """A member user as Graph writes it (idempotent by UPN)."""
    with tenant.lock:
        found = find_user(tenant, upn)
        if found is not None:
            return found
        record = {
            "id": user_id(upn),
            "displayName": display_name,
            "userPrincipalName": upn,
            "mail": upn,
            "accountEnabled": enabled,
            "createdDateTime": graph_time(created),
            "signInSessionsValidFromDateTime": graph_time(sessions_valid_from or created),
            "userType": "Member",
        }
        tenant.users.append(record)
        return record


def find_user(tenant: TenantState, key: str) -> dict[str, Any] | None:
    wanted = key.strip().lower()
    with tenant.lock:
        for record in tenant.users:
            if wanted in (record["id"].lower(), record["userPrincipalName"].lower()):
                return record
    return None


def _not_found(key: str) -> HttpError:
    return HttpError(
        Response.json(
            404,
            {
                "error": {
                    "code": "Request_ResourceNotFound",
                    "message": f"Resource '{key}' does not exist or one of its queried "
                    "reference-property objects are not present.",
                }
            },
        )
    )


def _bad_request(message: str) -> HttpError:
    return HttpError(
        Response.json(400, {"error": {"code": "Request_BadRequest", "message": message}})
    )


def _user(tenant: TenantState, request: Request) -> dict[str, Any]:
    key = unquote(request.params["user"])  # the path segment, percent-decoded as Graph does
    found = find_user(tenant, key)
    if found is None:
        raise _not_found(key)
    return found


@route("GET", _V + _USER, name="graph-user", faults=False)
def get_user(request: Request, sim: SimState) -> Response:
    tenant = _authorised(request, sim, READ_ROLES)
    record = _user(tenant, request)
    selected = request.query_params().get("$select")
    names = [n.strip() for n in selected.split(",")] if selected else list(_DEFAULT)
    unknown = [n for n in names if n not in _SELECTABLE]
    if unknown:
        raise _bad_request(
            f"Could not find a property named '{unknown[0][:80]}' on type 'microsoft.graph.user'."
        )
    body: dict[str, Any] = {
        "@odata.context": f"https://{request.host}/{request.params['version']}/$metadata#users/$entity"
    }
    with tenant.lock:
        body.update({n: record.get(n) for n in ("id", *names)})
    return Response.json(200, body)


@route("POST", _V + _USER + r"/revokeSignInSessions", name="graph-revoke", faults=False)
def revoke_sessions(request: Request, sim: SimState) -> Response:
    tenant = _authorised(request, sim, REVOKE_ROLES)
    record = _user(tenant, request)
    with tenant.lock:
        record["signInSessionsValidFromDateTime"] = graph_time(sim.clock())
    sim.touch()  # persistent state changed (the demo saves it)
    return Response.json(
        200,
        {
            "@odata.context": f"https://{request.host}/{request.params['version']}/$metadata#Edm.Boolean",
            "value": True,
        },
    )


@route("PATCH", _V + _USER, name="graph-user-update", faults=False)
def update_user(request: Request, sim: SimState) -> Response:
    tenant = _authorised(request, sim, ENABLE_ROLES)
    record = _user(tenant, request)
    try:
        changes = json.loads(request.body or b"{}")
    except ValueError:
        raise _bad_request("Invalid JSON in the request body.") from None
    if not isinstance(changes, dict) or not changes:
        raise _bad_request("Empty Payload. JSON content expected.")
    for name, value in changes.items():
        if name not in _WRITABLE:
            raise _bad_request(f"Property '{str(name)[:80]}' is not supported here.")
        if not isinstance(value, bool):
            raise _bad_request(f"Invalid value for property '{name}'.")
    with tenant.lock:
        record.update(changes)
    sim.touch()
    return Response(204, b"", [])
