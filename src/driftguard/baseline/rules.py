"""The rules Exchange Online enforces on an inbound connector (EXCHANGE.md), as pure checks.

Baseline validation and the simulator share them, so a baseline that validates is one the service
would accept, and the simulator refuses what the service refuses. Input is canonical settings
(``normalize``); output is ``(field, message)`` pairs, the field being the one to fix.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence

from driftguard.plainlists import plain_ipv4
from driftguard.properties import Value

MIN_PREFIX = 24


def violations(settings: Mapping[str, Value]) -> list[tuple[str, str]]:
    """Every rule the settings break, in a stable order; empty if the service would accept them."""
    sender_ips = _items(settings.get("SenderIPAddresses"))
    out: list[tuple[str, str]] = []
    if not sender_ips_allowed(sender_ips):
        out += [("SenderIPAddresses", m) for item in sender_ips if (m := sender_ip_problem(item))]
    on_premises = str(settings.get("ConnectorType") or "Partner").lower() == "onpremises"
    ips = bool(_items(settings.get("SenderIPAddresses")))
    cert = bool(settings.get("TlsSenderCertificateName"))
    require_tls = settings.get("RequireTls") is True
    by_ip = settings.get("RestrictDomainsToIPAddresses") is True
    by_cert = settings.get("RestrictDomainsToCertificate") is True
    cloud_mail = settings.get("CloudServicesMailEnabled") is True
    internal = settings.get("TreatMessagesAsInternal") is True

    if on_premises and not ips and not cert:
        out.append(
            (
                "ConnectorType",
                "an OnPremises connector needs SenderIPAddresses or TlsSenderCertificateName "
                "to recognise the organisation's own servers",
            )
        )
    if cert and not require_tls:
        out.append(("TlsSenderCertificateName", "TlsSenderCertificateName needs RequireTls: true"))
    if by_ip and not ips:
        out.append(
            (
                "RestrictDomainsToIPAddresses",
                "RestrictDomainsToIPAddresses: true needs SenderIPAddresses",
            )
        )
    if by_ip and by_cert:
        out.append(
            (
                "RestrictDomainsToCertificate",
                "RestrictDomainsToIPAddresses and RestrictDomainsToCertificate cannot both be true",
            )
        )
    if by_cert and not cert:
        out.append(
            (
                "RestrictDomainsToCertificate",
                "RestrictDomainsToCertificate: true needs TlsSenderCertificateName",
            )
        )
    hybrid_only = (("CloudServicesMailEnabled", cloud_mail), ("TreatMessagesAsInternal", internal))
    for field, on in hybrid_only:
        if on and not on_premises:
            out.append((field, f"{field}: true is only allowed on an OnPremises connector"))
    if cloud_mail and internal:
        out.append(
            (
                "TreatMessagesAsInternal",
                "CloudServicesMailEnabled and TreatMessagesAsInternal cannot both be true",
            )
        )
    return out


def sender_ip_problem(item: str) -> str | None:
    """Why one SenderIPAddresses entry is refused: not IPv4, not an address, wider than /24.

    Host bits are allowed (``192.168.0.1/25`` is Microsoft's own example): the entry means the
    addresses of its network, and normalisation notes how it was written.
    """
    text = item.strip()
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return f"{text!r} is not an IPv4 address or CIDR range"
    if net.version != 4:
        return f"{text!r} is IPv6; inbound connectors accept IPv4 only"
    if net.prefixlen < MIN_PREFIX:
        return f"{text!r} is wider than /{MIN_PREFIX}; use ranges from /{MIN_PREFIX} to /32"
    return None


_NARROW = re.compile("/(?:" + "|".join(map(str, range(MIN_PREFIX, 33))) + ")\n")


def sender_ips_allowed(items: Sequence[object]) -> bool:
    """True when ``sender_ip_problem`` certainly refuses none of ``items``: all are plain IPv4
    addresses or /24-/32 ranges, checked in one pass over the joined list (a big tenant's
    baseline holds hundreds of thousands). False means: ask ``sender_ip_problem`` of each."""
    return plain_ipv4(items, _NARROW)


def _items(value: Value) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple):
        return value
    return (str(value),)
