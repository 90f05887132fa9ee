"""The requests.Session every live call goes through (msal's sign-in requests included).

requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` override ``Session.verify``; only a
``verify=`` given per request wins over them. This session therefore passes the tenant's CA bundle
(when it has one) and a default timeout on every request, including the ones msal makes, while
``trust_env`` stays on so users' proxy settings still apply.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

DEFAULT_TIMEOUT = (15.0, 120.0)  # connect, read (seconds)


class PinnedSession(requests.Session):
    """A Session that fills in ``verify`` and ``timeout`` on each request unless given."""

    def __init__(
        self,
        ca_bundle: str | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        pool_size: int = 4,
    ) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle
        self.default_timeout = timeout
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

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
