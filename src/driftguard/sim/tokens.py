"""Tokens of the simulated Entra ID: access tokens it issues, assertions it verifies.

Access tokens are RS256 JWTs like Entra's v1 tokens for the Exchange resource: ``aud`` the resource,
``tid``, ``appid``, ``roles`` (application permissions), ``wids`` (directory roles), ``exp``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509

from driftguard.sim.state import GRAPH_RESOURCE, ROLE_WIDS, SimState, TenantState

MANAGE_AS_APP = "Exchange.ManageAsApp"
FEDERATED_ISSUER = "https://token.actions.githubusercontent.com"
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
_KID = "driftguard-sim-1"
_CACHE_SIZE = 20_000


class TokenRejected(Exception):
    """An access token the admin API must refuse (401); the message is for WWW-Authenticate."""


@dataclass(frozen=True)
class Principal:
    """Who a valid access token speaks for."""

    tenant_id: str
    app_id: str
    user: str  # UPN for delegated tokens, app display name for app-only
    roles: tuple[str, ...]
    wids: tuple[str, ...]
    delegated: bool
    jti: str
    resource: str


def mint_access_token(
    sim: SimState,
    tenant: TenantState,
    *,
    app_id: str,
    resource: str,
    role: str,
    manage_as_app: bool = True,
    user: str | None = None,
    lifetime: int | None = None,
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    now = int(time.time())
    life = lifetime if lifetime is not None else sim.knobs.token_lifetime
    app = sim.apps.get(app_id)
    claims: dict[str, Any] = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{tenant.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + life,
        "tid": tenant.tenant_id,
        "appid": app_id,
        "app_displayname": app.display_name if app else app_id,
        "wids": list(ROLE_WIDS.get(role, ())),
        "jti": uuid.uuid4().hex,
        "ver": "1.0",
    }
    if user is None:
        grant = tenant.grants.get(app_id)
        if resource in GRAPH_RESOURCE.values():  # Graph: the app's Graph permissions
            claims["roles"] = list(grant.graph_roles) if grant is not None else []
        else:
            claims["roles"] = [MANAGE_AS_APP] if manage_as_app else []
        claims["idtyp"] = "app"
    else:
        claims["upn"] = user
        claims["scp"] = "Exchange.Manage"
    token = jwt.encode(claims, sim.signing_key, algorithm="RS256", headers={"kid": _KID})
    return token, life


def verify_access_token(sim: SimState, token: str, *, resource: str, tenant_id: str) -> Principal:
    """The principal of a valid token for ``resource`` in ``tenant_id``; TokenRejected otherwise."""
    claims = sim.verified_tokens.get(token)
    if claims is None:
        try:
            claims = jwt.decode(
                token,
                sim.signing_key.public_key(),
                algorithms=["RS256"],
                options={"require": ["exp", "aud", "tid"], "verify_aud": False},
                leeway=0,
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenRejected("The token is expired") from exc
        except jwt.PyJWTError as exc:
            raise TokenRejected("The token is not valid") from exc
        with sim.lock:
            if len(sim.verified_tokens) >= _CACHE_SIZE:
                sim.verified_tokens.clear()
            sim.verified_tokens[token] = claims
    if claims["exp"] <= time.time():
        raise TokenRejected("The token is expired")
    if claims["aud"] not in (resource, resource + "/"):
        raise TokenRejected("The audience of the token is not valid")
    if str(claims["tid"]).lower() != tenant_id.lower():
        raise TokenRejected("The token was issued for a different tenant")
    delegated = "scp" in claims
    return Principal(
        tenant_id=claims["tid"],
        app_id=str(claims.get("appid", "")),
        user=str(claims.get("upn") or claims.get("app_displayname") or claims.get("appid")),
        roles=tuple(claims.get("roles", ())),
        wids=tuple(claims.get("wids", ())),
        delegated=delegated,
        jti=str(claims.get("jti", "")),
        resource=resource,
    )


def verify_certificate_assertion(
    assertion: str, *, cert_pem: bytes, client_id: str, token_endpoints: list[str]
) -> str | None:
    """None when the msal client assertion is valid for the registered certificate, else why not."""
    public_key = _public_key(cert_pem)
    try:
        claims = jwt.decode(
            assertion,
            public_key,
            algorithms=["RS256", "PS256"],
            audience=token_endpoints,
            options={"require": ["exp", "aud", "iss", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        return "expired"
    except jwt.InvalidAudienceError:
        return "audience"
    except jwt.InvalidSignatureError:
        return "signature"
    except jwt.PyJWTError:
        return "invalid"
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        return "issuer"
    return None


@functools.lru_cache(maxsize=64)
def _public_key(cert_pem: bytes) -> Any:
    return x509.load_pem_x509_certificate(cert_pem).public_key()


def unverified_claims(assertion: str) -> dict[str, Any] | None:
    """The payload of a compact JWT without checking anything (to pick how to verify it)."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def mint_federated_token(
    sim: SimState,
    *,
    subject: str,
    audience: str = FEDERATED_AUDIENCE,
    issuer: str = FEDERATED_ISSUER,
    lifetime: int = 600,
) -> str:
    """A token from the simulated external issuer, as GitHub Actions' OIDC endpoint hands out."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, sim.issuer_key, algorithm="RS256", headers={"kid": "gha-sim"})


def verify_federated_token(sim: SimState, assertion: str, *, audience: str) -> dict[str, Any]:
    """The claims of a valid federated token; raises jwt.PyJWTError otherwise."""
    claims: dict[str, Any] = jwt.decode(
        assertion,
        sim.issuer_key.public_key(),
        algorithms=["RS256"],
        audience=audience,
        options={"require": ["exp", "aud", "iss", "sub"]},
    )
    return claims
