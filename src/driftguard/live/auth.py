"""App-only (or device-code) tokens for the Exchange admin API: the only module importing msal.

Configuration comes from ``tenant.yaml`` ``auth:`` references (names of environment variables and
paths, never secrets) and the usual ``AZURE_*`` variables; see :func:`credential_for`. Secrets are
read at the moment msal needs them and never enter a message, a log record or a ``repr``: every
text built from a service answer passes through :meth:`MsalTokenProvider.redact` first.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote

from driftguard.errors import AuthError
from driftguard.live.clouds import ResolvedEndpoints
from driftguard.model import TenantConfig

if TYPE_CHECKING:
    import requests

Method = Literal["certificate", "secret", "federated", "device_code"]
METHODS: tuple[Method, ...] = ("certificate", "secret", "federated", "device_code")
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"

DeviceCodePrompt = Callable[[str], None]


class TokenProvider(Protocol):
    """Gives a bearer token for the tenant's Exchange admin API; raises AuthError."""

    def token(self, *, force_refresh: bool = False) -> str: ...

    def redact(self, text: str) -> str: ...


class TokenUnavailable(AuthError):
    """The sign-in service could not be reached or answered 429/5xx: worth another try."""


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


def credential_for(
    tenant: TenantConfig,
    *,
    purpose: Literal["read", "write"] = "read",
    env: Mapping[str, str] | None = None,
    interactive: bool = False,
) -> Credential:
    """Pick the credential for ``tenant``: tenant.yaml references first, then AZURE_* variables.

    ``purpose="write"`` uses ``auth.write`` when present (its ``client_id`` defaults to the read
    one) and falls back to the read credential otherwise. Device-code sign-in is chosen without an
    explicit ``method`` only when ``interactive`` (a person at a terminal).
    """
    environ = os.environ if env is None else env
    read: Mapping[str, Any] = tenant.auth or {}
    conf: Mapping[str, Any] = read
    if purpose == "write" and isinstance(read.get("write"), Mapping):
        conf = dict(read["write"])
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


def token_provider(
    tenant: TenantConfig,
    endpoints: ResolvedEndpoints,
    session: requests.Session,
    *,
    purpose: Literal["read", "write"] = "read",
    device_code_prompt: DeviceCodePrompt | None = None,
    env: Mapping[str, str] | None = None,
) -> MsalTokenProvider:
    credential = credential_for(
        tenant, purpose=purpose, env=env, interactive=device_code_prompt is not None
    )
    return MsalTokenProvider(
        credential, endpoints, session, device_code_prompt=device_code_prompt, env=env
    )


class MsalTokenProvider:
    """Tokens from msal for one credential; the msal app is built on first use."""

    def __init__(
        self,
        credential: Credential,
        endpoints: ResolvedEndpoints,
        session: requests.Session,
        *,
        device_code_prompt: DeviceCodePrompt | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.credential = credential
        self.endpoints = endpoints
        self._session = session
        self._prompt = device_code_prompt
        self._env = os.environ if env is None else env
        self._app: Any = None
        self._secrets: list[str] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MsalTokenProvider({self.credential.label}, tenant {self.credential.tenant_id})"

    @property
    def scopes(self) -> list[str]:
        return [self.endpoints.exchange_scope]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def _remember(self, secret: str | None) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    # ----------------------------------------------------------------- tokens

    def token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            try:
                if self._app is None:
                    self._app = self._build_app()
                result = self._acquire(force_refresh)
            except AuthError:
                raise
            except Exception as exc:
                raise self._transport_error(exc) from None
        return self._access_token(result)

    def _acquire(self, force_refresh: bool) -> Mapping[str, Any]:
        app = self._app
        if self.credential.method != "device_code":
            if force_refresh:
                app.remove_tokens_for_client()
            result: Mapping[str, Any] = app.acquire_token_for_client(scopes=self.scopes)
            return result
        accounts = app.get_accounts()
        if accounts:
            silent = app.acquire_token_silent(
                self.scopes, account=accounts[0], force_refresh=force_refresh
            )
            if silent and "access_token" in silent:
                return dict(silent)
        return self._device_flow(app)

    def _device_flow(self, app: Any) -> Mapping[str, Any]:
        if self._prompt is None:
            raise AuthError(
                f"{self._where}: device-code sign-in needs a person at a terminal",
                hint="run interactively, or configure a certificate, secret or federated token",
            )
        flow = app.initiate_device_flow(scopes=self.scopes)
        if "user_code" not in flow:
            return dict(flow)
        self._prompt(str(flow.get("message") or ""))
        result: Mapping[str, Any] = app.acquire_token_by_device_flow(flow)
        return result

    def _access_token(self, result: Mapping[str, Any]) -> str:
        token = result.get("access_token")
        if isinstance(token, str) and token:
            self._remember(token)
            return token
        raise self._error_from(result)

    # ----------------------------------------------------------------- msal app

    def _build_app(self) -> Any:
        import msal

        cred = self.credential
        common: dict[str, Any] = {
            "authority": self.endpoints.authority(cred.tenant_id),
            "http_client": self._session,
        }
        if self.endpoints.authority_overridden:
            common["instance_discovery"] = False
        if cred.method == "device_code":
            return msal.PublicClientApplication(cred.client_id, **common)
        client_credential: Any
        if cred.method == "certificate":
            client_credential = self._certificate()
        elif cred.method == "secret":
            client_credential = self._secret()
        else:
            client_credential = {"client_assertion": self._federated_assertion}
        return msal.ConfidentialClientApplication(
            cred.client_id, client_credential=client_credential, **common
        )

    def _secret(self) -> str:
        var = self.credential.client_secret_env or "AZURE_CLIENT_SECRET"
        secret = self._env.get(var)
        if not secret:
            raise AuthError(
                f"{self._where}: environment variable {var} with the client secret is not set"
            )
        self._remember(secret)
        return secret

    def _password(self) -> bytes | None:
        var = self.credential.certificate_password_env
        if var:
            value = self._env.get(var)
            if not value:
                raise AuthError(
                    f"{self._where}: environment variable {var} with the certificate password "
                    "is not set"
                )
        else:
            value = self._env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD") or None
        self._remember(value)
        return value.encode("utf-8") if value else None

    def _certificate(self) -> dict[str, Any]:
        from driftguard.live.certs import load_certificate_file

        path = Path(str(self.credential.certificate_path))
        try:
            loaded = load_certificate_file(path, self._password())
        except AuthError as exc:
            raise AuthError(f"{self._where}: {exc.message}", hint=exc.hint) from None
        # msal signs with the key object as given (PyJWT accepts it), so it is parsed only once.
        return {"private_key": loaded.private_key, "public_certificate": loaded.certificate_pem}

    def _federated_assertion(self) -> str:
        path = self.credential.federated_token_file
        if path:
            try:
                assertion = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise AuthError(
                    f"{self._where}: cannot read federated token file {path}: {exc.strerror}"
                ) from None
        else:
            assertion = self._github_oidc_token()
        if not assertion:
            raise AuthError(f"{self._where}: the federated token is empty")
        self._remember(assertion)
        return assertion

    def _github_oidc_token(self) -> str:
        url = self._env.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
        bearer = self._env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
        self._remember(bearer)
        hint = "the workflow (or job) needs 'permissions: id-token: write'"
        if not url or not bearer:
            raise AuthError(f"{self._where}: no GitHub Actions OIDC token available", hint=hint)
        sep = "&" if "?" in url else "?"
        full = f"{url}{sep}audience={quote(FEDERATED_AUDIENCE, safe='')}"
        try:
            resp = self._session.get(full, headers={"Authorization": f"bearer {bearer}"})
        except Exception as exc:
            raise TokenUnavailable(
                f"{self._where}: could not reach the GitHub Actions OIDC endpoint "
                f"({type(exc).__name__})",
                hint=hint,
            ) from None
        try:
            value = resp.json().get("value") if resp.status_code == 200 else None
        except ValueError:
            value = None
        if not isinstance(value, str) or not value:
            raise AuthError(
                f"{self._where}: the GitHub Actions OIDC endpoint answered HTTP "
                f"{resp.status_code} without a token",
                hint=hint,
            )
        return value

    # ----------------------------------------------------------------- errors

    @property
    def _where(self) -> str:
        return f"{self.credential.label}"

    def _error_from(self, result: Mapping[str, Any]) -> AuthError:
        from driftguard.live.aadsts import hint_for

        error = str(result.get("error") or "no access token")
        description = str(result.get("error_description") or "")
        codes = [int(c) for c in result.get("error_codes") or [] if isinstance(c, int)]
        codes += [int(c) for c in re.findall(r"AADSTS(\d+)", description)]
        first = description.strip().splitlines()[0] if description.strip() else ""
        text = self.redact(_short(first, 240))
        message = (
            f"sign-in failed for tenant {self.credential.tenant_id} "
            f"({self.credential.label}): {error}" + (f": {text}" if text else "")
        )
        cls = TokenUnavailable if error in {"temporarily_unavailable"} else AuthError
        return cls(self.redact(message), hint=hint_for(codes, error, description))

    def _transport_error(self, exc: Exception) -> AuthError:
        import requests

        from driftguard.live.aadsts import hint_for

        host = self.endpoints.authority_host
        if isinstance(exc, requests.exceptions.SSLError):
            return AuthError(
                f"TLS verification failed for the sign-in service {host}",
                hint="check the endpoints.ca_bundle setting or the proxy's certificate",
            )
        if isinstance(exc, requests.RequestException):
            return TokenUnavailable(
                f"could not reach the sign-in service {host} for tenant "
                f"{self.credential.tenant_id}: {type(exc).__name__}",
                hint="check the network, proxy settings and the tenant's cloud",
            )
        text = self.redact(str(exc))
        codes = [int(c) for c in re.findall(r"AADSTS(\d+)", text)]
        status = re.search(r"HTTP (?:status: |Error: )?(\d{3})", text)
        if status and (status.group(1) == "429" or status.group(1).startswith("5")):
            return TokenUnavailable(
                f"the sign-in service {host} answered HTTP {status.group(1)} for tenant "
                f"{self.credential.tenant_id}"
            )
        if "OIDC Discovery failed" in text or "authority" in text.lower():
            return AuthError(
                f"the sign-in service {host} does not know tenant {self.credential.tenant_id}"
                + (f" (AADSTS{codes[0]})" if codes else ""),
                hint=hint_for(codes or [90002], "invalid_tenant", text),
            )
        return AuthError(
            f"sign-in failed for tenant {self.credential.tenant_id} "
            f"({self.credential.label}): {type(exc).__name__}: {_short(text, 200)}",
            hint=hint_for(codes, "", text),
        )


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
