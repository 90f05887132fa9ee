"""Many tenants: simulated tenants at 100 ms latency per request, read with a bounded pool.

The simulator runs as ``driftguard sim serve`` in its own process (so its CPU does not share our
interpreter's lock), over HTTPS on loopback, with 10,000 tenants. driftguard reads them through
the real stack (msal certificate sign-in, OIDC discovery, Get-InboundConnector) and the CLI's
default transport (per-tenant sessions sharing one connection pool). Every HTTP request is
counted by the simulator (its request log: discovery and token requests included).

Concurrency 32 in total throughout. One interpreter spends about 7-8 ms of CPU per tenant (msal
app and signed assertion, three requests through requests/urllib3/TLS), the simulator about 4 ms,
on the same two cores. Splitting the tenants over one process per core (``--processes``, the
CLI's default from 100 tenants per process) costs more CPU per tenant (another interpreter, its
own connections) and here competes with the simulator for the same cores; against a remote
service the client has the cores to itself. Both are measured.

Records:
- ``tenants_vs_ideal``: 500 tenants in one process, wall time / ideal (requests x latency /
  concurrency), target <= 1.25 (a quick record: the single-process path).
- ``tenants_vs_sequential``: speed-up over the same client at concurrency 1. The sequential run is
  measured on the first 25 tenants and scaled linearly to 500 (target >= 20).
- ``tenants_2000_vs_ideal``: 2,000 tenants in one process, target <= 1.25; and
  ``tenants_2000_processes_vs_ideal``: the same over one process per core. Client CPU per tenant
  (this process and its workers) is in the target text.
- ``tenants_10000_memory_mb``: one ``driftguard diff`` over 10,000 tenants (baseline loading,
  reads and judging: the command as run, its JSON report written), one worker process per core:
  growth of the resident set of this process plus its worker processes (sampled every 10 ms from
  /proc, so earlier benchmarks in the same process do not hide it, as a high-water mark like
  ``ru_maxrss`` would), against 200 MB; its wall time against the ideal is in the target text.
- ``tenants_10000_diff_vs_load_first``: that diff's wall time against the same diff made the way
  it was before the reads overlapped the baseline loading: the whole baseline loaded and checked,
  then every tenant read (snapshots kept), then every tenant judged (``--explain``'s path, kept).
  Target < 1; the ideal ratio of each run is in the target text.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TENANTS = 500
TENANTS_TARGET = 2_000
TENANTS_SWEEP = 10_000
LATENCY_MS = 100
CONCURRENCY = 32
SEQUENTIAL_SAMPLE = 25
TARGET_IDEAL = 1.25
TARGET_SPEEDUP = 20.0
TARGET_MEMORY_MB = 200.0


class _Sim:
    """The simulator's request log, counted (every request it answered, sign-in included)."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.url = str(info["url"])
        self.ca = str(info["ca"])

    def requests(self) -> int:
        import requests

        answer = requests.get(f"{self.url}/_sim/requests", verify=self.ca, timeout=120)
        answer.raise_for_status()
        return sum(1 for row in answer.json()["value"] if row["endpoint"] != "sim-admin")


@dataclass(frozen=True)
class _Run:
    wall: float
    requests: int
    failed: int
    cpu: float  # client CPU seconds: this process and the worker processes it waited for

    @property
    def ideal(self) -> float:
        return self.requests * (LATENCY_MS / 1000.0) / CONCURRENCY


def _read(configs: list[Any], sim: _Sim, concurrency: int, processes: int = 1) -> _Run:
    """Read ``configs`` as the CLI does: in this process, or over ``processes`` workers."""
    import functools

    from driftguard.cli._live import worker_source
    from driftguard.live.exchange import RetryPolicy
    from driftguard.live.processes import read_in_processes
    from driftguard.live.runner import read_tenants
    from driftguard.live.service import ExchangeSource, PooledSessions

    before = sim.requests()
    cpu = _client_cpu()
    start = time.perf_counter()
    if processes > 1:
        recipe = functools.partial(worker_source, RetryPolicy(), concurrency)
        reads = read_in_processes(configs, recipe, processes=processes, concurrency=concurrency)
    else:
        pool = PooledSessions(pool_size=concurrency)  # the CLI's default transport
        reads = read_tenants(configs, ExchangeSource(session_factory=pool), concurrency=concurrency)
    elapsed = time.perf_counter() - start
    cpu = _client_cpu() - cpu
    failed = sum(1 for r in reads if not r.ok)
    del reads
    return _Run(elapsed, sim.requests() - before, failed, cpu)


def _diff(base: Path, sim: _Sim, processes: int, out: Path, *, streamed: bool = True) -> _Run:
    """``driftguard diff`` over every tenant of ``base`` as the CLI runs it (``streamed``), or
    loading the whole baseline first, then reading every tenant, then judging them; the JSON
    report goes to ``out``. Exit 2 is fine (the simulator's estate has drifted tenants), 1 not."""
    import io

    from driftguard.cli import main

    argv = [
        "diff", "--baseline", str(base), "--format", "json", "--output", str(out),
        "--concurrency", str(CONCURRENCY), "--processes", str(processes),
    ]  # fmt: skip
    before = sim.requests()
    cpu = _client_cpu()
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the progress lines
        code = main(argv) if streamed else _load_first(argv)
    elapsed = time.perf_counter() - start
    cpu = _client_cpu() - cpu
    if code not in (0, 2):
        raise RuntimeError(f"diff exited {code}: a tenant could not be read")
    return _Run(elapsed, sim.requests() - before, 0, cpu)


def _verdicts(report: Path) -> Any:
    """The report but the time it was made."""
    document = json.loads(report.read_text(encoding="utf-8"))
    document.pop("generated_at")
    return document


def _load_first(argv: list[str]) -> int:
    """The diff as it was: load everything, read everything, judge everything."""
    from datetime import UTC, datetime

    from driftguard.app.diff import diff_report
    from driftguard.baseline.load import load_requested
    from driftguard.cli import build_parser
    from driftguard.cli._live import selected_tenants, snapshots_for
    from driftguard.cli._output import emit_report

    args = build_parser("diff").parse_args(argv)
    baseline = load_requested(args.baseline, args.tenants)
    names = selected_tenants(args, baseline)
    snapshots = snapshots_for(args, baseline, names)
    report = diff_report(baseline, names, snapshots, datetime.now(UTC))
    emit_report(report, args.format, args.output)
    return report.exit_code


def _client_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers, once joined (not the sim)
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a child process has used so far (Linux; 0 elsewhere)."""
    import os

    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _rss_mb(exclude: int = 0) -> float:
    """The resident set now of this process and its children but ``exclude`` (Linux), else the
    process's high-water mark."""
    try:
        pids = ["self"] + [p for p in _children() if p != str(exclude)]
        return sum(_statm_mb(pid) for pid in pids)
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _children() -> list[str]:
    found: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            found += (task / "children").read_text().split()
    return found


def _statm_mb(pid: str) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except FileNotFoundError:  # a worker that just ended
        return 0.0


class _PeakRss:
    """Samples the resident set in a thread while the block runs; ``growth`` is peak - start."""

    def __init__(self, exclude: int) -> None:
        self.exclude = exclude  # the simulator's pid: not ours

    def __enter__(self) -> _PeakRss:
        self.start = self.peak = _rss_mb(self.exclude)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _rss_mb(self.exclude))

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb(self.exclude))

    @property
    def growth(self) -> float:
        return self.peak - self.start


@contextlib.contextmanager
def served(tenants: int, folder: Path) -> Iterator[tuple[_Sim, Path, int]]:
    """``driftguard sim serve`` in its own process: the simulator, the baseline it wrote under
    ``folder``, and its process id (for its CPU time, and to leave it out of ours)."""
    base = folder / "baseline"
    cmd = [
        sys.executable, "-m", "driftguard", "sim", "serve",
        "--tenants", str(tenants), "--latency-ms", str(LATENCY_MS),
        "--write-baseline", str(base),
    ]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            raise RuntimeError(f"sim serve did not start: {server.stderr and server.stderr.read()}")
        yield _Sim(json.loads(line)), base, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def run() -> list[dict[str, Any]]:
    from driftguard.baseline.load import load_baseline
    from driftguard.live.processes import default_processes

    processes = default_processes()
    with (
        tempfile.TemporaryDirectory(prefix="dg-bench-tenants-") as tmp,
        served(TENANTS_SWEEP, Path(tmp)) as (sim, base, pid),
    ):
        configs = [t.config for t in load_baseline(base).tenants.values()]
        configs.sort(key=lambda c: c.name)

        sequential = _read(configs[:SEQUENTIAL_SAMPLE], sim, 1)
        sim_cpu = _cpu_of(pid)
        quick = _read(configs[:TENANTS], sim, CONCURRENCY)
        sim_cpu = _cpu_of(pid) - sim_cpu
        target = _read(configs[:TENANTS_TARGET], sim, CONCURRENCY)
        split = _read(configs[:TENANTS_TARGET], sim, CONCURRENCY, processes)
        del configs
        reports = Path(tmp) / "streamed.json", Path(tmp) / "first.json"
        with _PeakRss(exclude=pid) as rss:
            sweep = _diff(base, sim, processes, reports[0])
        with _PeakRss(exclude=pid) as first_rss:
            first = _diff(base, sim, processes, reports[1], streamed=False)
        if _verdicts(reports[0]) != _verdicts(reports[1]):
            raise RuntimeError("the two diffs of the same estate gave different reports")
    failed = sequential.failed + quick.failed + target.failed + split.failed
    if failed:
        raise RuntimeError(f"{failed} tenant reads failed")

    scaled = sequential.wall * TENANTS / SEQUENTIAL_SAMPLE
    speedup = scaled / quick.wall
    return [
        _vs_ideal("tenants_vs_ideal", quick, TENANTS, 1, f"; simulator CPU {sim_cpu:.2f} s"),
        {
            "name": "tenants_vs_sequential",
            "value": round(quick.wall, 3),
            "reference": round(scaled, 3),
            "ratio": round(speedup, 2),
            "target": f">= {TARGET_SPEEDUP}x faster (sequential measured on {SEQUENTIAL_SAMPLE} "
            f"tenants: {sequential.wall:.2f} s, {sequential.requests} requests; scaled to "
            f"{TENANTS})",
            "ok": speedup >= TARGET_SPEEDUP,
        },
        _vs_ideal("tenants_2000_vs_ideal", target, TENANTS_TARGET, 1, ""),
        _vs_ideal("tenants_2000_processes_vs_ideal", split, TENANTS_TARGET, processes, ""),
        {
            "name": "tenants_10000_memory_mb",
            "value": round(rss.growth, 1),
            "reference": TARGET_MEMORY_MB,
            "ratio": round(rss.growth / TARGET_MEMORY_MB, 3),
            "target": f"< {TARGET_MEMORY_MB} MB resident-set growth, this process and its "
            f"{processes} workers, one diff of {TENANTS_SWEEP} tenants (peak {rss.peak:.0f} "
            f"MB; {sweep.wall:.1f} s against an ideal of {sweep.ideal:.1f} s: "
            f"{sweep.wall / sweep.ideal:.2f}x; client CPU "
            f"{1000 * sweep.cpu / TENANTS_SWEEP:.2f} ms per tenant)",
            "ok": rss.growth < TARGET_MEMORY_MB,
        },
        {
            "name": "tenants_10000_diff_vs_load_first",
            "value": round(sweep.wall, 3),
            "reference": round(first.wall, 3),
            "ratio": round(sweep.wall / first.wall, 3),
            "target": f"< 1 (diff of {TENANTS_SWEEP} tenants, {processes} processes: "
            f"{sweep.wall / sweep.ideal:.2f}x its ideal, {rss.growth:.0f} MB growth; loading "
            f"first: {first.wall / first.ideal:.2f}x its ideal of {first.ideal:.1f} s, "
            f"{first_rss.growth:.0f} MB growth, client CPU "
            f"{1000 * first.cpu / TENANTS_SWEEP:.2f} ms per tenant)",
            "ok": sweep.wall < first.wall,
        },
    ]


def _vs_ideal(name: str, run: _Run, tenants: int, processes: int, extra: str) -> dict[str, Any]:
    ratio = run.wall / run.ideal
    return {
        "name": name,
        "value": round(run.wall, 3),
        "reference": round(run.ideal, 3),
        "ratio": round(ratio, 3),
        "target": f"<= {TARGET_IDEAL} ({tenants} tenants, {run.requests} requests "
        f"({run.requests / tenants:.1f}/tenant, token and discovery included) x {LATENCY_MS} ms "
        f"/ concurrency {CONCURRENCY}, {processes} process{'es' if processes > 1 else ''}; "
        f"client CPU {run.cpu:.2f} s = {1000 * run.cpu / tenants:.2f} ms per tenant{extra}; "
        f"{_cores()} cores)",
        "ok": ratio <= TARGET_IDEAL,
    }
