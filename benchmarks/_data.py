"""Synthetic tenants shared by the diff and plan benchmarks: big connectors, reproducible."""

from __future__ import annotations

import random
from typing import Any

from driftguard.model import TenantConfig

IPS, DOMAINS = 200, 20
CONFIG = TenantConfig(name="bench", tenant_id="x", trusted_ip_ranges=("10.0.0.0/8",))


def connector(i: int, rng: random.Random, connector_type: str = "OnPremises") -> dict[str, Any]:
    """Baseline fields of connector ``i``: IPS addresses in 10/8 and DOMAINS sender domains."""
    base = (i * IPS) % (1 << 16)
    ips = [
        f"10.{(base + k) >> 8 & 255}.{(base + k) & 255}.{rng.randrange(256)}" for k in range(IPS)
    ]
    return {
        "Name": f"Relay {i:05d}",
        "Guid": f"00000000-0000-4000-8000-{i:012d}",
        "ConnectorType": connector_type,
        "SenderDomains": [f"d{k}.tenant{i}.example" for k in range(DOMAINS)],
        "SenderIPAddresses": ips,
        "RequireTls": True,
        "RestrictDomainsToIPAddresses": True,
        "Comment": f"connector {i}",
    }
