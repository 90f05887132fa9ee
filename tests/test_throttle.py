"""Throttling per application: the app's other tenants hold, one throttled tenant holds nobody."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from driftguard.baseline.load import load_baseline
from driftguard.live.runner import TenantRead, read_tenants
from driftguard.live.service import ExchangeSource
from driftguard.live.throttle import MAX_HOLD, AppBudget
from driftguard.sim import ServerKnobs, Simulator
from livekit import FAST, Sleeps


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_app_is_held_once_two_of_its_tenants_are_throttled() -> None:
    clock = Clock()
    budget = AppBudget(clock)
    budget.throttled("app-1", "t1", 12)
    budget.throttled("app-1", "t1", 12)
    assert budget.hold("app-1") == 0  # one tenant alone: only its own retries wait
    budget.throttled("app-1", "t2", 12)
    assert budget.hold("app-1") == 12
    assert budget.hold("app-2") == 0  # another app is not held
    clock.now += 5
    assert budget.hold("app-1") == 7
    clock.now += 7
    assert budget.hold("app-1") == 0


def test_a_hold_is_capped_and_old_throttling_is_forgotten() -> None:
    clock = Clock()
    budget = AppBudget(clock)
    budget.throttled("app", "t1", 3600)
    budget.throttled("app", "t2", 3600)
    assert budget.hold("app") == MAX_HOLD  # a long Retry-After slows the pool, never stalls it
    later = AppBudget(clock)
    later.throttled("app", "t1", 10)
    clock.now += 31
    later.throttled("app", "t2", 10)  # the first is from another moment: not the app's
    assert later.hold("app") == 0


class Waits(Sleeps):
    """Records each wait and moves the budget's clock by it, as a real wait would."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        super().__call__(seconds)
        self.clock.now += seconds


def _read(
    sim_factory: Callable[..., Simulator], tmp_path: Path, throttled: list[str]
) -> tuple[list[TenantRead], list[float]]:
    sim = sim_factory(tenants=3, knobs=ServerKnobs(retry_after=5))
    baseline = load_baseline(sim.write_baseline(tmp_path / "baseline"))
    configs = [baseline.tenants[name].config for name in sorted(baseline.tenants)]
    for name in throttled:
        sim.tenant(name).faults = {"throttle": 1.0}
    clock = Clock()
    sleeps = Waits(clock)  # records the waits instead of waiting
    source = ExchangeSource(policy=FAST, sleep=sleeps, budget=AppBudget(clock))
    reads = read_tenants(configs, source, concurrency=1)
    return reads, sleeps.delays


def test_a_tenant_waits_when_its_app_is_throttled_on_two_others(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    reads, delays = _read(sim_factory, tmp_path, ["tenant-0001", "tenant-0002"])
    assert [r.ok for r in reads] == [False, False, True]
    retries = FAST.max_attempts - 1
    assert len(delays) == 2 * retries + 1  # each throttled tenant's retries, then the hold
    assert all(d >= 5 for d in delays[:-1])  # Retry-After: 5
    assert 5 <= delays[-1] < 5.1  # the third tenant waited for the app's hold


def test_one_throttled_tenant_does_not_hold_the_others(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    reads, delays = _read(sim_factory, tmp_path, ["tenant-0001"])
    assert [r.ok for r in reads] == [False, True, True]
    assert len(delays) == FAST.max_attempts - 1
