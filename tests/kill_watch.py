"""Run ``driftguard watch ARGS...`` and SIGKILL the process at a named point (the first argument):
``recorded``, right after a sweep's transaction that queued a notification commits; ``sent``,
right after a target accepted a notification and before the watch marks it sent.

The hook lives here, in the tests' harness: it wraps the watch state's own methods.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime

from driftguard.cli import main
from driftguard.watch.state import Pending, Transition, WatchState


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at(point: str) -> None:
    if point == "recorded":
        record_all = WatchState.record_all

        def recording_then_dying(
            self: WatchState, sweep: int, now: datetime, changes: Sequence[Transition]
        ) -> None:
            record_all(self, sweep, now, changes)
            if any(change.notification is not None for change in changes):
                _die()

        WatchState.record_all = recording_then_dying  # type: ignore[method-assign]
    elif point == "sent":

        def dying_before_marking(self: WatchState, row: Pending, now: datetime) -> None:
            _die()

        WatchState.mark_sent = dying_before_marking  # type: ignore[method-assign]
    else:
        raise SystemExit(f"kill_watch.py: unknown point {point!r}")


if __name__ == "__main__":
    kill_at(sys.argv[1])
    sys.exit(main(["watch", *sys.argv[2:]]))
