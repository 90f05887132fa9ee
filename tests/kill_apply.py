"""Run ``driftguard apply ARGS...`` and SIGKILL the process right after the journal records the
outcome of the N-th action (the first argument): a crash at the worst moment, for the resume tests.

The hook lives here, in the tests' harness: it wraps the journal's write of an action entry.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

from driftguard.apply import Outcome
from driftguard.cli import main
from driftguard.journal import Journal

OUTCOMES = frozenset(o.value for o in Outcome)


def kill_after(n: int) -> None:
    """Make the N-th journalled outcome the last thing this process does."""
    record = Journal.record
    seen = 0

    def recording_then_dying(self: Journal, entry: Mapping[str, Any]) -> None:
        nonlocal seen
        record(self, entry)
        if entry.get("status") in OUTCOMES:
            seen += 1
            if seen == n:
                os.kill(os.getpid(), signal.SIGKILL)

    Journal.record = recording_then_dying  # type: ignore[method-assign]


if __name__ == "__main__":
    kill_after(int(sys.argv[1]))
    sys.exit(main(["apply", *sys.argv[2:]]))
