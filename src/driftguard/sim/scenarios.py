"""Simulated tenants: ``tenants=N`` deterministic tenants, some drifted from their baseline.

The simulator knows both sides: ``approved`` holds each tenant's baseline files (CONTRACT.md
form), ``connectors`` the live records, made from the same values by the simulator's own
New-InboundConnector (the packaged record template, values stored as typed). Drift is made by
running the real cmdlet handlers as an unknown actor, so the audit log explains it as the real
service's would.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from driftguard.sim.cmdlets import CmdletContext, find
from driftguard.sim.cmdlets.connectors import create
from driftguard.sim.state import App, FederatedCredential, SimState, TenantState, derived_uuid
from driftguard.sim.tokens import FEDERATED_ISSUER

BASE_TIME = datetime(2026, 3, 2, 9, 15, 4, tzinfo=UTC)
DRIFT_TIME = datetime(2026, 11, 28, 2, 38, 12, tzinfo=UTC)
ATTACKER = "svc-relay@{domain}"
ATTACKER_IP = "203.0.113.66"
DRIFT_KINDS = ("widened-ips", "rogue-connector", "partner-disabled", "internal")


def standard_apps(sim: SimState) -> tuple[App, App, App]:
    """The read app, the write app and a public client for device code, made once per sim."""
    seed = sim.knobs.seed
    ids = [derived_uuid(seed, "app", kind) for kind in ("read", "write", "public")]
    if ids[0] not in sim.apps:
        github = [FederatedCredential(FEDERATED_ISSUER, sim.knobs.github_subject)]
        reader = App(
            ids[0], "driftguard-reader", secret=f"sim-read-{derived_uuid(seed, 'secret', 1)}"
        )
        writer = App(
            ids[1], "driftguard-writer", secret=f"sim-write-{derived_uuid(seed, 'secret', 2)}"
        )
        reader.federated = list(github)
        writer.federated = list(github)
        sim.add_app(reader, role="read")
        sim.add_app(writer, role="write")
        sim.add_app(App(ids[2], "driftguard-cli", public_client=True), role="read")
    return sim.apps[ids[0]], sim.apps[ids[1]], sim.apps[ids[2]]


def grant_standard_apps(sim: SimState, tenant: TenantState) -> None:
    read, write, public = standard_apps(sim)
    for app, role in ((read, "read"), (write, "write"), (public, "read")):
        sim.add_app(app, role=role, tenants=[tenant])


def approved_connectors(i: int, domain: str, trusted: str) -> list[dict[str, Any]]:
    """The approved connectors of generated tenant ``i`` as baseline files."""
    partner = f"partner-{i:04d}.example.net"
    files: list[dict[str, Any]] = [
        {
            "Name": "Hybrid relay",
            "ConnectorType": "OnPremises",
            "Enabled": True,
            "SenderDomains": [domain],
            "SenderIPAddresses": [trusted],
            "RestrictDomainsToIPAddresses": True,
            "RequireTls": True,
            "TlsSenderCertificateName": f"mail.{domain}",
            "Comment": "On-premises relay",
        },
        {
            "Name": "Partner TLS",
            "ConnectorType": "Partner",
            "Enabled": True,
            "SenderDomains": [partner],
            "RequireTls": True,
            "RestrictDomainsToCertificate": True,
            "TlsSenderCertificateName": f"mail.{partner}",
        },
    ]
    if i % 3 == 0:
        files.append(
            {
                "Name": "Scanner relay",
                "ConnectorType": "OnPremises",
                "Enabled": False,
                "SenderDomains": [domain],
                "SenderIPAddresses": [trusted.replace(".0/24", ".25")],
                "RestrictDomainsToIPAddresses": True,
            }
        )
    return files


def generated_tenant(sim: SimState, i: int, *, drifted: bool) -> TenantState:
    seed = sim.knobs.seed
    name = f"tenant-{i:04d}"
    domain = f"{name}.example.com"
    trusted = f"10.{(i // 256) % 256}.{i % 256}.0/24"
    tenant = TenantState(
        name=name,
        tenant_id=derived_uuid(seed, "tenant", i),
        domain=f"{name}.onmicrosoft.com",
        accepted_domains=[domain, f"{name}.onmicrosoft.com"],
        trusted_ip_ranges=[trusted],
        admins=[f"exadmin@{domain}"],
    )
    for n, data in enumerate(approved_connectors(i, domain, trusted)):
        guid = derived_uuid(seed, "connector", i, data["Name"])
        created = BASE_TIME + timedelta(days=n, minutes=i % 600)
        made = CmdletContext(sim=sim, now=created, user=tenant.admins[0])
        tenant.connectors.append(create(tenant, data, guid=guid, ctx=made))
        tenant.approved.append(
            {"Name": data["Name"], "Guid": guid, **data} if n == 0 else dict(data)
        )
    sim.add_tenant(tenant)
    grant_standard_apps(sim, tenant)
    if drifted:
        drift(sim, tenant, DRIFT_KINDS[(i // 5) % len(DRIFT_KINDS)], when=DRIFT_TIME)
    return tenant


def drift(sim: SimState, tenant: TenantState, kind: str, *, when: datetime) -> None:
    """Tamper with ``tenant`` as an unknown actor from a foreign address (audited)."""
    ctx = CmdletContext(
        sim=sim,
        now=when,
        user=ATTACKER.format(domain=tenant.domain),
        client_ip=f"{ATTACKER_IP}:50912",
    )
    plans: dict[str, list[tuple[str, Mapping[str, Any]]]] = {
        "widened-ips": [
            (
                "Set-InboundConnector",
                {
                    "Identity": "Hybrid relay",
                    "SenderIPAddresses": {
                        "@odata.type": "#Exchange.StringFieldDeltaUpdateData",
                        "Add": ["203.0.113.0/24"],
                    },
                },
            )
        ],
        "rogue-connector": [
            (
                "New-InboundConnector",
                {
                    "Name": "Inbound relay (temp)",
                    "ConnectorType": "OnPremises",
                    "SenderDomains": ["*"],
                    "SenderIPAddresses": ["203.0.113.0/24"],
                    "TreatMessagesAsInternal": True,
                    "Comment": "temporary relay for migration, remove after cutover",
                },
            )
        ],
        "partner-disabled": [
            ("Set-InboundConnector", {"Identity": "Partner TLS", "Enabled": False})
        ],
        "internal": [
            (
                "Set-InboundConnector",
                {"Identity": "Hybrid relay", "TreatMessagesAsInternal": True},
            )
        ],
    }
    changes = plans[kind]
    for name, parameters in changes:
        found = find(name)
        assert found is not None  # noqa: S101 - registered by cmdlets.connectors
        with tenant.lock:
            found.handler(tenant, parameters, ctx)


def populate(sim: SimState, count: int, *, drift_every: int = 5) -> list[TenantState]:
    """``count`` generated tenants; every ``drift_every``-th one (and a seeded few) drifted."""
    rng = random.Random(sim.knobs.seed)  # noqa: S311 - simulation, not security
    out = []
    for i in range(1, count + 1):
        drifted = i % drift_every == 0 or rng.random() < 0.05
        out.append(generated_tenant(sim, i, drifted=drifted))
    return out


def build(*, tenants: int = 0, demo: bool = False, sim: SimState | None = None) -> SimState:
    """A simulator state with ``tenants`` generated tenants and, when asked, the demo tenant."""
    state = sim or SimState()
    standard_apps(state)
    populate(state, tenants)
    if demo:
        from driftguard.sim.demo import add_demo_tenant

        add_demo_tenant(state)
    return state
