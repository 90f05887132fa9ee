"""The transport under every live request: each answer is bounded in wall time and decoded size.

requests' ``timeout`` only bounds each wait on the socket, so a server dripping a byte a second
keeps a read alive forever, and a gzip bomb (a few MB on the wire) decodes to gigabytes in
``response.content``. ``BoundedAdapter`` therefore

- gives every request a time budget: its connect plus read timeout, shortened to what is left of
  the caller's deadline (``time_limit``). A watchdog (one thread for all requests) cuts the
  connection's socket when the budget runs out, whatever phase the request is in (TLS handshake,
  headers, body), and the request fails with ``ResponseTooSlow``;
- reads every body itself, streamed, decoded chunk by bounded chunk (urllib3 bounds each
  decompression step by the chunk asked for), and fails with ``ResponseTooLarge`` past
  ``max_body`` decoded bytes. Callers always get the body already read (``response.content``).

Both errors are ``requests.RequestException``s, so msal and every client handle them as the
transport failures they are.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.poolmanager
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from driftguard.live import waits

MAX_BODY = 64 * 1024 * 1024  # decoded bytes of one answer
CHUNK = 64 * 1024
DEFAULT_TIMEOUT = (15.0, 120.0)  # connect, read (seconds) when a request names none
# The watchdog fires this long after the budget, so a socket that went silent reports its own
# timeout (connect or read, both set within the budget); the cut is for what keeps talking.
GRACE = 0.2

_deadline: ContextVar[float | None] = ContextVar("driftguard_deadline", default=None)
_current = threading.local()  # the _Watch of the request this thread is making
_active: weakref.WeakSet[_Watch] = weakref.WeakSet()  # every request in flight, for cancel
_active_lock = threading.Lock()
http_log = logging.getLogger("driftguard.http")


class ResponseTooSlow(requests.exceptions.Timeout):
    """The answer was not complete within the request's time budget; the read was cut off."""

    def __init__(self, host: str, seconds: float, **kwargs: Any) -> None:
        text = (
            f"no complete answer from {host} within {seconds:.1f} s"
            if seconds > 0
            else f"no time left to ask {host}"
        )
        super().__init__(text, **kwargs)
        self.host = host
        self.seconds = seconds


class ResponseTooLarge(requests.exceptions.RequestException):
    """The answer decodes to more than the transport accepts; it was not read further."""

    def __init__(self, host: str, limit: int, **kwargs: Any) -> None:
        super().__init__(f"the answer from {host} is larger than {_mib(limit)}", **kwargs)
        self.host = host
        self.limit = limit


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Every request this thread makes inside ends within ``seconds`` (nested limits: the
    earliest end wins)."""
    end = time.monotonic() + max(0.0, seconds)
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current ``time_limit`` ends (None: no limit is set)."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


def _budget(timeout: Any) -> tuple[float, tuple[float, float]]:
    """(seconds for the whole request, the (connect, read) socket timeouts within them)."""
    if isinstance(timeout, tuple):
        connect, read = timeout
    else:
        connect = read = timeout
    connect = float(connect or DEFAULT_TIMEOUT[0])
    read = float(read or DEFAULT_TIMEOUT[1])
    seconds = connect + read
    end = _deadline.get()
    if end is not None:
        seconds = min(seconds, end - time.monotonic())
    return seconds, (min(connect, seconds), min(read, seconds))


class _Watchdog:
    """One thread for every request's time budget: it sleeps until the earliest one ends and cuts
    that request's connections (a thread per request cost a thread start per request)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch]] = []
        self._count = itertools.count()
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    def watch(self, watch: _Watch, end: float) -> None:
        with self._wake:
            heapq.heappush(self._heap, (end, next(self._count), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="driftguard-watchdog", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._wake.notify()  # an earlier end than the one the thread sleeps until

    def _run(self) -> None:
        while True:
            with self._wake:
                due = self._due()
            for watch in due:
                watch.cut()

    def _due(self) -> list[_Watch]:
        """Wait (lock held by the caller) until a budget ends; the watches whose budget ended.
        Watches of finished requests are dropped on the way, and the heap is rebuilt when they
        make up most of it, so it stays as large as the requests in flight."""
        while True:
            now = time.monotonic()
            due: list[_Watch] = []
            while self._heap and (self._heap[0][0] <= now or self._heap[0][2].done):
                watch = heapq.heappop(self._heap)[2]
                if not watch.done:
                    due.append(watch)
            if due:
                return due
            if len(self._heap) > 64:
                live = [entry for entry in self._heap if not entry[2].done]
                if 2 * len(live) < len(self._heap):
                    heapq.heapify(live)
                    self._heap = live
            self._wake.wait(self._heap[0][0] - now if self._heap else None)


_WATCHDOG = _Watchdog()


class _Watch:
    """Cuts the sockets of one request when its time is up (from the watchdog's thread)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.done = False
        self._connections: list[HTTPConnection] = []
        self._lock = threading.Lock()
        self._outer: _Watch | None = None
        self._started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connections.append(connection)
            if self.expired:
                _cut(connection)

    def cut(self) -> None:
        """Cut the request's connections now (its time is up, or the run was interrupted)."""
        with self._lock:
            if self.done:
                return
            self.expired = True
            for connection in self._connections:
                _cut(connection)

    def __enter__(self) -> _Watch:
        self._outer = getattr(_current, "watch", None)
        _current.watch = self
        _WATCHDOG.watch(self, self._started + self.seconds)
        with _active_lock:
            _active.add(self)
        return self

    def __exit__(self, *_: object) -> None:
        with _active_lock:
            _active.discard(self)
        with self._lock:
            self.done = True  # from here on, the connections are someone else's
        _current.watch = self._outer


def _cut_all() -> None:
    with _active_lock:
        watches = list(_active)
    for watch in watches:
        watch.cut()


waits.on_cancel(_cut_all)


def _cut(connection: HTTPConnection) -> None:
    sock = connection.sock
    if sock is None:
        return
    with contextlib.suppress(OSError):
        # The plain socket's shutdown: it wakes a read blocked in another thread, and (unlike
        # SSLSocket.shutdown) leaves the TLS object to that read, which then ends in an error.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _attach(connection: HTTPConnection) -> None:
    watch: _Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(connection)


class _WatchedConnection(HTTPConnection):
    """A connection that puts itself under the current request's watch before any I/O."""

    def connect(self) -> None:
        _attach(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS: Mapping[str, type[HTTPConnectionPool]] = {
    "http": _WatchedHTTPPool,
    "https": _WatchedHTTPSPool,
}


def _watched(manager: Any) -> Any:
    """``manager`` with watched pools, unless it brings its own (a SOCKS proxy): those are
    still bounded, between chunks, by the clock."""
    if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
        manager.pool_classes_by_scheme = dict(_POOLS)
    return manager


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter whose answers end within their time budget and ``max_body`` bytes."""

    def __init__(
        self, *, pool_connections: int = 8, pool_maxsize: int = 4, max_body: int = MAX_BODY
    ) -> None:
        self.max_body = max_body
        super().__init__(
            pool_connections=pool_connections, pool_maxsize=pool_maxsize, max_retries=0
        )

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watched(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return _watched(super().proxy_manager_for(proxy, **proxy_kwargs))

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        host = _host(request.url)
        seconds, socket_timeouts = _budget(timeout)
        if seconds <= 0:
            raise ResponseTooSlow(host, 0.0, request=request)
        waits.check()
        started = time.monotonic()
        outcome = "no answer"
        try:
            response = self._send_watched(
                request, host, seconds, socket_timeouts, verify, cert, proxies
            )
            outcome = str(response.status_code)
            return response
        except Exception as exc:
            outcome = type(exc).__name__
            waits.check()  # a request cut because the run was interrupted ends the run
            raise
        finally:
            http_log.info(
                "%s %s%s -> %s in %.2f s",
                request.method,
                host,
                _path(request.url),
                outcome,
                time.monotonic() - started,
            )

    def _send_watched(
        self,
        request: requests.PreparedRequest,
        host: str,
        seconds: float,
        socket_timeouts: tuple[float, float],
        verify: bool | str,
        cert: Any,
        proxies: Mapping[str, str] | None,
    ) -> requests.Response:
        response: requests.Response | None = None
        with _Watch(seconds + GRACE) as watch:
            try:
                response = super().send(
                    request,
                    stream=True,
                    timeout=socket_timeouts,
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                )
                response._content = self._body(response, watch, host, seconds)
            except ResponseTooLarge:
                raise
            except Exception:
                if response is not None:
                    response.close()
                if watch.expired:
                    raise ResponseTooSlow(host, seconds, request=request) from None
                raise
        return response

    def _body(self, response: requests.Response, watch: _Watch, host: str, seconds: float) -> bytes:
        """The decoded body, read in bounded chunks; the connection goes back to the pool."""
        end = time.monotonic() + seconds - watch.elapsed()
        declared = response.headers.get("Content-Length", "")
        plain = "Content-Encoding" not in response.headers
        if plain and declared.isdigit() and int(declared) > self.max_body:
            response.close()  # said to be too large: not read at all
            raise ResponseTooLarge(host, self.max_body, request=response.request)
        body = bytearray()
        for chunk in response.iter_content(CHUNK):
            if watch.expired or time.monotonic() > end:
                raise ResponseTooSlow(host, seconds, request=response.request)
            body += chunk
            if len(body) > self.max_body:
                response.close()
                raise ResponseTooLarge(host, self.max_body, request=response.request)
        if watch.expired:  # a cut socket can look like a short, clean end
            raise ResponseTooSlow(host, seconds, request=response.request)
        return bytes(body)


def _path(url: str | None) -> str:
    """The path alone: a query string or fragment may carry a code or a token, so never logged."""
    try:
        return urlsplit(url or "").path or "/"
    except ValueError:
        return "/?"


def _host(url: str | None) -> str:
    try:
        parts = urlsplit(url or "")
        return parts.netloc.rpartition("@")[2] or "?"
    except ValueError:
        return "?"
