"""Reading many tenants in several processes, merged as if one process had read them.

One interpreter reads on one core at a time (TLS, JSON, msal's signing are CPU work under its
lock), so a run over hundreds of tenants splits them over N shares, each read by its own thread
pool (``runner.reads_as_done``): this process reads the first share itself, a worker process each
of the others. The reads are merged in the tenants' order: the outcome is that of a single
process run. Workers start with ``spawn`` (a fresh interpreter: no thread or lock of the parent is
inherited), build their source from a picklable recipe, send each read back as soon as it is
finished (nothing piles up in a worker) and forward their log records to the parent's loggers. A
worker that dies leaves each of its unread tenants an error, never a gap. The work on a tenant may
be more than its read (``run_in_processes``): ``diff`` judges each tenant in the worker that read
it and sends back only its report."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from types import MappingProxyType
from typing import Any, Generic

from driftguard.errors import LiveReadError
from driftguard.live import waits
from driftguard.live.runner import (
    HEARTBEAT_INTERVAL,
    WAKE_EVERY,
    Beat,
    Heartbeat,
    OutcomeT,
    Progress,
    Stopped,
    TenantRead,
    Work,
    outcomes_as_done,
    read_one,
)
from driftguard.live.source import Source
from driftguard.model import TenantConfig

# Below this many tenants per process, starting an interpreter costs more than it saves.
MIN_TENANTS_PER_PROCESS = 100
MAX_PROCESSES = 64
# How long the parent waits for the last messages of a worker that ended without saying so.
DRAIN = 1.0

SourceRecipe = Callable[[], Source]  # picklable: a module-level function or a partial of one
# The work of one share, made where the share is worked on (a worker process, or this one) from
# the share's tenants, and ended when the share is done. Picklable, as a SourceRecipe.
ShareWork = Callable[[Sequence[TenantConfig]], contextlib.AbstractContextManager[Work[OutcomeT]]]
# The outcome of a tenant whose worker ended before its outcome was sent.
Lost = Callable[[TenantConfig, LiveReadError], OutcomeT]


def _read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


def _reduce_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _read_only, (dict(proxy),)


# The loaded baseline's read-only mappings (a tenant's auth block) cross to the workers as such.
ForkingPickler.register(MappingProxyType, _reduce_proxy)


def default_processes() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def processes_for(requested: int | None, tenants: int) -> int:
    """How many processes read ``tenants``: as asked (never more than one per tenant), or by
    default the core count, as long as each process gets ``MIN_TENANTS_PER_PROCESS``."""
    if requested is None:
        wanted = min(default_processes(), tenants // MIN_TENANTS_PER_PROCESS)
    else:
        wanted = min(requested, tenants)
    return max(1, min(wanted, MAX_PROCESSES))


@dataclass(frozen=True)
class _Read(Generic[OutcomeT]):
    index: int
    read: OutcomeT


@dataclass(frozen=True)
class _Log:
    name: str
    level: int
    message: str


@dataclass(frozen=True)
class _Done:
    worker: int


def read_in_processes(
    tenants: Sequence[TenantConfig],
    recipe: SourceRecipe,
    *,
    processes: int,
    concurrency: int,
    progress: Progress | None = None,
    heartbeat: Heartbeat | None = None,
    interval: float = HEARTBEAT_INTERVAL,
) -> list[TenantRead]:
    """Every tenant's read, in input order, from ``processes`` workers that together keep at
    most ``concurrency`` reads in flight (rounded up to a multiple of ``processes``)."""
    return run_in_processes(
        tenants,
        functools.partial(reading, recipe),
        lost_read,
        processes=processes,
        concurrency=concurrency,
        progress=progress,
        heartbeat=heartbeat,
        interval=interval,
    )


@contextlib.contextmanager
def reading(recipe: SourceRecipe, _share: Sequence[TenantConfig]) -> Iterator[Work[TenantRead]]:
    """The work of reading a share: each tenant's read from the recipe's source, whose
    connections are closed when the share is done."""
    source = recipe()
    try:
        yield functools.partial(read_one, source)
    finally:
        close = getattr(getattr(source, "session_factory", None), "close", None)
        if close is not None:
            close()


def lost_read(tenant: TenantConfig, error: LiveReadError) -> TenantRead:
    return TenantRead(tenant.name, error=error)


def run_in_processes(
    tenants: Sequence[TenantConfig],
    share_work: ShareWork[OutcomeT],
    lost: Lost[OutcomeT],
    *,
    processes: int,
    concurrency: int,
    progress: Progress | None = None,
    heartbeat: Heartbeat | None = None,
    interval: float = HEARTBEAT_INTERVAL,
    until: Callable[[OutcomeT], bool] | None = None,
) -> list[OutcomeT]:
    """``share_work``'s outcome for every tenant, in input order, from ``processes`` workers
    that together keep at most ``concurrency`` tenants in work (rounded up to a multiple of
    ``processes``); a tenant whose worker died gets ``lost``'s outcome. Raises
    ``runner.Stopped`` at the first outcome ``until`` holds for (the workers are ended)."""
    if not tenants:
        return []
    count = max(1, min(processes, len(tenants)))
    per_worker = max(1, math.ceil(concurrency / count))
    context = multiprocessing.get_context("spawn")
    inbox: Any = context.Queue()
    level = logging.getLogger("driftguard").getEffectiveLevel()
    shares = [[(i, tenants[i]) for i in range(k, len(tenants), count)] for k in range(count)]
    # This process reads the first share itself (its interpreter is ready); workers the others.
    workers: list[threading.Thread | BaseProcess] = [
        threading.Thread(
            target=_read_share,
            args=(0, shares[0], share_work, per_worker, inbox),
            name="driftguard-reader-0",
            daemon=True,
        )
    ]
    workers += [
        context.Process(
            target=_work,
            args=(k, shares[k], share_work, per_worker, inbox, level),
            name=f"driftguard-reader-{k}",
            daemon=True,
        )
        for k in range(1, count)
    ]
    merged: _Merged[OutcomeT] = _Merged(len(tenants), progress, until)
    started: list[threading.Thread | BaseProcess] = []
    try:
        for worker in workers:
            worker.start()
            started.append(worker)
        running = set(range(count))
        next_beat = time.monotonic() + interval
        while running:
            wait = min(WAKE_EVERY, max(0.0, next_beat - time.monotonic()))
            running -= merged.take(_messages(inbox, wait))
            for k in [k for k in running if not workers[k].is_alive()]:
                # Ended without a word yet: take what is still in the pipe, then give up on it
                # (its unread tenants fail below).
                end = time.monotonic() + DRAIN
                while k in running and time.monotonic() < end:
                    running -= merged.take(_messages(inbox, 0.05))
                running.discard(k)
            if heartbeat is not None and time.monotonic() >= next_beat:
                heartbeat(len(merged.results), len(tenants), merged.errors)
                next_beat = time.monotonic() + interval
    except BaseException:
        waits.cancel()  # ends the reads of this process's share at once
        raise
    finally:
        for worker in started:
            if isinstance(worker, BaseProcess) and worker.is_alive():
                worker.terminate()
        for worker in started:
            worker.join(timeout=5)
        inbox.close()
    results = merged.results
    for i, tenant in enumerate(tenants):
        if i not in results:
            results[i] = lost(tenant, _lost(tenant.name))
    if heartbeat is not None:
        heartbeat(len(tenants), len(tenants), sum(1 for r in results.values() if not r.ok))
    return [results[i] for i in range(len(tenants))]


class _Merged(Generic[OutcomeT]):
    """The outcomes received so far, by position; log records replayed on the parent's loggers."""

    def __init__(
        self,
        total: int,
        progress: Progress | None,
        until: Callable[[OutcomeT], bool] | None = None,
    ) -> None:
        self.total = total
        self.progress = progress
        self.until = until
        self.results: dict[int, OutcomeT] = {}
        self.errors = 0

    def take(self, messages: list[object]) -> set[int]:
        """Merge ``messages``; the workers that said they are done."""
        done: set[int] = set()
        for message in messages:
            if isinstance(message, _Read):
                self.results[message.index] = message.read
                self.errors += 0 if message.read.ok else 1
                read = message.read
                if self.progress is not None:
                    self.progress(len(self.results), self.total, read.tenant, read.ok)
                if self.until is not None and self.until(read):
                    raise Stopped(read)
            elif isinstance(message, _Log):
                logging.getLogger(message.name).log(message.level, "%s", message.message)
            elif isinstance(message, _Done):
                done.add(message.worker)
        return done


def _messages(inbox: Any, timeout: float) -> list[object]:
    """What the workers sent: waits up to ``timeout`` for the first message, then takes what
    is already there."""
    out: list[object] = []
    try:
        out.append(inbox.get(timeout=timeout))
        while True:
            out.append(inbox.get_nowait())
    except queue.Empty:
        return out


def _lost(tenant: str) -> LiveReadError:
    return LiveReadError(
        "the reader of this tenant (a worker process) ended before its read was complete",
        tenant=tenant,
        hint="run again with --processes 1 to read every tenant in this process",
    )


class _Forward(logging.Handler):
    """In a worker: every driftguard log record goes to the parent, already formatted."""

    def __init__(self, outbox: Any) -> None:
        super().__init__()
        self.outbox = outbox

    def emit(self, record: logging.LogRecord) -> None:
        self.outbox.put(_Log(record.name, record.levelno, record.getMessage()))


def _work(
    worker: int,
    share: list[tuple[int, TenantConfig]],
    share_work: ShareWork[OutcomeT],
    concurrency: int,
    outbox: Any,
    level: int,
) -> None:
    """A worker process: its log records go to the parent, then it works on its share."""
    logger = logging.getLogger("driftguard")
    logger.setLevel(level)
    logger.addHandler(_Forward(outbox))
    logger.propagate = False
    _read_share(worker, share, share_work, concurrency, outbox)


def _read_share(
    worker: int,
    share: list[tuple[int, TenantConfig]],
    share_work: ShareWork[OutcomeT],
    concurrency: int,
    outbox: Any,
) -> None:
    """Work on a share, sending each outcome as it is done, then ``_Done``. An interruption
    (Ctrl-C reaches every process of the group) ends it quietly: the parent reports it."""
    positions = [i for i, _ in share]
    configs = [config for _, config in share]
    try:
        with share_work(configs) as work:
            for k, outcome in outcomes_as_done(configs, work, concurrency=concurrency):
                if not isinstance(outcome, Beat):
                    outbox.put(_Read(positions[k], outcome))
    except KeyboardInterrupt:
        return
    outbox.put(_Done(worker))
