"""A small Microsoft Graph reader for the investigation (audit queries, message trace, alerts).

Same rules as the Exchange client: https only, the bearer token goes only to the tenant's Graph
host (an ``@odata.nextLink`` elsewhere is refused, not followed), throttling is retried with
``Retry-After`` under a cap, and anything partial is an error, never a shorter list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from driftguard.errors import AuthError, ServiceError, TruncatedReadError
from driftguard.live import waits, wire
from driftguard.live.clouds import CLOUDS, ResolvedEndpoints
from driftguard.live.http import json_body

if TYPE_CHECKING:
    import requests

    from driftguard.live.auth import TokenProvider
    from driftguard.model import TenantConfig

_RETRY = {429, 500, 502, 503, 504}


class NotFoundError(ServiceError):
    """Graph answered 404: the object asked for does not exist (a fact, not a failed read)."""


def graph_scope(cloud: str) -> str:
    """The Graph resource of the tenant's cloud (tokens name the cloud's resource, not an
    overridden host, as for Exchange)."""
    return f"https://{CLOUDS[cloud].graph_host}/.default"


class GraphClient:
    def __init__(
        self,
        session: requests.Session,
        host: str,
        tokens: TokenProvider,
        *,
        ca_bundle: str | None = None,
        sleep: Callable[[float], None] = waits.pause,
        max_attempts: int = 5,
        max_pages: int = 2000,
        timeout: float = 120.0,
        deadline: float = 900.0,
    ) -> None:
        self._session = session
        self.host = host.lower()
        self._tokens = tokens
        self._verify: str | bool = ca_bundle or True
        self._sleep = sleep
        self.max_attempts = max_attempts
        self.max_pages = max_pages
        self.timeout = timeout
        self.deadline = deadline  # seconds for one request, its retries included

    def __repr__(self) -> str:
        return f"GraphClient(https://{self.host})"

    def access_token(self) -> str:
        """The bearer token this client sends (doctor reads its claims; never shown)."""
        return self._tokens.token()

    def url(self, path: str) -> str:
        return f"https://{self.host}{path}"

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._request("GET", self.url(path), params=params)

    def post(
        self, path: str, body: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """``timeout``: seconds for one answer when the operation's own limit is longer than
        the client's (an advanced hunting query may run 200 s); the deadline still bounds all."""
        return self._request("POST", self.url(path), body=body, timeout=timeout)

    def patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """An update; Graph answers 204 with no body (returned as ``{}``)."""
        return self._request("PATCH", self.url(path), body=body)

    def pages(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's ``value``, following ``@odata.nextLink`` on the same host only."""
        url: str | None = self.url(path)
        count = 0
        while url:
            count += 1
            if count > self.max_pages:
                raise TruncatedReadError(f"Graph: more than {self.max_pages} pages of {path}")
            payload = self._request("GET", url, params=params if count == 1 else None)
            yield wire.envelope_value(payload, f"Graph: GET {path}", self._tokens.redact)
            link = payload.get("@odata.nextLink")
            url = self._same_host(link, path) if link else None

    def _same_host(self, link: Any, path: str) -> str:
        parts = urlsplit(str(link))
        if parts.scheme != "https" or parts.netloc.lower() != self.host:
            raise TruncatedReadError(
                f"Graph: the next page of {path} is on another host ({parts.netloc or '?'}); "
                "not following it with the token, so the result is incomplete"
            )
        return str(link)

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        from driftguard.live.transport import time_limit

        with time_limit(self.deadline):
            return self._attempts(method, url, params, body, timeout or self.timeout)

    def _attempts(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        timeout: float,
    ) -> dict[str, Any]:
        import requests

        refreshed = False
        path = urlsplit(url).path
        for attempt in range(1, self.max_attempts + 1):
            token = self._tokens.token(force_refresh=refreshed)
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
            }
            try:
                resp = self._session.request(
                    method,
                    url,
                    params=dict(params) if params else None,
                    json=dict(body) if body is not None else None,
                    headers=headers,
                    verify=self._verify,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                retry = method == "GET" and attempt < self.max_attempts and _retryable(exc)
                if retry and self._waited(min(2.0**attempt, 30.0)):
                    continue
                raise ServiceError(
                    f"Graph: {method} {path} failed: {wire.transport_kind(exc)} talking to "
                    f"{self.host}"
                ) from None
            if resp.status_code == 401 and not refreshed:
                refreshed = True
                continue
            if (
                resp.status_code in _RETRY
                and attempt < self.max_attempts
                and self._waited(_retry_after(resp.headers.get("Retry-After"), attempt))
            ):
                continue
            if resp.status_code in (401, 403):
                detail = self._message(resp, token)
                raise GraphAuthError(
                    resp.status_code,
                    detail,
                    f"Graph: {method} {path} was refused ({resp.status_code}): {detail}",
                    hint="the app needs the Graph application permission for this evidence "
                    "(AuditLogsQuery-Exchange.Read.All, ExchangeMessageTrace.Read.All or "
                    "SecurityAlert.Read.All) with admin consent; or leave the source out "
                    "with --skip alerts (or the Exchange source for audit and trace)",
                )
            if resp.status_code == 404:
                detail = self._message(resp, token)
                raise NotFoundError(f"Graph: {method} {path} answered 404: {detail}")
            if resp.status_code >= 300:
                detail = self._message(resp, token)
                raise GraphStatusError(
                    resp.status_code,
                    detail,
                    f"Graph: {method} {path} answered {resp.status_code}: {detail}",
                )
            if resp.status_code == 204:
                return {}
            try:
                payload = json_body(resp.content)
            except ValueError:
                raise ServiceError(f"Graph: {method} {path} answered with non-JSON") from None
            return wire.checked_payload(payload, f"Graph: {method} {path}", self._tokens.redact)
        raise ServiceError(f"Graph: {method} {path} kept failing after {self.max_attempts} tries")

    def _waited(self, delay: float) -> bool:
        """Sleep ``delay`` before another try, unless it would end past the deadline."""
        from driftguard.live.transport import remaining

        left = remaining()
        if left is not None and delay >= left:
            return False
        self._sleep(delay)
        return True

    def _message(self, resp: requests.Response, token: str) -> str:
        """The service's error text: secrets redacted first, then one printable line, bounded."""
        try:
            error = json_body(resp.content).get("error", {})
            text = str(error.get("message") or error.get("code") or "")
        except (ValueError, AttributeError):
            text = ""
        text = self._tokens.redact(text.replace(token, "***") if token else text)
        text = "".join(ch for ch in text if ch.isprintable())[:200]
        return text or (resp.reason or "")[:100] or "no detail"


class GraphAuthError(AuthError):
    """A 401 or 403 answer; ``detail`` is the service's message (redacted, one line)."""

    def __init__(self, status: int, detail: str, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.detail = detail


class GraphStatusError(ServiceError):
    """Any other answer of 300 or more (after retries); ``detail`` as for ``GraphAuthError``."""

    def __init__(self, status: int, detail: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


def _retryable(exc: Exception) -> bool:
    """A transport failure worth another try (an answer past the size limit would only be
    refused again; one cut off at the deadline fails at once on a retry)."""
    from driftguard.live.transport import ResponseTooLarge

    return not isinstance(exc, ResponseTooLarge)


def _retry_after(value: str | None, attempt: int) -> float:
    try:
        return min(max(float(value or ""), 0.0), 120.0)
    except ValueError:
        return min(2.0**attempt, 30.0)


def graph_client(
    tenant: TenantConfig,
    endpoints: ResolvedEndpoints,
    session: requests.Session,
    *,
    sleep: Callable[[float], None] = waits.pause,
    deadline: float = 900.0,
    purpose: Literal["read", "graph_write"] = "read",
) -> GraphClient:
    """A Graph client with a Graph-scoped token from the tenant's read credential (or, for
    containment, its separate Graph write credential)."""
    from driftguard.live.auth import MsalTokenProvider, credential_for

    scope = graph_scope(endpoints.cloud)

    class _GraphTokens(MsalTokenProvider):
        @property
        def scopes(self) -> list[str]:
            return [scope]

    tokens = _GraphTokens(credential_for(tenant, purpose=purpose), endpoints, session)
    return GraphClient(
        session,
        endpoints.graph_host,
        tokens,
        ca_bundle=endpoints.ca_bundle,
        sleep=sleep,
        deadline=deadline,
    )
