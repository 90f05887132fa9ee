"""Reading many tenants: a bounded thread pool, per-tenant isolation, deterministic shards.

The work is I/O-bound, so threads suffice. The work on a tenant is its read, or its read and what
follows it (``diff`` judges each tenant in the thread that read it, then drops the snapshot).
One tenant's failure becomes that tenant's LiveReadError and never stops the others; results
come back in the order the tenants were given.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol, TypeVar

from driftguard.errors import DriftguardError, InputError, LiveReadError
from driftguard.live import waits
from driftguard.live.source import Source
from driftguard.model import Snapshot, TenantConfig

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 256

T = TypeVar("T")


@dataclass(frozen=True)
class TenantRead:
    """The outcome of reading one tenant: a snapshot or the error that prevented it."""

    tenant: str
    snapshot: Snapshot | None = None
    error: LiveReadError | None = None

    @property
    def ok(self) -> bool:
        return self.snapshot is not None and self.error is None


# Called after each tenant finishes: (tenants done, tenants in total, tenant, read ok?)
Progress = Callable[[int, int, str, bool], None]
# Called every ``interval`` seconds while tenants are read, and once at the end:
# (tenants done, tenants in total, errors so far). For logs that nobody watches live (CI).
Heartbeat = Callable[[int, int, int], None]
HEARTBEAT_INTERVAL = 10.0
WAKE_EVERY = 0.5  # seconds


def read_tenants(
    tenants: Sequence[TenantConfig],
    source: Source,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    heartbeat: Heartbeat | None = None,
    interval: float = HEARTBEAT_INTERVAL,
) -> list[TenantRead]:
    """Read every tenant with at most ``concurrency`` reads in flight; results in input order.

    An interruption (Ctrl-C in this thread) cancels the reads not started and ends every wait
    of the running ones (``waits.cancel``), so the process exits within a second.
    """
    return run_tenants(
        tenants,
        functools.partial(read_one, source),
        concurrency=concurrency,
        progress=progress,
        heartbeat=heartbeat,
        interval=interval,
    )


class Outcome(Protocol):
    """What the work on one tenant gave: a read, or more (a read and its verdict)."""

    @property
    def tenant(self) -> str: ...

    @property
    def ok(self) -> bool: ...


OutcomeT = TypeVar("OutcomeT", bound=Outcome)
# The work on one tenant, run in a thread of the pool; it never raises for the tenant's sake
# (a failure is the outcome's error), so one tenant never stops the others.
Work = Callable[[TenantConfig], OutcomeT]


class Stopped(Exception):
    """The first outcome the caller's ``until`` held for: the run stopped there. The work not
    started never starts, and the waits and requests of the running work end
    (``waits.cancel``), as on Ctrl-C."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"stopped at tenant {outcome.tenant}")
        self.outcome = outcome


def run_tenants(
    tenants: Sequence[TenantConfig],
    work: Work[OutcomeT],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    heartbeat: Heartbeat | None = None,
    interval: float = HEARTBEAT_INTERVAL,
    until: Callable[[OutcomeT], bool] | None = None,
) -> list[OutcomeT]:
    """``work`` on every tenant, at most ``concurrency`` at a time; outcomes in input order.
    Raises ``Stopped`` at the first outcome ``until`` holds for."""
    results: dict[int, OutcomeT] = {}
    errors = 0
    for index, outcome in outcomes_as_done(
        tenants, work, concurrency=concurrency, interval=interval
    ):
        if isinstance(outcome, Beat):
            if heartbeat is not None:
                heartbeat(len(results), len(tenants), errors)
            continue
        results[index] = outcome
        errors += 0 if outcome.ok else 1
        if progress is not None:
            progress(len(results), len(tenants), outcome.tenant, outcome.ok)
        if until is not None and until(outcome):
            raise Stopped(outcome)
    if heartbeat is not None and tenants:
        heartbeat(len(results), len(tenants), errors)
    return [results[i] for i in range(len(tenants))]


@dataclass(frozen=True)
class Beat:
    """Yielded by ``outcomes_as_done`` every ``interval`` seconds (heartbeats), not a read."""


def reads_as_done(
    tenants: Sequence[TenantConfig],
    source: Source,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    interval: float = HEARTBEAT_INTERVAL,
) -> Iterator[tuple[int, TenantRead | Beat]]:
    """(position in ``tenants``, its read) as each read finishes, and ``(-1, Beat())`` every
    ``interval`` seconds: a caller that streams the reads keeps none of them alive."""
    work = functools.partial(read_one, source)
    return outcomes_as_done(tenants, work, concurrency=concurrency, interval=interval)


def outcomes_as_done(
    tenants: Sequence[TenantConfig],
    work: Work[OutcomeT],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    interval: float = HEARTBEAT_INTERVAL,
) -> Iterator[tuple[int, OutcomeT | Beat]]:
    """(position in ``tenants``, its outcome) as each tenant's ``work`` finishes, and
    ``(-1, Beat())`` every ``interval`` seconds. The work starts in input order. Leaving the
    loop early (an exception in the caller, Ctrl-C) cancels the work not started and ends every
    wait of the running work (``waits.cancel``)."""
    if not tenants:
        return
    workers = max(1, min(concurrency, MAX_CONCURRENCY, len(tenants)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="driftguard-read")
    queued = iter(enumerate(tenants))
    # Work is submitted a window at a time, in order: each wait below costs in proportion to
    # the futures it watches, so submitting every tenant at once made a run quadratic in tenants.
    window = 2 * workers
    futures: dict[Future[OutcomeT], int] = {}
    try:
        for i, tenant in itertools.islice(queued, window):
            futures[pool.submit(work, tenant)] = i
        next_beat = time.monotonic() + interval
        while futures:
            # Never block for long: a Ctrl-C that the kernel delivered to a worker thread is
            # only seen when this thread wakes up.
            timeout = min(WAKE_EVERY, max(0.0, next_beat - time.monotonic()))
            finished, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in finished:
                yield futures.pop(future), future.result()
            for i, tenant in itertools.islice(queued, window - len(futures)):
                futures[pool.submit(work, tenant)] = i
            if time.monotonic() >= next_beat:
                yield -1, Beat()
                next_beat = time.monotonic() + interval
    except BaseException:
        waits.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def read_one(source: Source, tenant: TenantConfig) -> TenantRead:
    """Read one tenant; any failure becomes its LiveReadError (never a partial snapshot)."""
    started = time.monotonic()
    outcome = _read_one(source, tenant)
    log.info(
        "tenant %s: %s in %.2f s",
        tenant.name,
        "read" if outcome.ok else "not read",
        time.monotonic() - started,
    )
    return outcome


def _read_one(source: Source, tenant: TenantConfig) -> TenantRead:
    try:
        return TenantRead(tenant.name, snapshot=source.snapshot(tenant))
    except LiveReadError as exc:
        if exc.tenant is None:
            exc.tenant = tenant.name
        return TenantRead(tenant.name, error=exc)
    except DriftguardError as exc:
        return TenantRead(tenant.name, error=_wrap(tenant.name, exc.message, exc.hint))
    except Exception as exc:  # a bug must cost one tenant its verdict, not the whole run
        text = " ".join(str(exc).split())[:200]
        return TenantRead(
            tenant.name,
            error=_wrap(tenant.name, f"unexpected {type(exc).__name__}: {text}", None),
        )


def _wrap(tenant: str, message: str, hint: str | None) -> LiveReadError:
    return LiveReadError(message, tenant=tenant, hint=hint)


# --------------------------------------------------------------------------- shards

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (1 <= K <= N) -> (K, N)."""
    match = _SHARD.match(text)
    if not match:
        raise InputError(f"--shard {text!r}: expected K/N, e.g. 1/4")
    k, n = int(match.group(1)), int(match.group(2))
    if n < 1 or not 1 <= k <= n:
        raise InputError(f"--shard {text}: K must be between 1 and N (N >= 1)")
    return k, n


def shard(items: Sequence[T], k: int, n: int, name: Callable[[T], str]) -> list[T]:
    """The K-th of N shards: items whose position in name order is congruent to K-1 mod N.

    Every item lands in exactly one shard and shard sizes differ by at most one; the split
    depends only on the set of names, never on input order. Input order is kept.
    """
    ordered = sorted(items, key=name)
    chosen = {id(item) for item in ordered[k - 1 :: n]}
    return [item for item in items if id(item) in chosen]
