"""Device code sign-in: a person approves a code shown at a terminal; the client polls.

Tests play the person: :func:`approve` (or ``POST /_sim/devicecode/approve`` with
``{"user_code", "user", "role", "deny"}``) decides a pending code.
"""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from driftguard.sim.entra import _app_grant, _resource, _tenant, entra_error
from driftguard.sim.http import HttpError, Request, Response, route
from driftguard.sim.state import SimState, TenantState
from driftguard.sim.tokens import mint_access_token

VERIFICATION_URI = "https://microsoft.com/devicelogin"
_LIFETIME = 900


@route("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/devicecode", name="devicecode", faults=False)
def devicecode(request: Request, sim: SimState) -> Response:
    tenant = _tenant(request, sim)
    form = request.form()
    client_id = form.get("client_id", "")
    app, _grant = _app_grant(sim, tenant, client_id)
    resource = _resource(form.get("scope", ""), tenant)
    if not app.public_client:
        raise entra_error(
            400,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
    user_code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
    device_code = secrets.token_urlsafe(32)
    with sim.lock:
        sim.device_codes[device_code] = {
            "user_code": user_code,
            "tenant": tenant.name,
            "client_id": client_id,
            "resource": resource,
            "expires_at": time.time() + _LIFETIME,
            "status": "pending",
            "user": None,
            "role": "read",
        }
    return Response.json(
        200,
        {
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": VERIFICATION_URI,
            "expires_in": _LIFETIME,
            "interval": sim.knobs.device_interval,
            "message": f"To sign in, use a web browser to open the page {VERIFICATION_URI} and "
            f"enter the code {user_code} to authenticate.",
        },
    )


def approve(
    sim: SimState, user_code: str, *, user: str, role: str = "read", deny: bool = False
) -> bool:
    """Decide a pending device code as the person at the browser; False when no such code."""
    with sim.lock:
        for entry in sim.device_codes.values():
            if entry["user_code"] == user_code and entry["status"] == "pending":
                entry["status"] = "denied" if deny else "approved"
                entry["user"] = user
                entry["role"] = role
                return True
    return False


def pending_codes(sim: SimState) -> list[str]:
    with sim.lock:
        return [e["user_code"] for e in sim.device_codes.values() if e["status"] == "pending"]


@route("POST", r"/_sim/devicecode/approve", name="sim-admin", faults=False)
def approve_route(request: Request, sim: SimState) -> Response:
    body = request.json() or {}
    ok = approve(
        sim,
        str(body.get("user_code", "")),
        user=str(body.get("user", "admin@example.com")),
        role=str(body.get("role", "read")),
        deny=bool(body.get("deny", False)),
    )
    return Response.json(200 if ok else 404, {"approved": ok})


def redeem(sim: SimState, tenant: TenantState, form: dict[str, str]) -> Response:
    with sim.lock:
        entry: dict[str, Any] | None = sim.device_codes.get(form.get("device_code", ""))
        if entry is None or entry["tenant"] != tenant.name:
            raise entra_error(400, "invalid_grant", 70000, "The provided device code is invalid.")
        if time.time() > entry["expires_at"]:
            raise entra_error(
                400,
                "expired_token",
                70020,
                "The provided value for the input "
                "parameter 'device_code' is not valid. This device code has expired.",
            )
        status = entry["status"]
        if status == "pending":
            raise _pending()
        if status == "denied":
            raise entra_error(
                400, "authorization_declined", 70000, "The user declined to authorize the request."
            )
        if status == "redeemed":
            raise entra_error(
                400,
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already "
                "redeemed, please retry with a new valid code or use an existing "
                "refresh token.",
            )
        entry["status"] = "redeemed"
    access, life = mint_access_token(
        sim,
        tenant,
        app_id=entry["client_id"],
        resource=entry["resource"],
        role=entry["role"],
        user=entry["user"],
    )
    return Response.json(
        200,
        {
            "token_type": "Bearer",
            "scope": f"{entry['resource']}/Exchange.Manage",
            "expires_in": life,
            "ext_expires_in": life,
            "access_token": access,
        },
    )


def _pending() -> HttpError:
    return entra_error(
        400,
        "authorization_pending",
        70016,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    )
