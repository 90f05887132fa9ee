"""Endpoints per Microsoft cloud (EXCHANGE.md "Clouds"), plus the per-tenant overrides.

Tokens are requested for the cloud's Exchange resource, ``https://<cloud's exchange host>/.default``
(the table's admin host); an ``exchange_host`` override changes where requests go (the simulator,
a regional host), not the audience the token is issued for. Redirects of the admin API are
followed only to hosts equal to or under ``exchange_domain``. Overrides (``tenant.yaml``
``endpoints:``) point the same code at the simulator in tests.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from driftguard.errors import InputError
from driftguard.model import TenantConfig


@dataclass(frozen=True)
class Cloud:
    """The public endpoints of one Microsoft cloud."""

    name: str
    authority_host: str
    exchange_host: str
    graph_host: str
    exchange_domain: str


CLOUDS: dict[str, Cloud] = {
    "global": Cloud(
        "global",
        authority_host="login.microsoftonline.com",
        exchange_host="outlook.office365.com",
        graph_host="graph.microsoft.com",
        exchange_domain="office365.com",
    ),
    "gcc-high": Cloud(
        "gcc-high",
        authority_host="login.microsoftonline.us",
        exchange_host="outlook.office365.us",
        graph_host="graph.microsoft.us",
        exchange_domain="office365.us",
    ),
    # UNVERIFIED host (EXCHANGE.md); tenants served from webmail.apps.mil override exchange_host
    # and exchange_domain in tenant.yaml.
    "dod": Cloud(
        "dod",
        authority_host="login.microsoftonline.us",
        exchange_host="outlook-dod.office365.us",
        graph_host="dod-graph.microsoft.us",
        exchange_domain="office365.us",
    ),
    "china": Cloud(
        "china",
        authority_host="login.chinacloudapi.cn",
        exchange_host="partner.outlook.cn",
        graph_host="microsoftgraph.chinacloudapi.cn",
        exchange_domain="outlook.cn",
    ),
}


@dataclass(frozen=True)
class ResolvedEndpoints:
    """Where one tenant's requests go, after applying its overrides to its cloud's defaults.

    Hosts are ``host`` or ``host:port`` (no scheme); every URL built from them is https.
    """

    cloud: str
    authority_host: str
    exchange_host: str
    graph_host: str
    exchange_domain: str
    ca_bundle: str | None = None
    authority_overridden: bool = False
    resource_host: str = ""  # the audience's host; defaults to exchange_host

    @property
    def exchange_resource(self) -> str:
        return f"https://{self.resource_host or self.exchange_host}"

    def authority(self, tenant_id: str) -> str:
        return f"https://{self.authority_host}/{tenant_id}"

    @property
    def exchange_scope(self) -> str:
        return f"{self.exchange_resource}/.default"

    @property
    def exchange_base(self) -> str:
        return f"https://{self.exchange_host}"

    def invoke_url(self, tenant_id: str) -> str:
        return f"https://{self.exchange_host}/adminapi/beta/{tenant_id}/InvokeCommand"

    def is_exchange_host(self, hostname: str) -> bool:
        """True when ``hostname`` (no port) is the cloud's Exchange domain or a host under it."""
        host = hostname.lower().rstrip(".")
        domain = self.exchange_domain.lower().rstrip(".")
        return host == domain or host.endswith("." + domain)


def cloud_named(name: str) -> Cloud:
    try:
        return CLOUDS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(CLOUDS), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(CLOUDS)}"
        raise InputError(f"unknown cloud '{name}'", hint=hint) from None


def resolve(tenant: TenantConfig) -> ResolvedEndpoints:
    """The endpoints for ``tenant``: its cloud's table entry with its ``endpoints:`` overrides."""
    cloud = cloud_named(tenant.cloud)
    ov = tenant.endpoints
    exchange_host = _host(ov.exchange_host) or cloud.exchange_host
    if ov.exchange_domain:
        exchange_domain = ov.exchange_domain.lower().strip(".")
    elif ov.exchange_host:
        # An overridden admin host without a domain: redirects only to that very host.
        exchange_domain = exchange_host.rsplit(":", 1)[0].lower()
    else:
        exchange_domain = cloud.exchange_domain
    authority_host = _host(ov.authority_host) or cloud.authority_host
    return ResolvedEndpoints(
        cloud=cloud.name,
        authority_host=authority_host,
        exchange_host=exchange_host,
        graph_host=_host(ov.graph_host) or cloud.graph_host,
        exchange_domain=exchange_domain,
        ca_bundle=ov.ca_bundle or None,
        authority_overridden=authority_host != cloud.authority_host,
        resource_host=cloud.exchange_host,
    )


def _host(value: str | None) -> str | None:
    """Accept ``host``, ``host:port`` or a URL; keep ``host[:port]`` lowercased."""
    if not value:
        return None
    text = value.strip()
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    return text.split("/", 1)[0].lower() or None
