"""Which redirect targets the admin-API client follows (the token goes along) and which not.

The simulator proves the behaviour over HTTPS (tests/test_exchange_client.py); these cases are the
real-cloud host names it cannot serve: regional hosts, port 446, look-alike domains.
"""

from __future__ import annotations

import pytest
import requests

from driftguard.live.clouds import resolve
from driftguard.live.exchange import ExchangeClient
from driftguard.model import TenantConfig


class _NoTokens:
    def token(self, *, force_refresh: bool = False) -> str:
        raise AssertionError("no request is made in these tests")

    def redact(self, text: str) -> str:
        return text


def _client(cloud: str) -> ExchangeClient:
    config = TenantConfig(name="t", tenant_id="00000000-0000-0000-0000-000000000001", cloud=cloud)
    return ExchangeClient(requests.Session(), resolve(config), config.tenant_id, _NoTokens())


@pytest.mark.parametrize(
    ("cloud", "location", "expected"),
    [
        (
            "global",
            "https://nam12b.outlook.office365.com:446/adminapi/beta/x/InvokeCommand",
            "https://nam12b.outlook.office365.com/adminapi/beta/x/InvokeCommand",
        ),
        (
            "global",
            "https://outlook.office365.com/adminapi/beta/x/InvokeCommand?a=1",
            "https://outlook.office365.com/adminapi/beta/x/InvokeCommand?a=1",
        ),
        ("gcc-high", "https://eur.outlook.office365.us/p", "https://eur.outlook.office365.us/p"),
        ("china", "https://partner.outlook.cn/p", "https://partner.outlook.cn/p"),
    ],
)
def test_regional_hosts_are_followed(cloud: str, location: str, expected: str) -> None:
    assert _client(cloud)._allowed(location) == expected


@pytest.mark.parametrize(
    ("cloud", "location"),
    [
        ("global", "http://nam12b.outlook.office365.com/p"),  # not TLS
        ("global", "https://outlook.office365.com.attacker.example/p"),  # suffix trick
        ("global", "https://evil-office365.com/p"),  # no dot boundary
        ("global", "https://user:pw@outlook.office365.com/p"),  # credentials in the URL
        ("global", "https://outlook.office365.us/p"),  # another cloud
        ("gcc-high", "https://outlook.office365.com/p"),  # another cloud
        ("global", "https://login.microsoftonline.com/p"),  # Microsoft, but not Exchange
    ],
)
def test_other_hosts_are_refused(cloud: str, location: str) -> None:
    assert _client(cloud)._allowed(location) is None
