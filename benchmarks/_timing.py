"""Shared helpers: wall time of a command, medians of interleaved runs, CPU time, peak memory."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Collection, Sequence
from pathlib import Path


def wall(cmd: Sequence[str], *, cwd: Path | None = None, codes: Collection[int] = (0,)) -> float:
    """Seconds one run of ``cmd`` takes; raises if it fails, i.e. exits with a code not in
    ``codes`` (a failed run is not a timing)."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in codes:
        tail = done.stderr.decode(errors="replace")[-500:]
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {tail}")
    return elapsed


def medians(
    commands: dict[str, Sequence[str]],
    runs: int,
    *,
    cwd: Path | None = None,
    warmup: int = 1,
    codes: Collection[int] = (0,),
) -> dict[str, float]:
    """Median wall time of each command; runs are interleaved so load spikes hit all alike."""
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(warmup):
        for cmd in commands.values():
            wall(cmd, cwd=cwd, codes=codes)
    for _ in range(runs):
        for key, cmd in commands.items():
            times[key].append(wall(cmd, cwd=cwd, codes=codes))
    return {k: statistics.median(v) for k, v in times.items()}


def driftguard_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m driftguard``."""
    script = Path(sys.executable).parent / "driftguard"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("driftguard")
    return [found] if found else [sys.executable, "-m", "driftguard"]


def cpu_seconds(fn: Callable[[], object], repeat: int = 1) -> float:
    """CPU seconds of one call of ``fn`` (the mean of ``repeat`` back-to-back calls)."""
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def best_cpu(
    fns: dict[str, Callable[[], object]], runs: int
) -> tuple[dict[str, float], set[object]]:
    """The least CPU seconds of each call over ``runs`` interleaved rounds (a load spike hits
    all alike), and the set of what the calls returned (to check they did the same work)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    results: set[object] = set()
    for _ in range(runs):
        for key, fn in fns.items():
            start = time.process_time()
            results.add(fn())
            times[key].append(time.process_time() - start)
    return {k: min(v) for k, v in times.items()}, results


def peak_mb(fn: Callable[[], object]) -> float:
    """tracemalloc's peak, in MB, while ``fn`` runs once."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference > 0 else float("inf")


def record(name: str, value: float, reference: float, target: float) -> dict[str, object]:
    ratio = _ratio(value, reference)
    return {
        "name": name,
        "value": round(value, 4),
        "reference": round(reference, 4),
        "ratio": round(ratio, 2),
        "target": target,
        "ok": ratio < target,
    }


def cpu_record(
    name: str, value: float, reference: float, target: float, limit: float | None
) -> dict[str, object]:
    """A CPU-seconds record: ok when the ratio is at most ``target`` and ``value`` < ``limit``."""
    ratio = _ratio(value, reference)
    return {
        "name": name,
        "value": round(value, 4),
        "reference": round(reference, 4),
        "ratio": round(ratio, 2),
        "target": target,
        "ok": ratio <= target and (limit is None or value < limit),
        "unit": "cpu_seconds",
        **({"limit": limit} if limit is not None else {}),
    }
