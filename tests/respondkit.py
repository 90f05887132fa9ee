"""Helpers for the respond and containment tests: a drifted simulated tenant whose intruder is a
directory user, a baseline (optionally with the Graph write credential), the CLI in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from applykit import WRITE_CMDLETS
from driftguard.cli import main
from driftguard.sim import Simulator, graph_users
from driftguard.sim.cmdlets import CmdletContext, find
from driftguard.sim.scenarios import ATTACKER, drift

TENANT = "tenant-0001"
WHEN = datetime(2026, 11, 28, 2, 38, 12, tzinfo=UTC)
SINCE = "2026-11-01"


@dataclass
class Tenant:
    sim: Simulator
    baseline: Path
    work: Path

    @property
    def intruder(self) -> str:
        return ATTACKER.format(domain=self.sim.tenant(TENANT).domain)

    def user(self, upn: str) -> dict[str, Any]:
        found = graph_users.find_user(self.sim.tenant(TENANT), upn)
        assert found is not None
        return found

    def respond(self, *extra: str, name: str = "plan.json") -> tuple[int, Path, str]:
        path = self.work / name
        code = main(
            [
                "respond",
                "--baseline",
                str(self.baseline),
                "--tenant",
                TENANT,
                "--since",
                SINCE,
                "--out",
                str(path),
                *extra,
            ]
        )
        digest = json.loads(path.read_text())["digest"] if path.exists() else ""
        return code, path, digest

    def apply(self, plan: Path, *extra: str) -> int:
        return main(["apply", str(plan), "--baseline", str(self.baseline), *extra])

    def graph_posts(self, suffix: str) -> list[str]:
        """Successful Graph requests whose path ends with ``suffix``."""
        return [
            r.method
            for r in self.sim.requests_log
            if r.path.split("?")[0].endswith(suffix) and r.status < 300
        ]

    def exchange_writes(self) -> int:
        return sum(1 for r in self.sim.requests_log if r.cmdlet in WRITE_CMDLETS)

    def act_as(self, user: str, cmdlet: str, parameters: dict[str, Any]) -> None:
        """A connector change in the audit trail by ``user`` from a foreign address."""
        tenant = self.sim.tenant(TENANT)
        ctx = CmdletContext(sim=self.sim.state, now=WHEN, user=user, client_ip="203.0.113.9:443")
        handler = find(cmdlet)
        assert handler is not None
        with tenant.lock:
            handler.handler(tenant, parameters, ctx)

    def set_graph_write(self, present: bool) -> None:
        """Add (or take out) ``auth.graph_write`` in tenant.yaml: the simulator's write app."""
        path = self.baseline / TENANT / "tenant.yaml"
        config = yaml.safe_load(path.read_text("utf-8"))
        if present:
            config["auth"]["graph_write"] = dict(config["auth"]["write"])
        else:
            config["auth"].pop("graph_write", None)
        path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")


def compromised(
    sim_factory: Callable[..., Simulator], tmp_path: Path, *, graph_write: bool = True
) -> Tenant:
    """tenant-0001 with a rogue connector and a widened relay, made by a directory user who is
    not a listed admin, from a foreign address; the baseline is the approved state."""
    sim = sim_factory(tenants=1)
    tenant = sim.tenant(TENANT)
    created = datetime(2026, 10, 20, 14, 5, tzinfo=UTC)
    graph_users.add_user(tenant, tenant.admins[0], "Exchange Admin", created=created)
    graph_users.add_user(tenant, ATTACKER.format(domain=tenant.domain), "Relay", created=created)
    for kind in ("rogue-connector", "widened-ips"):
        drift(sim.state, tenant, kind, when=WHEN)
    baseline = sim.write_baseline(tmp_path / "baseline", tenants=[TENANT])
    made = Tenant(sim, baseline, tmp_path)
    made.set_graph_write(graph_write)
    return made
