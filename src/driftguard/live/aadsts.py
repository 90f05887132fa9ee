"""Hints for Entra ID sign-in errors (AADSTS codes and OAuth error names), as data."""

from __future__ import annotations

from collections.abc import Iterable

_CONSENT = (
    "grant admin consent for the application permission Exchange.ManageAsApp "
    "(Office 365 Exchange Online) in this tenant"
)

HINTS: dict[int, str] = {
    700016: "the client_id is not an application in this tenant: check client_id and tenant_id "
    "(a multi-tenant app must be consented in each tenant)",
    90002: "tenant not found: check tenant_id and the cloud (a GCC High or China tenant is not "
    "in the global cloud)",
    900023: "the tenant_id is not a valid tenant identifier",
    90033: "the tenant_id is not a valid tenant identifier",
    7000215: "invalid client secret: use the secret's Value (not its ID) and check it is current",
    7000222: "the client secret has expired: create a new one and update the variable",
    65001: _CONSENT,
    7000229: "the application has no service principal in this tenant: " + _CONSENT,
    500011: "the Exchange resource is not in this tenant: check the cloud (scope host) and "
    "that Exchange Online is licensed",
    700027: "the certificate is not registered on the application (or the assertion is badly "
    "signed): upload the certificate's public part to the app registration",
    700024: "the client assertion is outside its valid time range: check the machine's clock",
    70021: "no federated identity credential on the application matches this token: check its "
    "issuer, subject (repository, branch or environment) and audience api://AzureADTokenExchange",
    700213: "no federated identity credential matches the token's subject: add one for this "
    "repository / branch / environment",
    700211: "no federated identity credential matches the token's issuer",
    700212: "no federated identity credential matches the token's audience "
    "(api://AzureADTokenExchange)",
    7000112: "the application is disabled in this tenant",
    70011: "the scope is invalid for this cloud: check the tenant's cloud setting",
    53003: "a Conditional Access policy blocked the sign-in",
    70043: "the session expired or was revoked by Conditional Access: sign in again",
    50059: "no tenant information: check tenant_id",
}

ERROR_HINTS: dict[str, str] = {
    "invalid_client": "the credential was refused: check the certificate or secret registered on "
    "the application",
    "unauthorized_client": "the application may not use this sign-in flow in this tenant "
    "(device code needs 'Allow public client flows')",
    "invalid_tenant": HINTS[90002],
    "consent_required": _CONSENT,
    "authorization_declined": "the person declined the sign-in",
    "expired_token": "the device code expired before sign-in finished: run the command again",
    "invalid_scope": HINTS[70011],
    "temporarily_unavailable": "the sign-in service is busy: try again later",
}


def hint_for(codes: Iterable[int], error: str, description: str) -> str | None:
    """The most specific hint for an msal error result (codes first, then the error name)."""
    for code in codes:
        if code in HINTS:
            return HINTS[code]
    if "consent" in description.lower():
        return _CONSENT
    return ERROR_HINTS.get(error)
