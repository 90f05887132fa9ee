"""The service's own rules on inbound connectors (EXCHANGE.md), on canonical settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driftguard.baseline.load import load_baseline
from driftguard.baseline.rules import sender_ip_problem, violations
from driftguard.normalize import connector_from_baseline
from driftguard.properties import Value


def settings_of(**data: Any) -> dict[str, Value]:
    base: dict[str, Any] = {"Name": "c", "SenderDomains": ["contoso.com"]}
    return dict(connector_from_baseline({**base, **data}).settings)


def fields(**data: Any) -> list[str]:
    return [field for field, _ in violations(settings_of(**data))]


def test_defaults_are_valid() -> None:
    assert violations(settings_of()) == []


def test_demo_connectors_are_valid(repo_root: Path) -> None:
    demo = load_baseline(repo_root / "baseline").tenants["demo"]
    for item in demo.connectors:
        assert violations(item.connector.settings) == []


@pytest.mark.parametrize(
    "data",
    [
        {"ConnectorType": "OnPremises", "SenderIPAddresses": ["198.51.100.0/24"]},
        {"ConnectorType": "OnPremises", "TlsSenderCertificateName": "a.b", "RequireTls": True},
        {
            "ConnectorType": "OnPremises",
            "SenderIPAddresses": ["203.0.113.7"],
            "RestrictDomainsToIPAddresses": True,
            "TreatMessagesAsInternal": True,
        },
        {
            "TlsSenderCertificateName": "mail.fabrikam.com",
            "RequireTls": True,
            "RestrictDomainsToCertificate": True,
        },
        {
            "ConnectorType": "OnPremises",
            "SenderIPAddresses": ["198.51.100.0/24"],
            "CloudServicesMailEnabled": True,
        },
    ],
)
def test_accepted_combinations(data: dict[str, Any]) -> None:
    assert violations(settings_of(**data)) == []


@pytest.mark.parametrize(
    ("data", "expected", "fragment"),
    [
        ({"ConnectorType": "OnPremises"}, ["ConnectorType"], "needs SenderIPAddresses or Tls"),
        ({"TlsSenderCertificateName": "a.b"}, ["TlsSenderCertificateName"], "RequireTls: true"),
        (
            {"RestrictDomainsToIPAddresses": True},
            ["RestrictDomainsToIPAddresses"],
            "needs SenderIPAddresses",
        ),
        (
            {
                "SenderIPAddresses": ["198.51.100.1"],
                "TlsSenderCertificateName": "a.b",
                "RequireTls": True,
                "RestrictDomainsToIPAddresses": True,
                "RestrictDomainsToCertificate": True,
            },
            ["RestrictDomainsToCertificate"],
            "cannot both be true",
        ),
        (
            {"RestrictDomainsToCertificate": True},
            ["RestrictDomainsToCertificate"],
            "needs TlsSenderCertificateName",
        ),
        ({"TreatMessagesAsInternal": True}, ["TreatMessagesAsInternal"], "only allowed on an On"),
        ({"CloudServicesMailEnabled": True}, ["CloudServicesMailEnabled"], "only allowed on an On"),
        (
            {
                "ConnectorType": "OnPremises",
                "SenderIPAddresses": ["198.51.100.0/24"],
                "CloudServicesMailEnabled": True,
                "TreatMessagesAsInternal": True,
            },
            ["TreatMessagesAsInternal"],
            "cannot both be true",
        ),
        (
            {"SenderIPAddresses": ["10.0.0.0/16", "10.1.0.0/24"]},
            ["SenderIPAddresses"],
            "wider than /24",
        ),
    ],
)
def test_refused_combinations(data: dict[str, Any], expected: list[str], fragment: str) -> None:
    found = violations(settings_of(**data))
    assert [f for f, _ in found] == expected
    assert fragment in found[0][1]


def test_every_broken_rule_is_reported_at_once() -> None:
    found = fields(
        ConnectorType="Partner",
        TlsSenderCertificateName="a.b",
        RestrictDomainsToIPAddresses=True,
        TreatMessagesAsInternal=True,
        CloudServicesMailEnabled=True,
    )
    assert found == [
        "TlsSenderCertificateName",
        "RestrictDomainsToIPAddresses",
        "CloudServicesMailEnabled",
        "TreatMessagesAsInternal",
        "TreatMessagesAsInternal",
    ]


def test_rules_accept_raw_lowercase_type_and_plain_strings() -> None:
    """The simulator may hand over lightly normalised settings: the rules still hold."""
    raw: dict[str, Value] = {"ConnectorType": "onpremises", "SenderIPAddresses": "198.51.100.0/16"}
    assert [f for f, _ in violations(raw)] == ["SenderIPAddresses"]
    assert [f for f, _ in violations({"ConnectorType": "ONPREMISES"})] == ["ConnectorType"]


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ("198.51.100.7", None),
        ("198.51.100.7/32", None),
        ("198.51.100.0/24", None),
        ("198.51.100.0/25", None),
        ("198.51.0.0/23", "wider than /24"),
        ("0.0.0.0/0", "wider than /24"),
        ("2001:db8::1", "IPv6"),
        ("2001:db8::/64", "IPv6"),
        ("198.51.100.7/24", None),  # host bits: Microsoft's own example form
        ("192.168.0.1/25", None),
        ("198.51.100.300", "not an IPv4 address"),
        ("mail.contoso.com", "not an IPv4 address"),
        ("198.51.100.1-198.51.100.9", "not an IPv4 address"),
    ],
)
def test_sender_ip_entries(item: str, fragment: str | None) -> None:
    problem = sender_ip_problem(item)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem
        assert repr(item) in problem
