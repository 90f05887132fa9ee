"""A tiny HTTPS server that misbehaves on purpose, for the reads that must fail, not pass.

It is not the simulator (which behaves like the service): it answers the requests it is told to
(``hostile_for``: cmdlet names of InvokeCommand posts, or paths of GET/POST requests) the way an
attacker or a broken proxy might, and every other request with an empty ``{"value": []}``:

- ``drip-body``: 200 headers, then one byte every 0.1 s (for at most ``DRIP_LIMIT`` seconds);
- ``drip-headers``: the status line, then the headers one byte every 0.1 s;
- ``gzip-bomb``: ``Content-Encoding: gzip``, about 1 MB on the wire that decodes to 1 GiB;
- ``oversize``: a ``Content-Length`` of 256 MiB, then a drip;
- ``busy-then-drip``: a 503 naming the concurrency limit, then drips;
- ``no-value``, ``value-not-list``, ``record-not-object``, ``error-in-200``: JSON answers with
  status 200 that are not a list answer.
"""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DRIP_LIMIT = 20.0  # seconds a drip lasts at most, so a client that never gives up ends anyway
BOMB_MEMBER = 16 * 1024 * 1024  # zeros per gzip member
BOMB_MEMBERS = 64  # 1 GiB decoded

SHAPES: dict[str, Any] = {
    "no-value": {"@odata.context": "https://localhost/$metadata", "@adminapi.warnings": []},
    "value-not-list": {"value": {"Name": "Hybrid relay"}},
    "record-not-object": {"value": ["Hybrid relay"]},
    "error-in-200": {
        "error": {
            "code": "InternalServerError",
            "message": "Invalid Operation",
            "details": [{"message": "|Microsoft.Exchange.Exception|The operation failed."}],
        }
    },
}


@cache
def gzip_bomb() -> bytes:
    """Concatenated gzip members (a valid gzip stream): ~1 MB that decodes to 1 GiB of zeros."""
    return gzip.compress(bytes(BOMB_MEMBER), compresslevel=9) * BOMB_MEMBERS


@dataclass
class Hostile:
    server: ThreadingHTTPServer
    mode: str = "no-value"
    hostile_for: set[str] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)
    dripped: int = 0  # bytes sent by drips

    @property
    def host(self) -> str:
        return f"localhost:{self.server.server_address[1]}"

    def applies(self, label: str) -> bool:
        return not self.hostile_for or label in self.hostile_for


def _handler(hostile: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._answer(self.path.split("?")[0])

        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(size)
            label = self.path.split("?")[0]
            if label.endswith("/InvokeCommand"):
                label = json.loads(raw)["CmdletInput"]["CmdletName"]
            self._answer(label)

        def _answer(self, label: str) -> None:
            hostile.seen.append(label)
            if not hostile.applies(label):
                self._json({"value": []})
                return
            mode = hostile.mode
            if mode == "busy-then-drip":  # the service's concurrency error, then a drip
                busy = sum(1 for seen in hostile.seen if seen == label) == 1
                mode = "busy" if busy else "drip-body"
            if mode == "busy":
                body = b"maximum number of concurrent requests per tenant exceeded"
                self.send_response(503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self._write(body)
            elif mode in SHAPES:
                self._json(SHAPES[mode])
            elif mode == "gzip-bomb":
                body = gzip_bomb()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self._write(body)
            elif mode == "drip-body":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                self._drip(b'{"value": [' + b" " * 1_000_000)
            elif mode == "oversize":  # announces 256 MiB, then drips
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(256 * 1024 * 1024))
                self.end_headers()
                self._drip(b'{"value": [' + b" " * 1_000_000)
            elif mode == "drip-headers":
                self._write(b"HTTP/1.1 200 OK\r\n")
                self._drip(b"X-Padding: " + b"x" * 1_000_000)
            else:
                raise AssertionError(f"unknown mode {mode}")

        def _json(self, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._write(body)

        def _drip(self, data: bytes) -> None:
            self.close_connection = True
            end = time.monotonic() + DRIP_LIMIT
            for i in range(len(data)):
                if time.monotonic() > end or not self._write(data[i : i + 1]):
                    return
                hostile.dripped += 1
                time.sleep(0.1)

        def _write(self, data: bytes) -> bool:
            try:
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:
                return False
            return True

    return Handler


def start(tls: tuple[Path, Path, bytes]) -> Hostile:
    """A hostile server on 127.0.0.1 with the tests' TLS certificate (trusted by their CA)."""
    cert, key, _ = tls
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    hostile = Hostile(server)
    server.RequestHandlerClass = _handler(hostile)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return hostile
