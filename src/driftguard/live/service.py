"""ExchangeSource: the live service behind the Source seam, one tenant at a time.

Each read builds its own session, token provider and client, so tenants never share state and can
be read in parallel (runner.py). Every error names the tenant it belongs to.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from driftguard.errors import DriftguardError, LiveReadError
from driftguard.live import clouds
from driftguard.live.auth import DeviceCodePrompt, TokenProvider
from driftguard.live.throttle import AppBudget
from driftguard.model import Snapshot, TenantConfig

if TYPE_CHECKING:
    import requests

    from driftguard.live.clouds import ResolvedEndpoints
    from driftguard.live.exchange import ExchangeClient, RetryPolicy

READ_CMDLET = "Get-InboundConnector"
READ_PARAMETERS: Mapping[str, str] = {"ResultSize": "Unlimited"}

SessionFactory = Callable[["ResolvedEndpoints"], "requests.Session"]
TokenFactory = Callable[[TenantConfig, "ResolvedEndpoints", "requests.Session", str], TokenProvider]


class PooledSessions:
    """The default session factory: a session per tenant read, all sharing one connection pool
    (sized for ``pool_size`` concurrent reads), so TLS connections are reused across tenants."""

    def __init__(self, pool_size: int = 16) -> None:
        self.pool_size = pool_size
        self._adapter: Any = None
        self._lock = threading.Lock()

    def __call__(self, endpoints: ResolvedEndpoints) -> requests.Session:
        from driftguard.live.http import make_session, shared_adapter

        with self._lock:
            if self._adapter is None:
                self._adapter = shared_adapter(self.pool_size)
        return make_session(endpoints.ca_bundle, adapter=self._adapter)

    def close(self) -> None:
        with self._lock:
            if self._adapter is not None:
                self._adapter.close()
                self._adapter = None


@dataclass(frozen=True)
class ExchangeSource:
    """Reads Get-InboundConnector (everything at once) through the admin API.

    ``session_factory`` swaps the transport (the demo uses an in-process adapter); ``tokens``
    swaps how tokens are obtained (default: msal from the tenant's auth settings).
    """

    policy: RetryPolicy | None = None
    device_code_prompt: DeviceCodePrompt | None = None
    session_factory: SessionFactory = field(default_factory=PooledSessions)
    tokens: TokenFactory | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] | None = None  # injected by tests to keep retries fast
    budget: AppBudget = field(default_factory=AppBudget)  # throttling per app, across tenants

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        with named(tenant.name), self.client(tenant) as client:
            result = client.call(READ_CMDLET, READ_PARAMETERS)
            return Snapshot(
                tenant=tenant.name,
                records=result.records,
                source=f"exchange:{client.endpoints.exchange_base}",
                taken_at=self.clock(),
                read_digest=result.digest,
            )

    @contextlib.contextmanager
    def client(
        self, tenant: TenantConfig, *, purpose: Literal["read", "write"] = "read"
    ) -> Iterator[ExchangeClient]:
        """An ExchangeClient for ``tenant`` (``purpose="write"``: the write credential)."""
        with named(tenant.name, convert=False):
            yield from self._client(tenant, purpose)

    def _client(
        self, tenant: TenantConfig, purpose: Literal["read", "write"]
    ) -> Iterator[ExchangeClient]:
        from driftguard.live import waits
        from driftguard.live.exchange import ExchangeClient

        endpoints = clouds.resolve(tenant)
        session = self.session_factory(endpoints)
        try:
            if self.tokens is not None:
                provider = self.tokens(tenant, endpoints, session, purpose)
            else:
                from driftguard.live.auth import token_provider

                provider = token_provider(
                    tenant,
                    endpoints,
                    session,
                    purpose=purpose,
                    device_code_prompt=self.device_code_prompt,
                )
            yield ExchangeClient(
                session,
                endpoints,
                tenant.tenant_id,
                provider,
                policy=self.policy,
                label=tenant.name,
                sleep=self.sleep or waits.pause,
                budget=self.budget,
                app=_app_of(provider),
            )
        finally:
            session.close()


def _app_of(provider: TokenProvider) -> str:
    """The application (client id) whose throttling a read shares: the provider's credential,
    or one shared name for token providers without one."""
    credential = getattr(provider, "credential", None)
    return str(getattr(credential, "client_id", "") or "")


@contextlib.contextmanager
def named(tenant: str, *, convert: bool = True) -> Iterator[None]:
    """Make every live error raised inside carry ``tenant`` (``.tenant``; reports print it
    first); with ``convert``, other driftguard errors become that tenant's LiveReadError."""
    try:
        yield
    except LiveReadError as exc:
        if exc.tenant is None:
            exc.tenant = tenant
        raise
    except DriftguardError as exc:
        if not convert:
            raise
        raise LiveReadError(exc.message, tenant=tenant, hint=exc.hint) from exc
