"""When each read of a sweep starts, and when the next sweep starts. Pure: randomness passed in.

Reads are spread evenly over the first part of the interval (``spread``) instead of bursting at
its start, so the service sees a steady rate and a throttled read has time left to retry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DEFAULT_INTERVAL = 300.0
DEFAULT_SPREAD = 0.5
DEFAULT_JITTER = 0.1


@dataclass(frozen=True)
class Schedule:
    interval: float = DEFAULT_INTERVAL  # seconds from one sweep's start to the next
    spread: float = DEFAULT_SPREAD  # part of the interval over which reads start (0: burst)
    jitter: float = DEFAULT_JITTER  # +/- part of the interval each sweep's start moves by

    def start_offsets(self, tenants: int) -> list[float]:
        """Seconds after the sweep's start at which each tenant's read begins."""
        if tenants <= 0:
            return []
        step = self.interval * self.spread / tenants
        return [i * step for i in range(tenants)]

    def next_start(self, rng: random.Random) -> float:
        """Seconds from this sweep's start to the next one's, jittered."""
        return self.interval * (1.0 + rng.uniform(-self.jitter, self.jitter))
