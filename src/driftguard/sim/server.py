"""Serving the simulator over HTTPS on loopback: one thread per connection, keep-alive, TLS.

The TLS handshake runs in the connection's own thread, and latency is a sleep in that thread, so
many clients are served concurrently without one slow request holding up the others.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import ssl
import struct
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from driftguard.sim.app import ResetConnection, SimApp
from driftguard.sim.state import SimState

_log = logging.getLogger("driftguard.sim")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _headers_buffer: list[bytes]  # BaseHTTPRequestHandler's own, undeclared in its stubs

    def log_message(self, format: str, *args: Any) -> None:
        return  # the app keeps its own request log

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "SERVER_NAME": "localhost",
            "SERVER_PORT": str(self.server.server_address[1]),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "https",
        }
        for key, value in self.headers.items():
            environ["HTTP_" + key.upper().replace("-", "_")] = value
        status_line: list[str] = []
        headers: list[tuple[str, str]] = []

        def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
            status_line.append(status)
            headers.extend(response_headers)

        try:
            chunks = self.server.app(environ, start_response)
        except ResetConnection:
            self._abort()
            return
        code, _, reason = status_line[0].partition(" ")
        self.send_response(int(code), reason or None)
        for key, value in headers:
            self.send_header(key, value)
        # What end_headers() does, with the body in the same buffer: one write, one TLS record.
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.extend(chunks)
        self.flush_headers()

    def _abort(self) -> None:
        """Close the TCP connection with a reset and no TLS close_notify."""
        self.close_connection = True
        sock = self.connection
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw = sock.detach() if isinstance(sock, ssl.SSLSocket) else sock
        if isinstance(raw, int):
            raw = socket.socket(fileno=raw)
        with contextlib.suppress(OSError):
            raw.close()
        self.server.aborted.add(id(self.connection))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SimApp, context: ssl.SSLContext) -> None:
        self.app = app
        self.context = context
        self.aborted: set[int] = set()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(30)
            # Headers and body leave in separate writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every response.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            _Handler(tls, client_address, self)
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            if id(tls) not in self.aborted:
                with contextlib.suppress(OSError):
                    tls.close()
            self.aborted.discard(id(tls))

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.exception("simulator: error serving %s", client_address)


@dataclass
class RunningServer:
    """A simulator listening on 127.0.0.1; ``url`` uses the ``localhost`` name."""

    sim: SimState
    port: int
    ca_path: Path
    _server: _Server
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def stop(self) -> None:
        self.sim.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def tls_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_path), str(key_path))
    return context


def start(
    sim: SimState,
    *,
    cert_path: Path,
    key_path: Path,
    ca_path: Path,
    port: int = 0,
    host: str = "127.0.0.1",
) -> RunningServer:
    """Listen and serve in a background thread; returns once the port is bound."""
    server = _Server((host, port), SimApp(sim), tls_context(cert_path, key_path))
    bound = server.server_address[1]
    sim.ports["https"] = int(bound)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    return RunningServer(sim, int(bound), ca_path, server, thread)
