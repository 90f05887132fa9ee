"""Sign-in kept from one sweep to the next.

Every other command builds a fresh msal application per tenant read, so each read costs three
requests: the tenant's OpenID discovery, a token, the read itself. A watch reads the same tenants
every few minutes; keeping each tenant's application keeps its discovered endpoints and its token
cache, so a sweep costs one request per tenant until the token nears expiry (msal renews it then).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from driftguard.live.auth import DeviceCodePrompt, TokenProvider, token_provider
from driftguard.model import TenantConfig

if TYPE_CHECKING:
    import requests

    from driftguard.live.clouds import ResolvedEndpoints


class KeptTokens:
    """A TokenFactory (live.service) that builds one provider per tenant and credential, then
    hands the same one out. The provider keeps the session it was built with: give the source a
    session factory whose sessions outlive a read (PooledSessions shares one connection pool)."""

    def __init__(self, device_code_prompt: DeviceCodePrompt | None = None) -> None:
        self._prompt = device_code_prompt
        self._kept: dict[str, TokenProvider] = {}
        self._lock = threading.Lock()

    def __call__(
        self,
        tenant: TenantConfig,
        endpoints: ResolvedEndpoints,
        session: requests.Session,
        purpose: str,
    ) -> TokenProvider:
        key = _key(tenant, endpoints, purpose)
        with self._lock:
            provider = self._kept.get(key)
        if provider is not None:
            return provider
        built = token_provider(
            tenant,
            endpoints,
            session,
            purpose="write" if purpose == "write" else "read",
            device_code_prompt=self._prompt,
        )
        with self._lock:
            return self._kept.setdefault(key, built)

    def forget_all_but(self, tenants: set[str]) -> None:
        """Drop the providers of tenants no longer watched (a baseline change removed them)."""
        with self._lock:
            for key in [k for k in self._kept if json.loads(k)[0] not in tenants]:
                del self._kept[key]


def _key(tenant: TenantConfig, endpoints: ResolvedEndpoints, purpose: str) -> str:
    """Which provider: a change of tenant id, credential or sign-in host builds a new one."""
    parts: list[Any] = [
        tenant.name,
        tenant.tenant_id,
        purpose,
        endpoints.authority_host,
        dict(tenant.auth),
    ]
    return json.dumps(parts, sort_keys=True, default=str)
