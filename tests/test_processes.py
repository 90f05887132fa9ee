"""Reading tenants in worker processes: the same report as one process, and no tenant lost."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main
from driftguard.errors import ServiceError
from driftguard.live.processes import default_processes, processes_for, read_in_processes
from driftguard.model import Snapshot, TenantConfig
from driftguard.sim import ServerKnobs, Simulator


def _report(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    document.pop("generated_at")
    return document


def test_two_processes_give_the_report_of_one(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=7)
    base = sim.write_baseline(tmp_path / "baseline")
    sim.tenant("tenant-0002").faults = {"forbidden-nonjson": 1.0}  # unreadable: an error
    drifted = sim.tenant("tenant-0005").connectors
    drifted[:] = drifted[1:]  # a connector of the baseline is gone: drift
    common = ["diff", "--baseline", str(base), "--format", "json", "--deadline", "3", "-v"]
    codes = []
    for n in (1, 2):
        codes.append(
            main([*common, "--processes", str(n), "--output", str(tmp_path / f"{n}.json")])
        )
    one, two = _report(tmp_path / "1.json"), _report(tmp_path / "2.json")
    assert codes == [1, 1]
    statuses = {t["tenant"]: t["status"] for t in one["tenants"]}
    assert statuses["tenant-0002"] == "error" and statuses["tenant-0005"] == "drift"
    assert two == one
    err = capsys.readouterr().err
    # the workers' log records reach this process's stderr (-v: every HTTP call)
    assert err.count("/InvokeCommand -> ") >= 2 * 6


class _Refused:
    """A source whose every read fails (this process's share)."""

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        raise ServiceError("HTTP 503")


def _refused_here_dead_elsewhere(parent: int) -> _Refused:
    if os.getpid() != parent:
        os._exit(3)  # a worker process ends while building its source
    return _Refused()


def test_a_worker_that_dies_leaves_its_tenants_an_error_not_a_gap() -> None:
    tenants = [TenantConfig(name=f"t{i}", tenant_id=f"id-{i}") for i in range(5)]
    beats: list[tuple[int, int, int]] = []
    reads = read_in_processes(
        tenants,
        functools.partial(_refused_here_dead_elsewhere, os.getpid()),
        processes=2,
        concurrency=4,
        heartbeat=lambda *beat: beats.append(beat),
    )
    assert [r.tenant for r in reads] == [t.name for t in tenants]
    messages = [r.error.message if r.error else "" for r in reads]
    assert messages[0::2] == ["HTTP 503"] * 3  # read here: their own errors
    assert all("worker process" in m for m in messages[1::2])  # the worker's share: lost
    assert beats[-1] == (5, 5, 5)


def test_how_many_processes() -> None:
    cores = default_processes()
    assert processes_for(None, 10) == 1  # too few tenants to pay for starting interpreters
    assert processes_for(None, 100 * cores) == cores
    assert processes_for(None, 10_000) == min(cores, 64)
    assert processes_for(4, 3) == 3  # never more processes than tenants
    assert processes_for(2, 500) == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "must be at least 1"),
        ("65", "must be at most 64"),
        ("two", "'two' is not a whole number"),
    ],
)
def test_processes_out_of_range_is_a_usage_error(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshot", "--out", "x", "--processes", value]) == 1
    assert f"argument --processes: {message}" in capsys.readouterr().err


def test_ctrl_c_ends_every_process_quietly(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = sim_factory(tenants=40, knobs=ServerKnobs(latency_ms=300))
    base = sim.write_baseline(tmp_path / "baseline")
    argv = ["diff", "--baseline", str(base), "--processes", "2", "--concurrency", "4"]
    run = subprocess.Popen(
        [sys.executable, "-m", "driftguard", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
    )
    try:
        # tenant-0001 is read by this process's share, tenant-0002 by the worker's
        deadline = time.monotonic() + 60
        while not {"tenant-0001", "tenant-0002"} <= {r.tenant for r in sim.requests_log}:
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(run.pid, signal.SIGINT)
        _, err = run.communicate(timeout=20)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130
    assert err == "interrupted\n"  # no traceback from a worker or a reading thread
