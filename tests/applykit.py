"""Helpers for the plan/apply tests: a drifted simulated tenant, the CLI, write counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftguard.cli import main
from driftguard.normalize import connector_from_record
from driftguard.sim import Simulator
from driftguard.sim.cmdlets import CmdletContext, find
from driftguard.sim.scenarios import drift

TENANT = "tenant-0003"  # the generated tenant with a third connector (Scanner relay)
WRITE_CMDLETS = {
    "Set-InboundConnector",
    "New-InboundConnector",
    "Remove-InboundConnector",
    "Remove-BlockedConnector",
}
DRIFTS = ("rogue-connector", "widened-ips", "internal", "partner-disabled")


@dataclass
class Setup:
    sim: Simulator
    baseline: Path
    work: Path

    def run(self, *argv: str) -> int:
        return main(list(argv))

    def plan(self, *extra: str, name: str = "plan.json") -> tuple[int, Path, str]:
        path = self.work / name
        code = main(
            [
                "plan",
                "--baseline",
                str(self.baseline),
                "--tenant",
                TENANT,
                "--out",
                str(path),
                *extra,
            ]
        )
        digest = json.loads(path.read_text())["digest"] if path.exists() else ""
        return code, path, digest

    def journal(self, plan: Path) -> Path:
        """The default journal of the plan at ``plan``: next to it, named by its digest."""
        digest = json.loads(plan.read_text())["digest"]
        return plan.with_name(f"{plan.name}.{digest[7:15]}.journal.jsonl")

    def apply(self, plan: Path, *extra: str) -> int:
        return main(["apply", str(plan), "--baseline", str(self.baseline), *extra])

    def diff(self) -> int:
        return main(["diff", "--baseline", str(self.baseline), "--tenant", TENANT])

    def writes(self) -> list[str]:
        """Successful write cmdlets the simulator served, in order."""
        return [
            r.cmdlet for r in self.sim.requests_log if r.cmdlet in WRITE_CMDLETS and r.status == 200
        ]

    def records(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.sim.tenant(TENANT).connectors]

    def normalised(self) -> dict[str, dict[str, Any]]:
        """Canonical settings of every live connector by name (Guids aside)."""
        out = {}
        for record in self.records():
            conn = connector_from_record(record)
            out[conn.name] = dict(conn.settings)
        return out

    def tamper(self, cmdlet: str, parameters: dict[str, Any]) -> None:
        """Change the live tenant behind driftguard's back, as an admin in the portal would."""
        tenant = self.sim.tenant(TENANT)
        ctx = CmdletContext(
            sim=self.sim.state,
            now=datetime.now(UTC),
            user="someone@contoso.com",
            client_ip="198.51.100.9:443",
        )
        handler = find(cmdlet)
        assert handler is not None
        with tenant.lock:
            handler.handler(tenant, parameters, ctx)


def drifted(
    sim_factory: Callable[..., Simulator], tmp_path: Path, *, missing: bool = True
) -> Setup:
    """tenant-0003 with an unknown connector, two changed ones and (``missing``) one deleted."""
    sim = sim_factory(tenants=3)
    tenant = sim.tenant(TENANT)
    for kind in DRIFTS:
        drift(sim.state, tenant, kind, when=datetime(2026, 11, 28, 2, 38, tzinfo=UTC))
    if missing:
        tenant.connectors[:] = [c for c in tenant.connectors if c["Name"] != "Scanner relay"]
    baseline = sim.write_baseline(tmp_path / "baseline", tenants=[TENANT])
    return Setup(sim, baseline, tmp_path)
