"""The digest of a read covers every page of the answer: a record that changed on the second page
changes it, so a watch never keeps a judgement made on another answer.

The simulator does not page Get-InboundConnector (its nextLink cannot be followed, as the
service's is not for ResultSize Unlimited), so a small HTTPS server here answers in two pages,
in the admin API's shape (EXCHANGE.md: ``value``, ``@odata.nextLink``), read by the real client
over requests and TLS.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from driftguard.live.clouds import resolve
from driftguard.live.exchange import ExchangeClient
from driftguard.live.http import make_session
from driftguard.live.service import READ_CMDLET, READ_PARAMETERS
from driftguard.model import Endpoints, TenantConfig
from livekit import FAST

TENANT_ID = "7f3c2a10-5b8e-4c1d-9a6f-0e2d4b8c1a93"


@dataclass
class _Pages:
    """Two pages of Get-InboundConnector; the second one's record can be changed."""

    port: int = 0
    second: dict[str, Any] = field(
        default_factory=lambda: {"Name": "Partner TLS", "Comment": "page two", "Enabled": True}
    )
    posts: int = 0

    def answer(self, query: str) -> dict[str, Any]:
        if "$skiptoken=2" in query:
            return {"value": [self.second]}
        link = f"https://localhost:{self.port}/adminapi/beta/{TENANT_ID}/InvokeCommand?$skiptoken=2"
        first = {"Name": "Hybrid relay", "Comment": "page one", "Enabled": True}
        return {"value": [first], "@adminapi.warnings": [], "@odata.nextLink": link}


class _Tokens:
    def token(self, *, force_refresh: bool = False) -> str:
        return "token-for-the-paging-server"

    def redact(self, text: str) -> str:
        return text


@pytest.fixture
def pages(sim_tls: tuple[Path, Path, bytes]) -> Iterator[_Pages]:
    cert, key, _ = sim_tls
    state = _Pages()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.posts += 1
            _, _, query = self.path.partition("?")
            body = json.dumps(state.answer(query)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def _client(pages: _Pages, ca: Path) -> ExchangeClient:
    host = f"localhost:{pages.port}"
    config = TenantConfig(
        name="paged",
        tenant_id=TENANT_ID,
        endpoints=Endpoints(exchange_host=host, exchange_domain="localhost", ca_bundle=str(ca)),
    )
    endpoints = resolve(config)
    return ExchangeClient(make_session(str(ca)), endpoints, TENANT_ID, _Tokens(), policy=FAST)


def test_a_change_on_the_second_page_changes_the_digest(
    pages: _Pages, sim_tls: tuple[Path, Path, bytes], tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(sim_tls[2])
    client = _client(pages, ca)
    first = client.call(READ_CMDLET, READ_PARAMETERS)
    again = client.call(READ_CMDLET, READ_PARAMETERS)
    assert pages.posts == 4  # two pages each time
    assert [r["Name"] for r in first.records] == ["Hybrid relay", "Partner TLS"]
    assert first.digest is not None and first.digest.startswith("blake2b:")
    assert again.digest == first.digest and again.records == first.records
    pages.second = {**pages.second, "Comment": "page 2wo"}  # same length, one page later
    changed = client.call(READ_CMDLET, READ_PARAMETERS)
    assert changed.records[1]["Comment"] == "page 2wo"
    assert changed.digest != first.digest
