"""Throttling shared by the reads of one run, per application (client id).

The service throttles an application, not only a tenant: when it asks two or more tenants of the
same app to wait within ``WINDOW`` seconds, every read of that app holds its next request until
the latest of those waits has passed, instead of each tenant finding out with its own 429. Each
tenant still honours its own Retry-After in its retries (exchange.py). One throttled tenant alone
never holds the others, and a hold lasts at most ``MAX_HOLD`` seconds, however long the service
asked for, so a throttled app slows the pool down without stalling it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 30.0  # seconds: throttling of different tenants this close together is the app's
MAX_HOLD = 30.0  # seconds: the longest an app's reads are held at once
TENANTS_TO_HOLD = 2  # throttled tenants of one app that make the throttling the app's


@dataclass
class _App:
    throttled: dict[str, float] = field(default_factory=dict)  # tenant -> when, monotonic
    until: float = 0.0  # reads of the app hold until then (monotonic)


class AppBudget:
    """Thread-safe; one per run (or per watch), shared by every tenant read."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._apps: dict[str, _App] = {}
        self._lock = threading.Lock()

    def throttled(self, app: str, tenant: str, seconds: float) -> None:
        """The service told ``tenant``'s read of ``app`` to wait ``seconds``."""
        now = self._clock()
        with self._lock:
            state = self._apps.setdefault(app, _App())
            state.throttled = {t: at for t, at in state.throttled.items() if now - at <= WINDOW}
            state.throttled[tenant] = now
            if len(state.throttled) >= TENANTS_TO_HOLD:
                state.until = max(state.until, now + min(max(0.0, seconds), MAX_HOLD))

    def hold(self, app: str) -> float:
        """Seconds a read of ``app`` waits before its next request (0: go)."""
        with self._lock:
            state = self._apps.get(app)
            return 0.0 if state is None else max(0.0, state.until - self._clock())
