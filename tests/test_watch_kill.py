"""`driftguard watch` killed with SIGKILL and restarted: no lost and no repeated notification.

The watch runs in a subprocess against the in-test HTTPS simulator; the test reads its SQLite
state (read-only) to count sweeps instead of timing them. The crashes at a named point are the
harness's (kill_watch.py): no switch in driftguard kills it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from driftguard.sim import Simulator
from watchkit import TENANT, Receiver, add_rogue_ip, query, wait_for

KEY = f"driftguard:{TENANT}:sweep-2:new_drift"


def _command(base: Path, state: Path, receiver: Receiver, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "driftguard",
        "watch",
        "--baseline",
        str(base),
        "--state",
        str(state),
        "--interval",
        "0.5",
        "--deadline",
        "5",
        "--notify",
        receiver.target,
        *extra,
    ]


def _finished_sweeps(state: Path) -> int:
    if not state.exists():
        return 0
    try:
        [(count,)] = query(state, "SELECT count(*) FROM sweeps WHERE finished_at IS NOT NULL")
    except Exception:  # the database is being created
        return 0
    return int(count)


def test_sigkill_of_a_running_watch_loses_and_repeats_nothing(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = sim_factory(tenants=2)
    base = sim.write_baseline(tmp_path / "baseline")
    state = tmp_path / "watch.sqlite"
    receiver = Receiver.make(tmp_path / "receiver", up=False)  # the chat service is down

    # Its own session, so the kill takes the notifier it may be running too, as systemd's
    # default KillMode and a container's stop do: a notifier left running could still deliver
    # after the kill, which is the one duplicate the Idempotency-Key is for (test below).
    watch = subprocess.Popen(
        _command(base, state, receiver),
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _finished_sweeps(state) >= 1, "the first sweep")
        before = _finished_sweeps(state)
        add_rogue_ip(sim)
        wait_for(
            lambda: bool(query(state, "SELECT 1 FROM outbox WHERE tenant=?", TENANT)),
            "the notification to be recorded",
        )
        os.killpg(watch.pid, signal.SIGKILL)
    finally:
        watch.kill()
        watch.wait(timeout=30)
    assert watch.returncode == -signal.SIGKILL
    [(key, sweep, sent)] = query(state, "SELECT key, sweep, sent_at FROM outbox")
    assert sent is None and receiver.received() == []
    # Noticed within one interval: by the first sweep that began after the change.
    assert sweep <= before + 2

    receiver.up()
    again = subprocess.run(
        _command(base, state, receiver, "--sweeps", "2"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 2, again.stderr
    assert [n["key"] for n in receiver.received()] == [key]
    assert [n["change"] for n in receiver.received()] == ["new_drift"]
    assert query(state, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(0,)]


@pytest.mark.parametrize(("point", "deliveries"), [("recorded", 1), ("sent", 2)])
def test_sigkill_around_delivery(
    point: str, deliveries: int, sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    """Killed after the outbox row is committed: the restart delivers it, once. Killed after
    the target accepted but before the row was marked: delivered again, once, with the same key
    (the one duplicate a receiver can drop by its Idempotency-Key)."""
    sim = sim_factory(tenants=1)
    base = sim.write_baseline(tmp_path / "baseline")
    state = tmp_path / "watch.sqlite"
    receiver = Receiver.make(tmp_path / "receiver")
    first = _command(base, state, receiver, "--once")
    assert subprocess.run(first, capture_output=True, timeout=120, check=False).returncode == 0

    add_rogue_ip(sim)
    assert first[1:4] == ["-m", "driftguard", "watch"]
    dying = [sys.executable, str(Path(__file__).with_name("kill_watch.py")), point, *first[4:]]
    killed = subprocess.run(dying, capture_output=True, timeout=120, check=False)
    assert killed.returncode == -signal.SIGKILL
    assert len(receiver.received()) == deliveries - 1

    for _ in range(2):
        code = subprocess.run(first, capture_output=True, timeout=120, check=False).returncode
        assert code == 2
    keys = [n["key"] for n in receiver.received()]
    assert keys == [KEY] * deliveries


def test_sigterm_stops_the_service_with_exit_0(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    """A service manager's stop is not a failure, even while a tenant drifts."""
    sim = sim_factory(tenants=1)
    base = sim.write_baseline(tmp_path / "baseline")
    add_rogue_ip(sim)
    state = tmp_path / "watch.sqlite"
    receiver = Receiver.make(tmp_path / "receiver")
    watch = subprocess.Popen(_command(base, state, receiver), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _finished_sweeps(state) >= 1, "the first sweep")
        watch.send_signal(signal.SIGTERM)
        _, err = watch.communicate(timeout=60)
    finally:
        watch.kill()
        watch.wait(timeout=30)
    assert watch.returncode == 0, err
    assert "1 drift" in err
    assert [n["change"] for n in receiver.received()] == ["new_drift"]
