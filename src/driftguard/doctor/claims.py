"""What an access token says about the app: audience, tenant, permissions, directory roles.

The token is our own, fresh from the sign-in service, so its payload is read without verifying
the signature (the admin API verifies it; doctor only explains what it will see).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from driftguard.doctor.model import Check, fail, ok, warn

MANAGE_AS_APP = "Exchange.ManageAsApp"
MAX_TOKEN = 16_384  # characters; real access tokens are a few kilobytes

# Entra directory role template ids, as they appear in the ``wids`` claim.
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
EXCHANGE_ADMINISTRATOR = "29232cdf-9323-42fd-ade2-1d097af3e4de"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
ROLE_NAMES: Mapping[str, str] = {
    GLOBAL_ADMINISTRATOR: "Global Administrator",
    GLOBAL_READER: "Global Reader",
    EXCHANGE_ADMINISTRATOR: "Exchange Administrator",
    SECURITY_ADMINISTRATOR: "Security Administrator",
    SECURITY_READER: "Security Reader",
}
READ_ROLES = frozenset({GLOBAL_READER, EXCHANGE_ADMINISTRATOR, GLOBAL_ADMINISTRATOR})
WRITE_ROLES = frozenset({EXCHANGE_ADMINISTRATOR, GLOBAL_ADMINISTRATOR})

PERMISSION_HINT = (
    "in Entra ID, App registrations > the app > API permissions: add the application permission "
    "Exchange.ManageAsApp of 'Office 365 Exchange Online' and grant admin consent"
)
READ_ROLE_HINT = (
    "assign the app the Entra role Global Reader (or add its service principal to the Exchange "
    "role group View-Only Organization Management)"
)
WRITE_ROLE_HINT = "assign the write app the Entra role Exchange Administrator"


class ClaimsError(ValueError):
    """The token is not a JWT whose payload can be read."""


@dataclass(frozen=True)
class TokenClaims:
    audience: str
    tenant_id: str
    app_id: str
    roles: tuple[str, ...]
    wids: tuple[str, ...]

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(ROLE_NAMES[w] for w in self.wids if w in ROLE_NAMES)


def claims_of(token: str) -> TokenClaims:
    """The claims doctor looks at, from a compact JWT's payload (signature not checked)."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN or len(parts) != 3:
        raise ClaimsError("the access token is not a JWT")
    try:
        payload: Any = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        raise ClaimsError("the access token's payload is not readable JSON") from None
    if not isinstance(payload, dict):
        raise ClaimsError("the access token's payload is not a JSON object")
    return TokenClaims(
        audience=str(payload.get("aud") or ""),
        tenant_id=str(payload.get("tid") or ""),
        app_id=str(payload.get("appid") or payload.get("azp") or ""),
        roles=_strings(payload.get("roles")),
        wids=tuple(w.lower() for w in _strings(payload.get("wids"))),
    )


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value if isinstance(v, str))


def claim_checks(
    claims: TokenClaims,
    *,
    purpose: Literal["read", "write"],
    resource: str,
    tenant_id: str,
) -> list[Check]:
    """Audience, tenant, Exchange.ManageAsApp and the directory role, as checks."""
    app = f"{purpose} app"
    checks: list[Check] = []
    if claims.audience.rstrip("/") == resource.rstrip("/"):
        checks.append(ok(f"{app} audience", f"token issued for {claims.audience}"))
    else:
        checks.append(
            fail(
                f"{app} audience",
                f"token issued for {claims.audience or '(none)'}, the admin API expects {resource}",
                "set cloud in tenant.yaml to the tenant's cloud (global, gcc-high, dod, china)",
            )
        )
    if claims.tenant_id.lower() == tenant_id.lower():
        checks.append(ok(f"{app} tenant", f"token issued by tenant {claims.tenant_id}"))
    else:
        checks.append(
            fail(
                f"{app} tenant",
                f"token issued by tenant {claims.tenant_id or '(none)'}, not {tenant_id}",
                "check tenant_id in tenant.yaml",
            )
        )
    if MANAGE_AS_APP in claims.roles:
        checks.append(ok(f"{app} permission", f"{MANAGE_AS_APP} granted"))
    else:
        shown = ", ".join(claims.roles) or "none"
        checks.append(
            fail(
                f"{app} permission",
                f"{MANAGE_AS_APP} is not granted (application permissions in the token: {shown}); "
                "the admin API answers 401",
                PERMISSION_HINT,
            )
        )
    checks.append(role_check(claims, purpose))
    return checks


def role_check(
    claims: TokenClaims, purpose: Literal["read", "write"], *, refused: bool = False
) -> Check:
    """The directory role check; ``refused`` once the admin API has answered 403."""
    app = f"{purpose} app"
    names = ", ".join(claims.role_names) or "none"
    if purpose == "read":
        if READ_ROLES & set(claims.wids):
            return ok(f"{app} role", f"directory roles: {names}")
        missing = f"no Global Reader directory role in the token (directory roles: {names})"
        if refused:
            return fail(f"{app} role", f"{missing}; the admin API answered 403", READ_ROLE_HINT)
        return warn(
            f"{app} role",
            f"{missing}; reads work only if the app is in the View-Only Organization Management "
            "role group",
            READ_ROLE_HINT,
        )
    if WRITE_ROLES & set(claims.wids):
        return ok(f"{app} role", f"directory roles: {names}")
    return fail(
        f"{app} role",
        f"no Exchange Administrator directory role in the token (directory roles: {names}); "
        "apply would be refused with 403",
        WRITE_ROLE_HINT,
    )
