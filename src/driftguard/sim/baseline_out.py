"""Write a baseline folder for the simulator's tenants that works against it with no other setup.

Layout (CONTRACT.md): ``<dir>/<tenant>/tenant.yaml`` with endpoints (Entra ID, Exchange and
Graph) pointing at the simulator and credential references; ``<dir>/<tenant>/inbound/*.yaml``
the approved connectors; the simulator's CA as ``<dir>/simulator-ca.pem``; app certificates
(key + certificate) under ``<dir>/.credentials/``.
No secret is ever written into tenant.yaml.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from driftguard.fsutil import write_atomic
from driftguard.sim.scenarios import standard_apps
from driftguard.sim.state import SimState, TenantState

CA_FILE = "simulator-ca.pem"
CREDENTIALS = ".credentials"


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text or "connector"


def write_baseline(
    sim: SimState,
    root: str | Path,
    *,
    host: str,
    ca_pem: bytes,
    tenants: list[str] | None = None,
) -> Path:
    """Write the baseline folder; ``host`` is ``localhost:<port>``. Returns the folder."""
    import yaml

    folder = Path(root)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / CA_FILE, ca_pem)
    read, write, _public = standard_apps(sim)
    for app, kind in ((read, "read"), (write, "write")):
        pair = sim.app_certificate(app.client_id)
        write_atomic(folder / CREDENTIALS / f"{kind}.pem", pair.combined_pem, mode=0o600)
    selected = [sim.tenants[t] for t in tenants] if tenants else list(sim.tenants.values())
    for tenant in selected:
        config = tenant_yaml(tenant, host=host, read_id=read.client_id, write_id=write.client_id)
        write_atomic(
            folder / tenant.name / "tenant.yaml",
            yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
        )
        used: set[str] = set()
        for data in tenant.approved:
            name = slug(str(data["Name"]))
            while name in used:
                name += "-1"
            used.add(name)
            write_atomic(
                folder / tenant.name / "inbound" / f"{name}.yaml",
                yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True),
            )
    return folder


def tenant_yaml(tenant: TenantState, *, host: str, read_id: str, write_id: str) -> dict[str, Any]:
    creds = f"../{CREDENTIALS}"
    return {
        "tenant_id": tenant.tenant_id,
        "cloud": tenant.cloud,
        "accepted_domains": list(tenant.accepted_domains),
        "trusted_ip_ranges": list(tenant.trusted_ip_ranges),
        "admins": list(tenant.admins),
        "auth": {
            "client_id": read_id,
            "certificate_path": f"{creds}/read.pem",
            "write": {"client_id": write_id, "certificate_path": f"{creds}/write.pem"},
        },
        "endpoints": {
            "authority_host": host,
            "exchange_host": host,
            "graph_host": host,
            "exchange_domain": host.split(":")[0],
            "ca_bundle": f"../{CA_FILE}",
        },
    }
