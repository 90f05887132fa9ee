"""Graph application permissions, checked as the service checks them: the token's ``roles``.

Shared by the Graph routes that need a permission (users, identity evidence). A token without one
of the route's permissions gets Graph's 403 ``Authorization_RequestDenied``.
"""

from __future__ import annotations

import jwt

from driftguard.sim.exchange import bearer
from driftguard.sim.graph_alerts import graph_tenant
from driftguard.sim.http import HttpError, Request, Response
from driftguard.sim.state import SimState, TenantState


def denied() -> HttpError:
    return HttpError(
        Response.json(
            403,
            {
                "error": {
                    "code": "Authorization_RequestDenied",
                    "message": "Insufficient privileges to complete the operation.",
                }
            },
        )
    )


def authorised(request: Request, sim: SimState, roles: tuple[str, ...]) -> TenantState:
    """The token's tenant when the token carries one of ``roles`` (application permissions)."""
    tenant = graph_tenant(request, sim)  # a valid Graph token of this tenant, or 401
    claims = jwt.decode(bearer(request), options={"verify_signature": False})
    if not set(claims.get("roles", ())) & set(roles):
        raise denied()
    return tenant
