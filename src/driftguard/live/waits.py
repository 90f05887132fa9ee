"""Waiting between attempts, interruptibly, and saying what for.

Every wait of a live read or write (backoff, Retry-After, sign-in retries) goes through
``pause``: it waits on one process-wide event instead of sleeping, so ``cancel`` (Ctrl-C in the
main thread) ends every wait in every worker thread at once with ``Cancelled``, and the pool
does not sit out a 95-second backoff before the process can exit. Requests in flight are cut
too, through the hooks the transport registers.

A wait of a second or more is announced on the ``driftguard.progress`` logger, which the
command line shows on stderr.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

progress_log = logging.getLogger("driftguard.progress")

ANNOUNCE_FROM = 1.0  # seconds: shorter waits pass silently

_stop = threading.Event()
_hooks: list[Callable[[], None]] = []
_hooks_lock = threading.Lock()


class Cancelled(KeyboardInterrupt):
    """The run was interrupted while this thread waited or talked to the service."""


def cancel() -> None:
    """End every current and future wait (until ``reset``), and cut requests in flight."""
    _stop.set()
    with _hooks_lock:
        hooks = list(_hooks)
    for hook in hooks:
        hook()


def reset() -> None:
    """Allow waiting again (a new run in the same process, e.g. a test)."""
    _stop.clear()


def cancelled() -> bool:
    return _stop.is_set()


def on_cancel(hook: Callable[[], None]) -> None:
    """Call ``hook`` (from the cancelling thread) whenever ``cancel`` is called."""
    with _hooks_lock:
        _hooks.append(hook)


def check() -> None:
    """Raise ``Cancelled`` if the run was interrupted."""
    if _stop.is_set():
        raise Cancelled


def pause(seconds: float) -> None:
    """Wait ``seconds``, or raise ``Cancelled`` as soon as the run is interrupted."""
    if _stop.wait(max(0.0, seconds)):
        raise Cancelled


def announce(seconds: float, who: str, why: str, attempt: int, attempts: int) -> None:
    """``waiting 30 s for tenant X: throttled (429), retry 2 of 5`` (long waits only)."""
    if seconds < ANNOUNCE_FROM:
        return
    progress_log.info(
        "waiting %.0f s for %s: %s, retry %d of %d", seconds, who, why, attempt, attempts
    )
