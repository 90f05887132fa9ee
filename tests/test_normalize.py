from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftguard.normalize import (
    NormalizeError,
    canonical_value,
    connector_from_baseline,
    connector_from_record,
    domain,
)
from driftguard.properties import BY_NAME


def test_domain_forms_are_equal() -> None:
    assert domain("smtp:*;1") == "*"
    assert domain("smtp:Contoso.COM;1") == "contoso.com"
    assert domain("contoso.com") == "contoso.com"
    assert domain("contoso.onmicrosoft.com/Configuration/contoso.com") == "contoso.com"


def test_ip_forms_are_equal() -> None:
    prop = BY_NAME["SenderIPAddresses"]
    assert canonical_value(prop, ["203.0.113.7", "198.51.100.0/24"]) == canonical_value(
        prop, ["198.51.100.0/24", "203.0.113.7/32", "203.0.113.7"]
    )


def test_ipv6_refused_for_sender_ips() -> None:
    with pytest.raises(NormalizeError, match="SenderIPAddresses"):
        canonical_value(BY_NAME["SenderIPAddresses"], ["2001:db8::1"])


def test_record_and_baseline_agree() -> None:
    record = {
        "Name": "Hybrid relay",
        "ConnectorType": "onpremises",
        "ConnectorSource": "AdminUI",
        "SenderDomains": ["smtp:*;1"],
        "SenderIPAddresses": ["203.0.113.7"],
        "Comment": "",
        "TlsSenderCertificateName": None,
        "Size@data.type": "System.Int32",
        "Guid": "AC4D5AB0-6637-4E91-8D47-F5C2E95C71D9",
        "WhenChangedUTC": "x",
        "NewThing": 3,
    }
    live = connector_from_record(record)
    base = connector_from_baseline(
        {
            "Name": "Hybrid relay",
            "ConnectorType": "OnPremises",
            "SenderDomains": ["*"],
            "SenderIPAddresses": ["203.0.113.7/32"],
        }
    )
    assert live.settings == base.settings
    assert live.guid == "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9"
    assert live.unknown == ("NewThing",)
    assert "Size@data.type" not in live.other


@given(
    st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32), st.booleans()),
        max_size=20,
    )
)
def test_ipv4_fast_path_agrees_with_ipaddress(members: list[tuple[int, int, bool]]) -> None:
    """The regex + inet_aton path gives what ipaddress gives: same members, same numeric order."""
    texts = []
    for value, prefix, bare in members:
        net = ipaddress.IPv4Network((value, prefix), strict=False)
        texts.append(str(net.network_address) if bare and prefix == 32 else str(net))
    expected = tuple(str(n) for n in sorted({ipaddress.IPv4Network(t) for t in texts}))
    assert canonical_value(BY_NAME["SenderIPAddresses"], texts) == expected


@pytest.mark.parametrize("text", ["01.2.3.4", "1.2.3", "1.2.3.4/33", "\u0661.2.3.4", "a.b.c.d/24"])
def test_ipv4_odd_forms_refused(text: str) -> None:
    with pytest.raises(NormalizeError, match="SenderIPAddresses"):
        canonical_value(BY_NAME["SenderIPAddresses"], [text])


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("192.168.0.1/25", "192.168.0.0/25"),
        ("10.0.0.5/24", "10.0.0.0/24"),
        (" 10.0.0.9/31", "10.0.0.8/31"),
    ],
)
def test_ipv4_host_bits_mean_the_network_with_a_note(written: str, meant: str) -> None:
    """Microsoft's own New-InboundConnector example writes 192.168.0.1/25: it is compared by the
    addresses it covers, and a note says how it was written."""
    notes: list[str] = []
    value = canonical_value(BY_NAME["SenderIPAddresses"], [written, "203.0.113.7"], notes)
    assert value == (meant, "203.0.113.7/32")
    [note] = notes
    assert repr(written.strip()) in note and f"compared as {meant}" in note


def test_ipv4_exact_forms_need_no_note() -> None:
    notes: list[str] = []
    canonical_value(
        BY_NAME["SenderIPAddresses"], ["192.168.0.0/25", "203.0.113.7/32", "1.2.3.4"], notes
    )
    assert notes == []
