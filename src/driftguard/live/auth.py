"""App-only (or device-code) tokens for the Exchange admin API: the only module importing msal.

Configuration comes from ``tenant.yaml`` ``auth:`` references (names of environment variables and
paths, never secrets) and the usual ``AZURE_*`` variables; see :func:`credential_for`. Secrets are
read at the moment msal needs them and never enter a message, a log record or a ``repr``: every
text built from a service answer passes through :meth:`MsalTokenProvider.redact` first.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote

from driftguard.errors import AuthError
from driftguard.live import waits
from driftguard.live.clouds import ResolvedEndpoints
from driftguard.live.credentials import METHODS, Credential, Method, credential_for
from driftguard.model import TenantConfig

if TYPE_CHECKING:
    import requests

__all__ = [
    "METHODS",
    "Credential",
    "DeviceCodePrompt",
    "Method",
    "MsalTokenProvider",
    "TokenProvider",
    "TokenUnavailable",
    "credential_for",
    "token_provider",
]

FEDERATED_AUDIENCE = "api://AzureADTokenExchange"

DeviceCodePrompt = Callable[[str], None]


class TokenProvider(Protocol):
    """Gives a bearer token for the tenant's Exchange admin API; raises AuthError."""

    def token(self, *, force_refresh: bool = False) -> str: ...

    def redact(self, text: str) -> str: ...


class TokenUnavailable(AuthError):
    """The sign-in service could not be reached or answered 429/5xx: worth another try."""


def _device_flow_over(flow: Mapping[str, Any]) -> bool:
    """Stop polling when the code expired (msal's own condition) or the run was interrupted."""
    expires_at = flow.get("expires_at", 0)
    expired = isinstance(expires_at, int | float) and expires_at < time.time()
    return expired or waits.cancelled()


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
        # msal polls once a second for this condition: Ctrl-C ends the wait for the person
        result: Mapping[str, Any] = app.acquire_token_by_device_flow(
            flow, exit_condition=_device_flow_over
        )
        waits.check()
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

        _optional_msal_extensions_checked_once()
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
        from driftguard.live.http import json_body

        try:
            value = json_body(resp.content).get("value") if resp.status_code == 200 else None
        except (ValueError, AttributeError):
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

        error = _short(self.redact(str(result.get("error") or "no access token")), 100)
        description = str(result.get("error_description") or "")
        codes = [int(c) for c in result.get("error_codes") or [] if isinstance(c, int)]
        codes += [int(c) for c in re.findall(r"AADSTS(\d+)", description)]
        first = description.strip().splitlines()[0] if description.strip() else ""
        text = _short(self.redact(first), 240)  # redacted before the cut, never after
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
            from driftguard.live.transport import ResponseTooLarge
            from driftguard.live.wire import transport_kind

            if isinstance(exc, ResponseTooLarge):  # not worth another try: it would be as large
                return AuthError(
                    f"the sign-in service {host} answered too much for tenant "
                    f"{self.credential.tenant_id}: {transport_kind(exc)}",
                    hint="check the tenant's cloud and endpoints: this is not Entra ID's answer",
                )
            return TokenUnavailable(
                f"could not reach the sign-in service {host} for tenant "
                f"{self.credential.tenant_id}: {transport_kind(exc)}",
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


@functools.cache
def _optional_msal_extensions_checked_once() -> None:
    """msal tries ``import msal_extensions`` (an optional package) in every application it builds;
    when the package is absent, each try searches sys.path again under the import lock, which
    costs CPU per tenant and makes concurrent reads wait on each other. msal 1.39 has no switch for
    it. A None entry in sys.modules makes a failed import fail at once (the import system's own
    convention), so it is put there once, and only when the package is truly not installed."""
    import importlib.util

    if "msal_extensions" not in sys.modules and importlib.util.find_spec("msal_extensions") is None:
        sys.modules.setdefault("msal_extensions", None)  # type: ignore[arg-type]


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
