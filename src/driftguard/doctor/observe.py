"""A response hook that notes what the admin API's answers looked like, for the wire checks.

It sits on the session the real client uses (``session.hooks["response"]``), so doctor sees the
envelope of every InvokeCommand answer (paging links, warnings, redirects, statuses) without a
second client. Bodies are parsed again only up to a size cap; warnings are kept short.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from driftguard.doctor.model import Seen
from driftguard.live.http import json_body

if TYPE_CHECKING:
    import requests

MAX_BODY = 32 * 1024 * 1024  # bytes of one answer parsed again for its envelope
MAX_WARNINGS = 10  # per answer
MAX_WARNING_TEXT = 300


class WireObserver:
    """Called by requests for every response of the session it is hooked on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers = 0
        self._next_links = 0
        self._warnings: list[str] = []
        self._redirects: list[str] = []
        self._hosts: set[str] = set()
        self._statuses: list[int] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        url = response.url or ""
        parts = urlsplit(url)
        if not parts.path.endswith("/InvokeCommand"):
            return
        with self._lock:
            self._answers += 1
            self._statuses.append(response.status_code)
            self._hosts.add((parts.hostname or "").lower())
            location = response.headers.get("Location")
            if 300 <= response.status_code < 400 and location:
                target = urlsplit(urljoin(url, location)).hostname
                self._redirects.append((target or "?").lower())
                return
        payload = _envelope(response)
        if payload is None:
            return
        found = payload.get("@adminapi.warnings")
        with self._lock:
            if payload.get("@odata.nextLink"):
                self._next_links += 1
            if isinstance(found, list):
                self._warnings.extend(str(w)[:MAX_WARNING_TEXT] for w in found[:MAX_WARNINGS])

    def seen(self) -> Seen:
        with self._lock:
            targets = list(dict.fromkeys(self._redirects))
            return Seen(
                answers=self._answers,
                next_links=self._next_links,
                warnings=tuple(self._warnings),
                followed=tuple(h for h in targets if h in self._hosts),
                refused=tuple(h for h in targets if h not in self._hosts),
                statuses=tuple(self._statuses),
            )


def _envelope(response: requests.Response) -> dict[str, Any] | None:
    if not 200 <= response.status_code < 300 or len(response.content) > MAX_BODY:
        return None
    try:
        payload = json_body(response.content)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
