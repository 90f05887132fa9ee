"""The requests.Session every live call goes through (msal's sign-in requests included).

requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` override ``Session.verify``; only a
``verify=`` given per request wins over them. This session therefore passes the tenant's CA bundle
(when it has one) and a default timeout on every request, including the ones msal makes, while
``trust_env`` stays on so users' proxy settings still apply.

Many tenants are read through the same few hosts (the sign-in service and the admin API), so the
sessions of one run may share one connection pool (``shared_adapter``): TLS connections are reused
across tenants while each tenant keeps its own session (cookies, msal state). Closing such a
session leaves the shared pool open for the others.

Every answer is bounded in wall time and decoded size by the transport (transport.py), and every
answer body is parsed as JSON by one function, ``json_body``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import requests
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting

from driftguard.live.transport import DEFAULT_TIMEOUT, BoundedAdapter

if TYPE_CHECKING:
    from requests.sessions import _Settings

_merge = cast(Callable[[Any, Any], Any], merge_setting)

_PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy", "no_proxy")


def _proxy_env_set() -> bool:
    environ = os.environ
    return any(environ.get(v) or environ.get(v.upper()) for v in _PROXY_VARS)


class _HeadersOnly(requests.auth.AuthBase):
    """Session auth that leaves requests as they are: the Authorization header we set is final
    (requests would otherwise let a ~/.netrc entry for the host replace the bearer token)."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class PinnedSession(requests.Session):
    """A Session that fills in ``verify`` and ``timeout`` on each request unless given."""

    def __init__(
        self,
        ca_bundle: str | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        pool_size: int = 4,
        adapter: HTTPAdapter | None = None,
    ) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle
        self.default_timeout = timeout
        self.auth = _HeadersOnly()
        self._shared = adapter is not None
        if adapter is None:
            adapter = shared_adapter(pool_size)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        """As requests does, minus its scan of the whole environment for proxy variables when
        none is set (about a millisecond per request, which adds up over many tenants)."""
        if not self.trust_env or _proxy_env_set():
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is True or verify is None:
            env_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            verify = env_bundle or verify
        settings = {
            "proxies": _merge(proxies, self.proxies),
            "stream": _merge(stream, self.stream),
            "verify": _merge(verify, self.verify),
            "cert": _merge(cert, self.cert),
        }
        return cast("_Settings", settings)

    def close(self) -> None:
        if not self._shared:
            super().close()

    @property
    def verify_value(self) -> str | bool:
        return self.ca_bundle or True

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.verify_value
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def make_session(ca_bundle: str | None = None, **kwargs: Any) -> PinnedSession:
    return PinnedSession(ca_bundle, **kwargs)


def shared_adapter(pool_size: int) -> HTTPAdapter:
    """A bounded transport whose pool keeps up to ``pool_size`` connections per host (no
    retries: the client decides what is safe to retry)."""
    return BoundedAdapter(pool_connections=8, pool_maxsize=pool_size)


def json_body(content: bytes | str) -> Any:
    """The parsed JSON of an answer body (ValueError when it is not JSON): every body the live
    clients read is parsed here, so one place decides what JSON is accepted: strictly (jsonsafe),
    so a duplicate key, a huge number or a document nested too deep is not JSON to us either."""
    from driftguard import jsonsafe
    from driftguard.errors import JsonError

    try:
        return jsonsafe.loads(content, source="the answer")
    except JsonError as exc:
        raise ValueError(exc.detail) from exc
