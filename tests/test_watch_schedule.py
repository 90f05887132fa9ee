"""Sweep scheduling: reads spread over the interval, jittered starts, a stop mid-sweep records
nothing. The loop runs against the HTTPS simulator with its clock and waits passed in."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from driftguard.baseline.load import load_baseline
from driftguard.live.service import ExchangeSource
from driftguard.sim import Simulator
from driftguard.watch import loop
from driftguard.watch.notify import LogNotifier
from driftguard.watch.schedule import Schedule
from driftguard.watch.state import opened
from livekit import FAST


def test_offsets_spread_reads_over_part_of_the_interval() -> None:
    schedule = Schedule(interval=300, spread=0.5)
    offsets = schedule.start_offsets(4)
    assert offsets == [0.0, 37.5, 75.0, 112.5]
    assert Schedule(interval=300, spread=0).start_offsets(3) == [0.0, 0.0, 0.0]
    assert schedule.start_offsets(0) == []
    rng = random.Random(7)  # noqa: S311 - jitter, not security
    starts = [Schedule(interval=300, jitter=0.1).next_start(rng) for _ in range(200)]
    assert all(270 <= s <= 330 for s in starts)
    assert len({round(s, 3) for s in starts}) > 100  # jittered, not one fixed beat


class _Clock:
    """Monotonic time that only moves when the loop waits: no wall clock in the test."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.lock = threading.Lock()
        self.stop_after: int | None = None

    def monotonic(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        with self.lock:
            if seconds > 0:
                self.waits.append(seconds)
            return self.stop_after is not None and len(self.waits) >= self.stop_after


def _edges(sim: Simulator, base: Path, clock: _Clock, said: list[str]) -> loop.Edges:
    return loop.Edges(
        load=lambda: load_baseline(base),
        select=lambda baseline: sorted(baseline.tenants),
        source=ExchangeSource(policy=FAST),
        evidence=lambda report, _baseline, _snapshot: report,
        notifiers=[LogNotifier(said.append)],
        say=said.append,
        clock=lambda: datetime.now(UTC),
        monotonic=clock.monotonic,
        wait=clock.wait,
        concurrency=4,
    )


def test_each_read_waits_for_its_slot(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = sim_factory(tenants=4)
    base = sim.write_baseline(tmp_path / "baseline")
    clock, said = _Clock(), []
    schedule = Schedule(interval=60, spread=0.5, jitter=0)
    with opened(tmp_path / "watch.sqlite") as state:
        code = loop.run(state, schedule, _edges(sim, base, clock, said), sweeps=2)
        assert code == 0
        sweeps = state.sweeps()
    # Per sweep: tenants 2..4 wait 7.5, 15 and 22.5 s for their slot; between the sweeps the
    # loop waits out the rest of the interval (no jitter here).
    slots = [7.5, 15.0, 22.5]
    assert sorted(clock.waits) == sorted([*slots, 60.0, *slots])
    assert [s.overran for s in sweeps] == [False, False]
    assert sum(1 for line in said if line.startswith("sweep ")) == 2


def test_a_stop_while_reads_wait_records_nothing(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = sim_factory(tenants=3)
    base = sim.write_baseline(tmp_path / "baseline")
    clock, said = _Clock(), []
    clock.stop_after = 1  # SIGTERM arrives while the second tenant waits for its slot
    with opened(tmp_path / "watch.sqlite") as state:
        code = loop.run(state, Schedule(interval=60), _edges(sim, base, clock, said))
        assert code == 0
        assert state.tenants() == []  # no verdict from a half sweep, so no false "unreadable"
        [sweep] = state.sweeps()
        assert sweep.duration is None
    assert said == []
