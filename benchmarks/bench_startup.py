"""``driftguard --version`` wall time against a bare ``python -c pass`` (target: ratio < 4).

Both run as fresh processes with the same interpreter, interleaved, median of 9 runs after a
warm-up. The ratio is what lazy imports protect: a heavy import at the top of the CLI shows here.
"""

from __future__ import annotations

import sys

from benchmarks._timing import driftguard_command, medians, record

RUNS = 9
TARGET_RATIO = 4.0


def run() -> list[dict[str, object]]:
    times = medians(
        {
            "driftguard": [*driftguard_command(), "--version"],
            "python": [sys.executable, "-c", "pass"],
        },
        RUNS,
    )
    return [record("startup_version_seconds", times["driftguard"], times["python"], TARGET_RATIO)]
