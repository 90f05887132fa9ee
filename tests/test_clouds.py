"""Cloud endpoints (EXCHANGE.md table) and per-tenant overrides: hosts, token scopes, domains."""

from __future__ import annotations

import pytest

from driftguard.errors import InputError
from driftguard.live.clouds import CLOUDS, resolve
from driftguard.model import Endpoints, TenantConfig

TID = "00000000-0000-0000-0000-0000000000aa"

EXPECTED = {
    # cloud: (authority, admin host = scope host, graph, redirect domain)
    "global": (
        "login.microsoftonline.com",
        "outlook.office365.com",
        "graph.microsoft.com",
        "office365.com",
    ),
    "gcc-high": (
        "login.microsoftonline.us",
        "outlook.office365.us",
        "graph.microsoft.us",
        "office365.us",
    ),
    "dod": (
        "login.microsoftonline.us",
        "outlook-dod.office365.us",
        "dod-graph.microsoft.us",
        "office365.us",
    ),
    "china": (
        "login.chinacloudapi.cn",
        "partner.outlook.cn",
        "microsoftgraph.chinacloudapi.cn",
        "outlook.cn",
    ),
}


@pytest.mark.parametrize("cloud", sorted(EXPECTED))
def test_every_cloud_maps_to_its_endpoints_and_scope(cloud: str) -> None:
    authority, exchange, graph, domain = EXPECTED[cloud]
    ep = resolve(TenantConfig(name="t", tenant_id=TID, cloud=cloud))
    assert ep.authority(TID) == f"https://{authority}/{TID}"
    assert ep.exchange_scope == f"https://{exchange}/.default"
    assert ep.invoke_url(TID) == f"https://{exchange}/adminapi/beta/{TID}/InvokeCommand"
    assert ep.graph_host == graph
    assert ep.exchange_domain == domain
    assert ep.is_exchange_host(exchange)
    assert ep.is_exchange_host(f"nampr01.{domain}")
    assert not ep.is_exchange_host(f"evil{domain}")
    assert not ep.is_exchange_host("graph.microsoft.com")
    assert not ep.authority_overridden
    assert ep.ca_bundle is None


def test_the_table_covers_exactly_the_documented_clouds() -> None:
    assert set(CLOUDS) == set(EXPECTED)


def test_overrides_move_requests_but_not_the_token_audience() -> None:
    ep = resolve(
        TenantConfig(
            name="t",
            tenant_id=TID,
            cloud="gcc-high",
            endpoints=Endpoints(
                authority_host="https://LOCALHOST:8443/",
                exchange_host="localhost:8443",
                ca_bundle="/x/ca.pem",
            ),
        )
    )
    assert ep.authority(TID) == f"https://localhost:8443/{TID}"
    assert ep.authority_overridden
    assert ep.invoke_url(TID).startswith("https://localhost:8443/adminapi/beta/")
    assert ep.exchange_scope == "https://outlook.office365.us/.default"
    # without exchange_domain, redirects may only go to the overridden host itself
    assert ep.exchange_domain == "localhost"
    assert ep.ca_bundle == "/x/ca.pem"


def test_exchange_domain_override() -> None:
    ep = resolve(
        TenantConfig(
            name="t",
            tenant_id=TID,
            cloud="dod",
            endpoints=Endpoints(exchange_host="webmail.apps.mil", exchange_domain="apps.mil."),
        )
    )
    assert ep.is_exchange_host("webmail.apps.mil")
    assert ep.is_exchange_host("x.apps.mil")
    assert not ep.is_exchange_host("outlook-dod.office365.us")


def test_unknown_cloud_suggests_the_closest() -> None:
    with pytest.raises(InputError, match="unknown cloud 'gcc-hihg'") as info:
        resolve(TenantConfig(name="t", tenant_id=TID, cloud="gcc-hihg"))
    assert info.value.hint == "did you mean 'gcc-high'?"
