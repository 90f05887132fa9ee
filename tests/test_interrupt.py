"""Ctrl-C and long waits: every wait says what it waits for and ends within a second of an
interruption, in every worker thread, against the HTTPS simulator (real msal + requests).

The interruption is ``_thread.interrupt_main``: the KeyboardInterrupt a terminal's Ctrl-C raises
in the main thread.
"""

from __future__ import annotations

import _thread
import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from applykit import TENANT, drifted
from driftguard.cli import main
from driftguard.live import waits
from driftguard.live.exchange import RetryPolicy
from driftguard.live.runner import read_tenants
from driftguard.live.service import ExchangeSource
from driftguard.model import TenantConfig
from driftguard.sim import ServerKnobs, Simulator
from livekit import FAST, Sleeps, config_for

TENANTS = ("tenant-0001", "tenant-0002", "tenant-0003")
LONG = RetryPolicy(max_attempts=8, base_delay=1.0, deadline=600, read_timeout=5.0)


class WaitWatcher(logging.Handler):
    """Counts the announced waits; interrupts the main thread once ``after`` are announced."""

    def __init__(self, after: int) -> None:
        super().__init__(logging.INFO)
        self.after = after
        self.lines: list[str] = []
        self.interrupted_at: float | None = None
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        with self.guard:
            if not message.startswith("waiting "):
                return
            self.lines.append(message)
            if len(self.lines) == self.after and self.interrupted_at is None:
                self.interrupted_at = time.monotonic()
                _thread.interrupt_main()


@pytest.fixture
def watcher() -> Iterator[Callable[[int], WaitWatcher]]:
    logger = logging.getLogger("driftguard.progress")
    made: list[WaitWatcher] = []
    level = logger.level

    def make(after: int) -> WaitWatcher:
        handler = WaitWatcher(after)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        made.append(handler)
        return handler

    yield make
    for handler in made:
        logger.removeHandler(handler)
    logger.setLevel(level)
    waits.reset()


def throttled(sim_factory: Callable[..., Simulator], retry_after: int) -> Simulator:
    sim = sim_factory(tenants=len(TENANTS), knobs=ServerKnobs(retry_after=retry_after))
    for name in TENANTS:
        sim.tenant(name).faults = {"throttle": 1.0}
    return sim


def read_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("driftguard-read")]


def test_a_wait_says_what_it_waits_for(
    sim_factory: Callable[..., Simulator], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim = throttled(sim_factory, retry_after=2)
    caplog.set_level(logging.INFO, logger="driftguard.progress")
    sleeps = Sleeps()
    with pytest.raises(Exception, match="HTTP 429"):
        ExchangeSource(policy=FAST, sleep=sleeps).snapshot(config_for(sim, tmp_path))
    lines = [r.getMessage() for r in caplog.records if r.name == "driftguard.progress"]
    assert lines[0] == "waiting 2 s for tenant tenant-0001: throttled (HTTP 429), retry 1 of 3"
    assert lines[-1].endswith("retry 3 of 3")
    assert len(lines) == len(sleeps.delays) == 3


def test_ctrl_c_ends_every_worker_wait_within_a_second(
    sim_factory: Callable[..., Simulator],
    tmp_path: Path,
    watcher: Callable[[int], WaitWatcher],
) -> None:
    sim = throttled(sim_factory, retry_after=90)  # each worker waits 90 s before its retry
    configs: list[TenantConfig] = [config_for(sim, tmp_path, name) for name in TENANTS]
    seen = watcher(len(TENANTS))
    with pytest.raises(KeyboardInterrupt):
        read_tenants(configs, ExchangeSource(policy=LONG), concurrency=len(TENANTS))
    assert seen.interrupted_at is not None
    assert time.monotonic() - seen.interrupted_at < 1.0
    for thread in read_threads():
        thread.join(timeout=10.0)  # ended, not waiting out the 90 s (slack for a busy machine)
    assert read_threads() == []  # nobody sits out the 90 s
    assert time.monotonic() - seen.interrupted_at < 2.0
    assert all("throttled (HTTP 429), retry 1 of 7" in line for line in seen.lines)


def test_ctrl_c_during_a_cli_read_exits_130_at_once(
    sim_factory: Callable[..., Simulator],
    tmp_path: Path,
    watcher: Callable[[int], WaitWatcher],
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = throttled(sim_factory, retry_after=90)
    base = sim.write_baseline(tmp_path / "baseline")
    seen = watcher(len(TENANTS))
    started = time.monotonic()
    code = main(["diff", "--baseline", str(base), "--deadline", "600"])
    assert code == 130
    assert time.monotonic() - started < 30
    for thread in read_threads():
        thread.join(timeout=10.0)  # ended, not waiting out the 90 s (slack for a busy machine)
    assert read_threads() == []
    err = capsys.readouterr().err
    assert "interrupted" in err
    assert "waiting 90 s for tenant tenant-000" in err  # shown on stderr without -v
    assert seen.lines


def test_an_interrupted_apply_says_what_was_done_and_how_to_resume(
    sim_factory: Callable[..., Simulator],
    tmp_path: Path,
    watcher: Callable[[int], WaitWatcher],
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup = drifted(sim_factory, tmp_path)
    code, plan, digest = setup.plan()
    assert code == 2
    setup.sim.state.knobs = dataclasses.replace(setup.sim.state.knobs, retry_after=90)
    stop = threading.Event()

    def throttle_after_first_write() -> None:  # the service starts throttling mid-apply
        while not stop.is_set() and not setup.writes():
            time.sleep(0.005)
        setup.sim.tenant(TENANT).faults = {"throttle": 1.0}

    arm = threading.Thread(target=throttle_after_first_write, daemon=True)
    arm.start()
    seen = watcher(1)
    capsys.readouterr()
    try:
        assert setup.apply(plan, "--approve", digest) == 130
    finally:
        stop.set()
        arm.join(timeout=5)
    assert seen.interrupted_at is not None
    err = capsys.readouterr().err
    done = len(setup.writes())
    assert 1 <= done < 4
    reported = re.search(r"interrupted after (\d) of 4 actions", err)
    assert reported is not None
    assert int(reported.group(1)) in (done - 1, done)  # the last write may await its check
    journal = setup.journal(plan)
    resume = f"driftguard apply {plan} --approve {digest} --resume {journal}"
    assert f"to finish: {resume}" in err
    assert f"driftguard rollback {journal}" in err

    setup.sim.tenant(TENANT).faults = {}
    assert main([*resume.split()[1:], "--baseline", str(setup.baseline)]) == 0
    assert len(setup.writes()) == 4  # nothing done twice
    assert ", 0 failed" in capsys.readouterr().err


def test_ctrl_c_ends_a_device_code_sign_in_that_nobody_completes(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = sim_factory(tenants=1)
    public = sim.apps[2]
    config = config_for(sim, tmp_path, client_id=public.client_id, method="device_code")
    cancelled_at: list[float] = []

    def prompt(_message: str) -> None:  # the person walks away; Ctrl-C a moment later
        def interrupt() -> None:
            cancelled_at.append(time.monotonic())
            waits.cancel()

        threading.Timer(0.3, interrupt).start()

    try:
        with pytest.raises(waits.Cancelled):
            ExchangeSource(policy=LONG, device_code_prompt=prompt).snapshot(config)
    finally:
        waits.reset()
    assert cancelled_at and time.monotonic() - cancelled_at[0] < 1.5
