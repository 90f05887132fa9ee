"""Control routes for tests that run the simulator in another process (``driftguard sim serve``).

- ``GET /_sim/requests[?endpoint=E&tenant=T]``: the request log (tenant, endpoint, method, path,
  host, status, whether an Authorization header arrived, cmdlet) — e.g. ``endpoint=foreign`` shows
  whether a bearer token followed a foreign redirect.
- ``POST /_sim/knobs`` with ``{"tenant": name or null, "faults": {...}, "latency_ms": N}``: change
  fault rates or latency for one tenant (or, with no tenant, the whole server) while running.
- ``GET /_sim/tenants/<name>``: the tenant's live records, audit log and blocked list.

- ``GET /_sim/github-oidc/_apis/token?audience=A``: a GitHub Actions-style OIDC endpoint (for
  ``ACTIONS_ID_TOKEN_REQUEST_URL``); with ``Authorization: Bearer <actions_request_token>`` it
  answers ``{"value": <JWT>}`` signed by the simulated issuer, subject ``github_subject``, which the
  standard apps trust. Any other request token gets 401.

Device codes are approved with ``POST /_sim/devicecode/approve`` (devicecode.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from driftguard.sim.http import HttpError, Request, Response, route
from driftguard.sim.state import FAULT_NAMES, SimState


@route("GET", r"/_sim/requests", name="sim-admin", faults=False)
def requests_log(request: Request, sim: SimState) -> Response:
    query = request.query_params()
    with sim.lock:
        rows = [dataclasses.asdict(r) for r in sim.requests_log]
    for key in ("endpoint", "tenant"):
        if key in query:
            rows = [r for r in rows if r[key] == query[key]]
    return Response.json(200, {"value": rows})


@route("POST", r"/_sim/knobs", name="sim-admin", faults=False)
def knobs(request: Request, sim: SimState) -> Response:
    try:
        body: dict[str, Any] = request.json() or {}
    except ValueError:
        body = {}
    faults = body.get("faults")
    if faults is not None:
        unknown = [name for name in faults if name not in FAULT_NAMES]
        if unknown or not all(isinstance(v, int | float) for v in faults.values()):
            raise HttpError(Response.json(400, {"error": f"unknown faults {unknown}"}))
        faults = {str(k): float(v) for k, v in faults.items()}
    latency = body.get("latency_ms")
    name = body.get("tenant")
    if name is None:
        with sim.lock:
            if faults is not None:
                sim.knobs.faults = faults
            if latency is not None:
                sim.knobs.latency_ms = int(latency)
        return Response.json(200, {"tenant": None})
    tenant = sim.tenant(str(name))
    if tenant is None:
        raise HttpError(Response.json(404, {"error": f"no tenant {name}"}))
    with tenant.lock:
        if faults is not None:
            tenant.faults = faults
        if latency is not None:
            tenant.latency_ms = int(latency)
    return Response.json(200, {"tenant": tenant.name})


@route("GET", r"/_sim/tenants/(?P<name>[^/]+)", name="sim-admin", faults=False)
def tenant_state(request: Request, sim: SimState) -> Response:
    tenant = sim.tenant(request.params["name"])
    if tenant is None:
        raise HttpError(Response.json(404, {"error": "no such tenant"}))
    with tenant.lock:
        return Response.json(
            200,
            {
                "name": tenant.name,
                "tenant_id": tenant.tenant_id,
                "connectors": tenant.connectors,
                "audit": tenant.audit,
                "blocked": tenant.blocked,
            },
        )


GITHUB_OIDC_PATH = "/_sim/github-oidc/_apis/token"


@route("GET", GITHUB_OIDC_PATH, name="github-oidc", faults=False)
def github_oidc(request: Request, sim: SimState) -> Response:
    from driftguard.sim.tokens import FEDERATED_AUDIENCE, mint_federated_token

    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or token != sim.knobs.actions_request_token:
        return Response.json(401, {"message": "Bad credentials"})
    audience = request.query_params().get("audience") or FEDERATED_AUDIENCE
    value = mint_federated_token(sim, subject=sim.knobs.github_subject, audience=audience)
    return Response.json(200, {"count": 1, "value": value})
