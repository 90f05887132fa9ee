"""The demo tenant is a transport, not a name: a tenant whose Exchange endpoint is the demo host
(``endpoints: exchange_host: demo.driftguard.invalid`` in its tenant.yaml, as the packaged demo
baseline has) is served by the simulator in-process, through the real msal + requests client.

This is the one product module outside ``driftguard.sim`` that imports it (a test scans for
others). The demo's certificates and state live in the per-user data folder; the effective tenant
configuration (its credentials there) comes from the simulator, under the baseline's name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from driftguard.errors import LiveReadError, OutputError
from driftguard.model import TenantConfig

if TYPE_CHECKING:
    import requests

    from driftguard.live.clouds import ResolvedEndpoints
    from driftguard.live.service import ExchangeSource

DEMO_HOST = "demo.driftguard.invalid"


def is_demo(config: TenantConfig) -> bool:
    """Whether ``config``'s admin API host is the demo host."""
    from driftguard.live.clouds import resolve

    return resolve(config).exchange_host.rstrip(".") == DEMO_HOST


@dataclass(frozen=True)
class DemoTransport:
    """The in-process service for one demo tenant: its effective configuration and session."""

    tenant: TenantConfig
    session: requests.Session

    def sessions(self, _endpoints: ResolvedEndpoints) -> requests.Session:
        """A session factory: every request reaches the in-process simulator."""
        return self.session


def transport(config: TenantConfig) -> DemoTransport:
    """The demo service for ``config`` (a demo tenant), or a LiveReadError saying its data
    folder is unusable."""
    from driftguard.sim.inprocess import demo_environment

    try:
        env = demo_environment()
    except (OSError, OutputError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise LiveReadError(
            f"cannot prepare the demo tenant's data folder: {detail}",
            tenant=config.name,
            hint="set XDG_DATA_HOME to a writable folder",
        ) from None
    endpoints = dataclasses.replace(env.tenant.endpoints, graph_host=DEMO_HOST)
    tenant = dataclasses.replace(env.tenant, name=config.name, endpoints=endpoints)
    return DemoTransport(tenant, env.session)


def source_for(config: TenantConfig, source: ExchangeSource) -> tuple[ExchangeSource, TenantConfig]:
    """``source`` and ``config`` as they are, or, for a demo tenant, ``source`` on the demo's
    in-process transport with the demo's effective configuration."""
    if not is_demo(config):
        return source, config
    demo = transport(config)
    return dataclasses.replace(source, session_factory=demo.sessions), demo.tenant
