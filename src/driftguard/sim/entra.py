"""Simulated Entra ID: OpenID discovery, the v2.0 token endpoint, device code sign-in.

Errors come back in Entra's shape (``error``, ``error_description`` starting with an AADSTS code,
``error_codes``, trace and correlation ids), so msal and driftguard's error mapping see real text.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import jwt

from driftguard.sim.http import HttpError, Request, Response, route
from driftguard.sim.state import EXCHANGE_RESOURCE, GRAPH_RESOURCE, SimState, TenantState
from driftguard.sim.tokens import (
    mint_access_token,
    unverified_claims,
    verify_certificate_assertion,
    verify_federated_token,
)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_TENANT = r"/(?P<tenant>[^/]+)"


def entra_error(status: int, error: str, code: int, text: str) -> HttpError:
    now = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: {trace} "
        f"Correlation ID: {correlation} Timestamp: {now}",
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return HttpError(Response.json(status, body))


def _tenant(request: Request, sim: SimState) -> TenantState:
    key = request.params["tenant"]
    tenant = sim.tenant(key)
    if tenant is None:
        raise entra_error(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{key}' not found. Check to make sure you have the correct tenant ID and are "
            "signing into the correct cloud. Check with your subscription administrator, this may "
            "happen if there are no active subscriptions for the tenant.",
        )
    return tenant


@route("GET", _TENANT + r"/v2\.0/\.well-known/openid-configuration", name="openid", faults=False)
def openid_configuration(request: Request, sim: SimState) -> Response:
    tenant = _tenant(request, sim)
    base = f"https://{request.host}/{tenant.tenant_id}"
    return Response.json(
        200,
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"https://{request.host}/{tenant.tenant_id}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        },
    )


def _resource(scope: str, tenant: TenantState) -> str:
    for item in scope.split():
        if item.startswith("https://"):
            parts = urlsplit(item)
            resource = f"https://{parts.netloc}"
            allowed = {EXCHANGE_RESOURCE[tenant.cloud], GRAPH_RESOURCE[tenant.cloud]}
            if resource not in allowed:
                raise entra_error(
                    400,
                    "invalid_resource",
                    500011,
                    f"The resource principal named {resource} was not found in the tenant named "
                    f"{tenant.domain}. This can happen if the application has not been installed "
                    "by the administrator of the tenant or consented to by any user in the tenant.",
                )
            return resource
    raise entra_error(
        400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid."
    )


def _app_grant(sim: SimState, tenant: TenantState, client_id: str) -> Any:
    app = sim.apps.get(client_id)
    grant = tenant.grants.get(client_id)
    if app is None or grant is None:
        raise entra_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant.domain}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You may have "
            "sent your authentication request to the wrong tenant.",
        )
    return app, grant


def _check_client(
    request: Request, sim: SimState, tenant: TenantState, form: dict[str, str]
) -> None:
    """Authenticate the confidential client by secret, certificate or federated assertion."""
    client_id = form.get("client_id", "")
    app, _grant = _app_grant(sim, tenant, client_id)
    secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    if secret is not None:
        if app.secret is None or not secrets.compare_digest(secret, app.secret):
            raise entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        return
    if assertion is None or form.get("client_assertion_type") != JWT_BEARER:
        raise entra_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
    claims = unverified_claims(assertion)
    if claims is None:
        raise entra_error(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
    if claims.get("iss") == client_id:
        _check_certificate(request, sim, tenant, app, assertion)
    else:
        _check_federated(sim, app, claims, assertion)


def _check_certificate(
    request: Request, sim: SimState, tenant: TenantState, app: Any, assertion: str
) -> None:
    if app.certificate is None:
        raise entra_error(
            401,
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not registered "
            "on application.",
        )
    endpoints = [
        request.url.split("?")[0],
        f"https://{request.host}/{tenant.tenant_id}/oauth2/v2.0/token",
        f"https://{request.host}/{tenant.domain}/oauth2/v2.0/token",
    ]
    problem = verify_certificate_assertion(
        assertion,
        cert_pem=app.certificate.cert_pem,
        client_id=app.client_id,
        token_endpoints=endpoints,
    )
    texts = {
        "expired": (700024, "Client assertion is not within its valid time range."),
        "audience": (700023, "Client assertion audience claim does not match Realm issuer."),
        "signature": (700027, "Client assertion failed signature validation."),
        "issuer": (
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ),
        "invalid": (50027, "JWT token is invalid or malformed."),
    }
    if problem is not None:
        code, text = texts[problem]
        raise entra_error(401, "invalid_client", code, text)


def _check_federated(sim: SimState, app: Any, claims: dict[str, Any], assertion: str) -> None:
    iss, sub, aud = claims.get("iss"), claims.get("sub"), claims.get("aud")
    for cred in app.federated:
        if cred.issuer == iss and cred.subject == sub:
            try:
                verify_federated_token(sim, assertion, audience=cred.audience)
            except jwt.ExpiredSignatureError as exc:
                raise entra_error(
                    400,
                    "invalid_client",
                    700024,
                    "Client assertion is not within its valid time range.",
                ) from exc
            except jwt.PyJWTError as exc:
                raise entra_error(
                    400,
                    "invalid_client",
                    700212,
                    "No matching federated identity record found for presented assertion "
                    f"audience '{aud}'.",
                ) from exc
            return
    raise entra_error(
        400,
        "invalid_client",
        70021,
        "No matching federated identity record found for presented assertion. Assertion "
        f"Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'.",
    )


@route("POST", _TENANT + r"/oauth2/v2\.0/token", name="token", faults=False)
def token(request: Request, sim: SimState) -> Response:
    tenant = _tenant(request, sim)
    form = request.form()
    grant_type = form.get("grant_type", "")
    if grant_type == DEVICE_GRANT:
        from driftguard.sim.devicecode import redeem

        return redeem(sim, tenant, form)
    if grant_type != "client_credentials":
        raise entra_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )
    _check_client(request, sim, tenant, form)
    resource = _resource(form.get("scope", ""), tenant)
    client_id = form["client_id"]
    grant = tenant.grants[client_id]
    if not grant.consented:
        app = sim.apps[client_id]
        raise entra_error(
            400,
            "invalid_grant",
            65001,
            f"The user or administrator has not consented to use the application with ID "
            f"'{client_id}' named '{app.display_name}'. Send an interactive authorization request "
            "for this user and resource.",
        )
    access, life = mint_access_token(
        sim,
        tenant,
        app_id=client_id,
        resource=resource,
        role=grant.role,
        manage_as_app=grant.manage_as_app,
    )
    return Response.json(
        200,
        {
            "token_type": "Bearer",
            "expires_in": life,
            "ext_expires_in": life,
            "access_token": access,
        },
    )
