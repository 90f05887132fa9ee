"""Every rule of the risk table, through real baseline folders and live files."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftguard.model import Finding, Severity, Status
from driftguard.risk import FALLBACK, RULES, outside_trusted
from driftkit import HYBRID, PARTNER, SCANNER, diff_files, wire, write_baseline, write_live

ROGUE_ONPREM = {
    "Name": "Inbound relay (temp)",
    "ConnectorType": "OnPremises",
    "SenderDomains": ["*"],
    "SenderIPAddresses": ["203.0.113.0/24"],
}
ROGUE_ANY = {"Name": "Any partner", "ConnectorType": "Partner", "SenderDomains": ["*"]}
ROGUE_PARTNER = {"Name": "Partner X", "ConnectorType": "Partner", "SenderDomains": ["x.example"]}
TWO_DOMAINS = {**PARTNER, "SenderDomains": ["fabrikam.com", "fabrikam.net"]}
TWO_IPS = {**SCANNER, "SenderIPAddresses": ["198.51.100.25", "198.51.100.26"]}
INTERNAL = {**HYBRID, "TreatMessagesAsInternal": True}
CLOUD = {**HYBRID, "CloudServicesMailEnabled": True}

# rule id -> (baseline connectors, live records, field of the finding (None: a connector finding))
CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]] = {
    "unknown-onpremises": ([HYBRID], [wire(HYBRID), wire(ROGUE_ONPREM)], None),
    "unknown-any-domain": ([HYBRID], [wire(HYBRID), wire(ROGUE_ANY)], None),
    "unknown-partner": ([HYBRID], [wire(HYBRID), wire(ROGUE_PARTNER)], None),
    "unknown-disabled": ([HYBRID], [wire(HYBRID), wire(ROGUE_ONPREM, Enabled=False)], None),
    "missing-disabled": ([HYBRID, SCANNER], [wire(HYBRID)], None),
    "missing": ([HYBRID, PARTNER], [wire(HYBRID)], None),
    "any-sender-domain": (
        [PARTNER],
        [wire(PARTNER, SenderDomains=["smtp:fabrikam.com;1", "smtp:*;1"])],
        "SenderDomains",
    ),
    "sender-domains-added": (
        [PARTNER],
        [wire(PARTNER, SenderDomains=["fabrikam.com", "evil.example"])],
        "SenderDomains",
    ),
    "sender-domains-removed": (
        [TWO_DOMAINS],
        [wire(TWO_DOMAINS, SenderDomains=["fabrikam.com"])],
        "SenderDomains",
    ),
    "ips-outside-trusted": (
        [HYBRID],
        [wire(HYBRID, SenderIPAddresses=["198.51.100.0/24", "203.0.113.0/24"])],
        "SenderIPAddresses",
    ),
    "ips-inside-trusted": (
        [SCANNER],
        [wire(SCANNER, SenderIPAddresses=["198.51.100.25", "198.51.100.128/25"])],
        "SenderIPAddresses",
    ),
    "ips-removed": (
        [TWO_IPS],
        [wire(TWO_IPS, SenderIPAddresses=["198.51.100.25"])],
        "SenderIPAddresses",
    ),
    "internal-on": (
        [HYBRID],
        [wire(HYBRID, TreatMessagesAsInternal=True)],
        "TreatMessagesAsInternal",
    ),
    "internal-off": (
        [INTERNAL],
        [wire(INTERNAL, TreatMessagesAsInternal=False)],
        "TreatMessagesAsInternal",
    ),
    "cloud-services-on": (
        [HYBRID],
        [wire(HYBRID, CloudServicesMailEnabled=True)],
        "CloudServicesMailEnabled",
    ),
    "cloud-services-off": (
        [CLOUD],
        [wire(CLOUD, CloudServicesMailEnabled=False)],
        "CloudServicesMailEnabled",
    ),
    "type-onpremises": ([PARTNER], [wire(PARTNER, ConnectorType="onpremises")], "ConnectorType"),
    "tls-off": ([HYBRID], [wire(HYBRID, RequireTls=False)], "RequireTls"),
    "tls-on": ([SCANNER], [wire(SCANNER, RequireTls=True)], "RequireTls"),
    "restrict-ip-off": (
        [HYBRID],
        [wire(HYBRID, RestrictDomainsToIPAddresses=False)],
        "RestrictDomainsToIPAddresses",
    ),
    "restrict-cert-off": (
        [PARTNER],
        [wire(PARTNER, RestrictDomainsToCertificate=False)],
        "RestrictDomainsToCertificate",
    ),
    "restrict-on": (
        [PARTNER],
        [wire(PARTNER, RestrictDomainsToIPAddresses=True)],
        "RestrictDomainsToIPAddresses",
    ),
    "restrict-cert-on": (
        [HYBRID],
        [wire(HYBRID, RestrictDomainsToCertificate=True)],
        "RestrictDomainsToCertificate",
    ),
    "certificate-changed": (
        [HYBRID],
        [wire(HYBRID, TlsSenderCertificateName="mail.evil.example")],
        "TlsSenderCertificateName",
    ),
    "enabled": ([SCANNER], [wire(SCANNER, Enabled=True)], "Enabled"),
    "disabled": ([HYBRID], [wire(HYBRID, Enabled=False)], "Enabled"),
    "renamed": ([HYBRID], [wire(HYBRID, Name="Hybrid relay 2")], "Name"),
    "connector-source": (
        [HYBRID],
        [wire(HYBRID, ConnectorSource="HybridWizard")],
        "ConnectorSource",
    ),
    "comment": ([HYBRID], [wire(HYBRID, Comment="changed by someone")], "Comment"),
    "no-rule": ([PARTNER], [wire(PARTNER, EFSkipIPs=["192.0.2.1"])], "EFSkipIPs"),
}
ALL_RULES = {r.id: r for r in (*RULES, FALLBACK)}


def _finding(tmp_path: Path, rule_id: str) -> Finding:
    baseline, live, field = CASES[rule_id]
    root = write_baseline(tmp_path / "baseline", baseline)
    result = diff_files(root, write_live(tmp_path / "live.json", live))
    assert result.status is Status.DRIFT
    [finding] = result.findings
    assert finding.field == field
    return finding


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(ALL_RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule(tmp_path: Path, rule_id: str) -> None:
    rule = ALL_RULES[rule_id]
    finding = _finding(tmp_path, rule_id)
    assert finding.severity is rule.severity
    assert finding.reason.startswith(rule.reason.split("{", 1)[0])
    assert "{" not in finding.reason and finding.reason.endswith(".")


@pytest.mark.parametrize(
    ("rule_id", "severity"),
    [
        ("unknown-onpremises", Severity.CRITICAL),
        ("unknown-disabled", Severity.MEDIUM),
        ("any-sender-domain", Severity.CRITICAL),
        ("internal-on", Severity.CRITICAL),
        ("ips-outside-trusted", Severity.CRITICAL),
        ("ips-inside-trusted", Severity.HIGH),
        ("tls-off", Severity.HIGH),
        ("restrict-ip-off", Severity.HIGH),
        ("restrict-cert-off", Severity.HIGH),
        ("certificate-changed", Severity.HIGH),
        ("enabled", Severity.HIGH),
        ("comment", Severity.LOW),
        ("no-rule", Severity.HIGH),
    ],
)
def test_the_severities_the_contract_names(rule_id: str, severity: Severity) -> None:
    assert ALL_RULES[rule_id].severity is severity


def test_reasons_name_what_to_look_at(tmp_path: Path) -> None:
    rogue = _finding(tmp_path / "a", "unknown-onpremises")
    assert "accepting * from 203.0.113.0/24" in rogue.reason
    outside = _finding(tmp_path / "b", "ips-outside-trusted")
    assert "includes 203.0.113.0/24, outside" in outside.reason
    no_rule = _finding(tmp_path / "c", "no-rule")
    assert no_rule.reason.startswith("EFSkipIPs changed and driftguard has no rule")


@pytest.mark.parametrize("rogue", [ROGUE_ONPREM, ROGUE_ANY, ROGUE_PARTNER], ids=lambda r: r["Name"])
def test_an_unknown_connector_that_is_disabled_is_medium(
    tmp_path: Path, rogue: dict[str, Any]
) -> None:
    """Disabled, it relays nothing, but it is still unapproved and can be re-enabled."""
    root = write_baseline(tmp_path / "baseline", [HYBRID])
    enabled = diff_files(root, write_live(tmp_path / "on.json", [wire(HYBRID), wire(rogue)]))
    disabled = diff_files(
        root, write_live(tmp_path / "off.json", [wire(HYBRID), wire(rogue, Enabled=False)])
    )
    [loud] = enabled.findings
    [quiet] = disabled.findings
    assert loud.severity in (Severity.CRITICAL, Severity.HIGH)
    assert (quiet.kind.value, quiet.connector, quiet.severity) == (
        "unknown",
        rogue["Name"],
        Severity.MEDIUM,
    )
    assert disabled.status is Status.DRIFT  # still drift: unapproved until removed or adopted
    assert quiet.reason.startswith("Unapproved connector, disabled: it relays nothing now")
    assert "driftguard plan --remove-unknown" in quiet.reason and "adopt it" in quiet.reason


def test_worst_rule_wins_and_names_only_the_outside_range(tmp_path: Path) -> None:
    live = wire(SCANNER, SenderIPAddresses=["198.51.100.25", "198.51.100.26", "192.0.2.9"])
    root = write_baseline(tmp_path / "baseline", [SCANNER])
    [finding] = diff_files(root, write_live(tmp_path / "live.json", [live])).findings
    assert finding.severity is Severity.CRITICAL
    assert "includes 192.0.2.9/32, outside" in finding.reason
    assert "198.51.100.26" not in finding.reason


def test_without_trusted_ranges_every_added_ip_is_critical(tmp_path: Path) -> None:
    live = wire(SCANNER, SenderIPAddresses=["198.51.100.25", "198.51.100.26"])
    root = write_baseline(tmp_path / "baseline", [SCANNER], trusted=())
    [finding] = diff_files(root, write_live(tmp_path / "live.json", [live])).findings
    assert finding.severity is Severity.CRITICAL


def test_outside_trusted() -> None:
    trusted = ["198.51.100.0/24", "not a range"]
    assert outside_trusted(["198.51.100.0/25", "198.51.100.7/32"], trusted) == ()
    assert outside_trusted(["198.51.0.0/16", "10.0.0.1/32"], trusted) == (
        "198.51.0.0/16",
        "10.0.0.1/32",
    )
    assert outside_trusted(["garbage"], trusted) == ("garbage",)


_NETWORK = st.builds(
    lambda n, p: str(ipaddress.IPv4Network((n, p), strict=False)),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
_ODD_NETWORK = st.sampled_from(["garbage", "", "2001:db8::/32", "10.0.0.1/33", "10.0.0.300"])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(_NETWORK, _NETWORK, _ODD_NETWORK), max_size=6),
    st.lists(st.one_of(_NETWORK, _ODD_NETWORK), max_size=4),
)
def test_outside_trusted_is_subnet_of(added: list[str], trusted: list[str]) -> None:
    """The integer comparison says what ``ipaddress``'s ``subnet_of`` says."""

    def parsed(text: str) -> ipaddress.IPv4Network | None:
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None
        return net if isinstance(net, ipaddress.IPv4Network) else None

    ranges = [n for n in map(parsed, trusted) if n is not None]
    expected = tuple(
        text
        for text in added
        if (net := parsed(text)) is None or not any(net.subnet_of(t) for t in ranges)
    )
    assert outside_trusted(added, trusted) == expected
