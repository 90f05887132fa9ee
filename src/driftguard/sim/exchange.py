"""Simulated Exchange Online admin API: ``POST /adminapi/beta/{tenantId}/InvokeCommand``.

Token checks follow EXCHANGE.md: no valid token, or no ``Exchange.ManageAsApp`` grant, is 401; a
grant without a directory role (Global Reader to read, Exchange Administrator to change) is 403.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from driftguard.sim import auditlog, faults
from driftguard.sim.cmdlets import CmdletContext, SimCmdletError, find, parameter
from driftguard.sim.http import HttpError, Request, Response, route
from driftguard.sim.state import (
    EXCHANGE_ADMIN,
    EXCHANGE_RESOURCE,
    GLOBAL_READER,
    GRAPH_RESOURCE,
    SimState,
    TenantState,
)
from driftguard.sim.tokens import MANAGE_AS_APP, Principal, TokenRejected, verify_access_token

_INVOKE = r"/adminapi/beta/(?P<tenant>[^/]+)/InvokeCommand"
_READ_ROLES = {GLOBAL_READER, EXCHANGE_ADMIN}


def unauthorized(description: str) -> HttpError:
    challenge = (
        'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
        'trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
        'token_types="app_asserted_user_v1 service_asserted_app_v1", '
        f'error="invalid_token", error_description="{description}"'
    )
    response = Response.json(401, {"error": {"code": "Unauthorized", "message": description}})
    response.headers.append(("WWW-Authenticate", challenge))
    return HttpError(response)


def forbidden(message: str) -> HttpError:
    return HttpError(Response.json(403, {"error": {"code": "Forbidden", "message": message}}))


def bearer(request: Request) -> str:
    header = request.header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Bearer token is missing")
    return token.strip()


def authorize(request: Request, sim: SimState, tenant: TenantState, resource: str) -> Principal:
    """The principal of the request's token for ``resource`` in ``tenant``; 401 otherwise."""
    try:
        principal = verify_access_token(
            sim, bearer(request), resource=resource, tenant_id=tenant.tenant_id
        )
    except TokenRejected as exc:
        raise unauthorized(str(exc)) from None
    with tenant.lock:
        if principal.jti in tenant.revoked_tokens:
            raise unauthorized("The token is expired")
        if (
            not tenant.token_expiry_fired
            and faults.rates(sim, tenant).get("token-expiry", 0) > 0
            and faults.hit(sim, tenant, "token-expiry")
        ):
            tenant.token_expiry_fired = True
            tenant.revoked_tokens.add(principal.jti)
            raise unauthorized("The token is expired")
    graph = resource in GRAPH_RESOURCE.values()  # Graph tokens carry Graph permissions instead
    if not graph and not principal.delegated and MANAGE_AS_APP not in principal.roles:
        raise unauthorized("The token has no Exchange.ManageAsApp role")
    return principal


def authorize_graph(request: Request, sim: SimState) -> tuple[TenantState, Principal]:
    """For Graph routes (no tenant in the path): the tenant named by the token's ``tid`` and the
    principal of a valid Graph token for it; 401 otherwise. Faults apply as for the admin API."""
    from driftguard.sim.tokens import unverified_claims

    claims = unverified_claims(bearer(request)) or {}
    tenant = sim.tenant(str(claims.get("tid", ""))) if claims.get("tid") else None
    if tenant is None:
        raise unauthorized("The token is not valid")
    return tenant, authorize(request, sim, tenant, GRAPH_RESOURCE[tenant.cloud])


def _tenant(request: Request, sim: SimState) -> TenantState:
    tenant = sim.tenant(request.params["tenant"])
    if tenant is None:
        raise HttpError(
            Response.json(
                404,
                {"error": {"code": "NotFound", "message": "The tenant could not be found."}},
            )
        )
    return tenant


@route("GET", _INVOKE, name="invoke")
def invoke_get(request: Request, sim: SimState) -> Response:
    """Only reached by following a nextLink with GET: the service refuses it."""
    tenant = _tenant(request, sim)
    authorize(request, sim, tenant, EXCHANGE_RESOURCE[tenant.cloud])
    return _expired_paging()


def _expired_paging() -> Response:
    return Response.json(
        400,
        SimCmdletError(
            "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
            exception_type="Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
        ).body(),
    )


@route("POST", _INVOKE, name="invoke")
def invoke(request: Request, sim: SimState) -> Response:
    tenant = _tenant(request, sim)
    principal = authorize(request, sim, tenant, EXCHANGE_RESOURCE[tenant.cloud])
    if "skiptoken" in request.query_params() or "$skiptoken" in request.query_params():
        return _expired_paging()
    try:
        body = request.json()
        cmdlet_input = body["CmdletInput"]
        name = str(cmdlet_input["CmdletName"])
        parameters = cmdlet_input.get("Parameters") or {}
        if not isinstance(parameters, dict):
            raise TypeError("Parameters")
    except (ValueError, KeyError, TypeError):
        return Response.json(
            400,
            {"error": {"code": "BadRequest", "message": "The request body is not valid."}},
        )
    found = find(name)
    if found is None:
        error = SimCmdletError(
            f"The term '{name}' is not recognized as a name of a cmdlet, function, script file, "
            "or executable program.",
            exception_type="System.Management.Automation.CommandNotFoundException",
        )
        response = Response.json(400, error.body())
        response.cmdlet = name
        return response
    wids = set(principal.wids)
    if not wids & _READ_ROLES or (found.write and EXCHANGE_ADMIN not in wids):
        raise forbidden(
            f"The user or application is not allowed to run '{found.name}': the role assigned "
            "does not include it."
        )
    port = f":{request.remote_port}" if request.remote_port and len(tenant.audit) % 2 else ""
    ctx = CmdletContext(
        sim=sim,
        now=sim.clock(),
        user=principal.user,
        app_id=None if principal.delegated else principal.app_id,
        client_ip=request.remote_addr + port,
    )
    try:
        with tenant.lock:
            records = found.handler(tenant, parameters, ctx)
    except SimCmdletError as exc:
        if found.write:  # the service audits refused changes too, with ResultStatus "False"
            target = parameter(parameters, "Identity") or parameter(parameters, "Name") or ""
            auditlog.append(
                tenant,
                ctx,
                operation=found.name,
                object_id=str(target),
                parameters=parameters,
                succeeded=False,
            )
        response = Response.json(exc.status, exc.body())
        response.cmdlet = found.name
        return response
    return _success(request, sim, tenant, found.name, records, ctx)


def _success(
    request: Request,
    sim: SimState,
    tenant: TenantState,
    cmdlet_name: str,
    records: list[dict[str, Any]],
    ctx: CmdletContext,
) -> Response:
    select = request.query_params().get("$select")
    if select:
        wanted = {s.strip().lower() for s in select.split(",")}
        records = [
            {k: v for k, v in r.items() if k.split("@")[0].lower() in wanted} for r in records
        ]
    page = _max_page_size(request)
    more = bool(ctx.extras.get("more"))
    if page is not None and len(records) > page:
        records, more = records[:page], True  # the rest sits behind an unfollowable nextLink
    warnings = list(ctx.warnings)
    if faults.hit(sim, tenant, "warnings"):
        warnings.append(
            "WARNING: The command completed successfully but the result may be incomplete."
        )
    payload: dict[str, Any] = {
        "@odata.context": f"https://{request.host}/adminapi/beta/{tenant.tenant_id}/$metadata"
        "#Collection(Exchange.GenericHashTable)",
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": warnings,
        "value": records,
    }
    if more or faults.hit(sim, tenant, "nextlink"):
        payload["@odata.nextLink"] = (
            f"https://{request.host}/adminapi/beta/{tenant.tenant_id}/InvokeCommand"
            f"?$skiptoken={secrets.token_hex(16)}"
        )
    body = json.dumps(payload).encode("utf-8")
    if faults.hit(sim, tenant, "truncated-json"):
        body = body[: max(1, len(body) // 2)]
    response = Response(200, body, [("Content-Type", "application/json; odata.metadata=minimal")])
    response.cmdlet = cmdlet_name
    return response


def _max_page_size(request: Request) -> int | None:
    """``Prefer: odata.maxpagesize=N`` as PowerShell sends it, or None."""
    for part in (request.header("Prefer") or "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "odata.maxpagesize":
            try:
                return max(1, int(value.strip()))
            except ValueError:
                return None
    return None
