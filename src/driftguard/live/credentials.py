"""Which credential signs a tenant in: tenant.yaml ``auth:`` references, then AZURE_* variables.

Only names and paths live here (never a secret), so a Credential's repr is safe to print.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from driftguard.errors import AuthError
from driftguard.model import TenantConfig

Method = Literal["certificate", "secret", "federated", "device_code"]
METHODS: tuple[Method, ...] = ("certificate", "secret", "federated", "device_code")


@dataclass(frozen=True)
class Credential:
    """Where one credential comes from. Holds names and paths only, so its repr is safe."""

    method: Method
    client_id: str
    tenant_id: str
    purpose: str = "read"
    certificate_path: str | None = None
    certificate_password_env: str | None = None
    client_secret_env: str | None = None
    federated_token_file: str | None = None  # None with method federated = GitHub Actions OIDC

    @property
    def label(self) -> str:
        return f"{self.method} credential of app {self.client_id} ({self.purpose})"


Purpose = Literal["read", "write", "graph_write"]
GRAPH_WRITE_HINT = (
    "add auth.graph_write to tenant.yaml (same keys as auth.write): an app with the Microsoft "
    "Graph application permissions User.RevokeSessions.All (revoke sessions) and "
    "User.EnableDisableAccount.All (block sign-in), admin-consented"
)


def has_graph_write(tenant: TenantConfig) -> bool:
    """Whether tenant.yaml names the separate, optional Graph write credential."""
    auth: Mapping[str, Any] = tenant.auth or {}
    return isinstance(auth.get("graph_write"), Mapping)


def credential_for(
    tenant: TenantConfig,
    *,
    purpose: Purpose = "read",
    env: Mapping[str, str] | None = None,
    interactive: bool = False,
) -> Credential:
    """Pick the credential for ``tenant``: tenant.yaml references first, then AZURE_* variables.

    ``purpose="write"`` uses ``auth.write`` when present (its ``client_id`` defaults to the read
    one) and falls back to the read credential otherwise. Device-code sign-in is chosen without an
    explicit ``method`` only when ``interactive`` (a person at a terminal).
    ``purpose="graph_write"`` (containment through Microsoft Graph) uses ``auth.graph_write``
    only: without it there is no such credential, never a fallback to another one.
    """
    environ = os.environ if env is None else env
    read: Mapping[str, Any] = tenant.auth or {}
    conf: Mapping[str, Any] = read
    if purpose == "graph_write" and not has_graph_write(tenant):
        raise AuthError(
            f"tenant {tenant.name}: no Graph write credential (auth.graph_write)",
            hint=GRAPH_WRITE_HINT,
        )
    section = read.get(purpose) if purpose != "read" else None
    if isinstance(section, Mapping):
        conf = dict(section)
        if "client_id" not in conf and read.get("client_id"):
            conf = {**conf, "client_id": read["client_id"]}
    client_id = str(conf.get("client_id") or environ.get("AZURE_CLIENT_ID") or "")
    tenant_id = tenant.tenant_id or environ.get("AZURE_TENANT_ID", "")
    if not tenant_id:
        raise AuthError("no tenant_id", hint="set tenant_id in tenant.yaml")
    if not client_id:
        raise AuthError(
            f"no client_id for the {purpose} credential",
            hint="set auth.client_id in tenant.yaml or the AZURE_CLIENT_ID variable",
        )

    cert_path = _path_ref(conf, "certificate_path", environ)
    secret_env = conf.get("client_secret_env")
    fed_file = _path_ref(conf, "federated_token_file", environ)
    method = conf.get("method")
    if method is None:
        if cert_path:
            method = "certificate"
        elif secret_env:
            method = "secret"
        elif fed_file:
            method = "federated"
        elif environ.get("AZURE_CLIENT_CERTIFICATE_PATH"):
            method = "certificate"
        elif environ.get("AZURE_CLIENT_SECRET"):
            method = "secret"
        elif environ.get("AZURE_FEDERATED_TOKEN_FILE") or environ.get(
            "ACTIONS_ID_TOKEN_REQUEST_URL"
        ):
            method = "federated"
        elif interactive:
            method = "device_code"
        else:
            raise AuthError(
                f"no credential configured for the {purpose} credential",
                hint="set auth.certificate_path_env, auth.client_secret_env or "
                "auth.federated_token_file in tenant.yaml, or AZURE_CLIENT_CERTIFICATE_PATH / "
                "AZURE_CLIENT_SECRET / AZURE_FEDERATED_TOKEN_FILE",
            )
    if method not in METHODS:
        raise AuthError(f"unknown auth method '{method}'", hint=f"use one of {METHODS}")
    if method == "certificate":
        cert_path = cert_path or environ.get("AZURE_CLIENT_CERTIFICATE_PATH")
        if not cert_path:
            raise AuthError(
                "method certificate needs a certificate",
                hint="set auth.certificate_path(_env) or AZURE_CLIENT_CERTIFICATE_PATH",
            )
    if method == "federated":
        fed_file = fed_file or environ.get("AZURE_FEDERATED_TOKEN_FILE")
        if not fed_file and not environ.get("ACTIONS_ID_TOKEN_REQUEST_URL"):
            raise AuthError(
                "method federated needs a token",
                hint="set auth.federated_token_file(_env) or AZURE_FEDERATED_TOKEN_FILE, or run in "
                "GitHub Actions with 'permissions: id-token: write'",
            )
    return Credential(
        method=method,
        client_id=client_id,
        tenant_id=tenant_id,
        purpose=purpose,
        certificate_path=cert_path,
        certificate_password_env=conf.get("certificate_password_env"),
        client_secret_env=str(secret_env) if secret_env else None,
        federated_token_file=fed_file,
    )


def _path_ref(conf: Mapping[str, Any], key: str, environ: Mapping[str, str]) -> str | None:
    if conf.get(key):
        return str(conf[key])
    var = conf.get(f"{key}_env")
    if not var:
        return None
    value = environ.get(str(var))
    if not value:
        raise AuthError(f"environment variable {var} is not set ({key}_env in tenant.yaml)")
    return value
