"""The demo tenant (placeholder until the demo scenario lands)."""

from __future__ import annotations

from driftguard.sim.state import SimState


def add_demo_tenant(sim: SimState) -> None:
    raise NotImplementedError("the demo scenario is not built yet")
