"""Each tenant's connector files, loaded in a thread ahead of the reads that need them.

A many-tenant ``diff`` starts reading as soon as every tenant.yaml is known (the first stage,
``load.first_requested``); meanwhile this thread loads the tenants' connector files (the second
stage) in the order the reads start, at most ``LOOKAHEAD`` tenants ahead of the judging that takes
them, so the loaded baseline stays flat in the tenant count. The reads are I/O-bound: the loading
takes the interpreter while they wait for the service.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType

from driftguard.baseline.load import Requested, TenantPart
from driftguard.errors import BaselineError, Problem
from driftguard.live import waits

LOOKAHEAD = 256  # tenants loaded and not yet taken, at most
_JOIN = 5.0  # seconds to wait for the loading thread to end once nothing needs it


class Ahead:
    """``take(name)``: tenant ``name``'s second stage, loaded in a thread in ``names`` order."""

    def __init__(
        self, requested: Requested, names: Sequence[str], lookahead: int = LOOKAHEAD
    ) -> None:
        self._requested = requested
        self._names = list(names)
        self._lookahead = max(1, lookahead)
        self._parts: dict[str, TenantPart] = {}
        self._ready = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._load, name="driftguard-baseline", daemon=True)

    def __enter__(self) -> Ahead:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join(timeout=_JOIN)

    def take(self, name: str) -> TenantPart:
        """Tenant ``name``'s part, once loaded (it is then forgotten here). Raises
        ``waits.Cancelled`` when the loading ended first (the run is ending)."""
        with self._ready:
            self._ready.wait_for(lambda: name in self._parts or self._closed)
            if name not in self._parts:
                raise waits.Cancelled
            part = self._parts.pop(name)
            self._ready.notify_all()
            return part

    def _load(self) -> None:
        for name in self._names:
            with self._ready:
                self._ready.wait_for(lambda: self._closed or len(self._parts) < self._lookahead)
                if self._closed:
                    return
            part = self._part(name)
            with self._ready:
                self._parts[name] = part
                self._ready.notify_all()

    def _part(self, name: str) -> TenantPart:
        """The tenant's part; a failure to load it is a problem of the tenant (the run then
        fails as ``load_requested`` fails, see ``Requested.fail``), never a lost wait."""
        folder = f"{self._requested.stage_of(name).root}/{name}"
        try:
            return self._requested.part(name)
        except BaselineError as exc:
            return TenantPart(None, (Problem(folder, 1, 1, exc.message),), 0)
        except Exception as exc:  # a bug must fail the run, not leave a read waiting forever
            text = " ".join(str(exc).split())[:200]
            message = f"unexpected {type(exc).__name__}: {text}"
            return TenantPart(None, (Problem(folder, 1, 1, message),), 0)
