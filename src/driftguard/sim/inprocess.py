"""The demo tenant in-process: the simulator app behind a requests transport adapter, no sockets.

The real msal + requests stack runs unchanged against ``https://demo.driftguard.invalid``; the
adapter hands each request to the WSGI app. The demo's state lives in a per-user data folder
(``$XDG_DATA_HOME/driftguard`` or ``~/.local/share/driftguard``) and is saved after every change,
so ``plan``, ``apply`` and ``diff`` in successive commands see each other's effects;
:func:`reset_demo` restores the compromised starting point.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from driftguard.fsutil import write_atomic
from driftguard.sim.app import ResetConnection, SimApp
from driftguard.sim.state import SimState

if TYPE_CHECKING:
    from driftguard.model import TenantConfig

DEMO_HOST = "demo.driftguard.invalid"
DEMO_DOMAIN = "driftguard.invalid"
STATE_FILE = "demo-state.json"


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "driftguard"


class SimAdapter(BaseAdapter):
    """A requests transport that answers from the simulator app; ``on_change`` runs after a
    request that changed the simulator's state."""

    def __init__(self, sim: SimState, on_change: Any = None) -> None:
        super().__init__()
        self.sim = sim
        self.app = SimApp(sim)
        self.on_change = on_change

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, bytes):
            body = b"".join(body)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method or "GET",
            "PATH_INFO": parts.path or "/",
            "QUERY_STRING": parts.query,
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "0",
            "SERVER_NAME": parts.hostname or DEMO_HOST,
            "SERVER_PORT": str(parts.port or 443),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "https",
        }
        for key, value in request.headers.items():
            name = key.upper().replace("-", "_")
            environ["CONTENT_TYPE" if name == "CONTENT_TYPE" else f"HTTP_{name}"] = value
        environ["HTTP_HOST"] = parts.netloc
        captured: list[Any] = []
        before = self.sim.version
        try:
            chunks = self.app(environ, lambda status, headers: captured.extend([status, headers]))
        except ResetConnection:
            raise requests.ConnectionError("Connection reset by peer", request=request) from None
        if self.sim.version != before and self.on_change is not None:
            self.on_change()
        content = b"".join(chunks)
        response = requests.Response()
        status, headers = captured
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = status.partition(" ")[2]
        response.headers = CaseInsensitiveDict(dict(headers))
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(content)
        response._content = content
        response._content_consumed = True  # type: ignore[attr-defined]
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        return None


@dataclass
class DemoEnvironment:
    """A ready session (mounted on the demo host) and the demo tenant's configuration."""

    session: requests.Session
    tenant: TenantConfig
    sim: SimState
    state_path: Path

    def save(self) -> None:
        save_state(self.sim, self.state_path)


def save_state(sim: SimState, path: Path) -> None:
    write_atomic(path, json.dumps(sim.to_dict(), indent=1), mode=0o600)


def _fresh_state() -> SimState:
    from driftguard.sim.scenarios import build, standard_apps

    sim = build(demo=True)
    read, write, _public = standard_apps(sim)
    for app in (read, write):
        sim.app_certificate(app.client_id)
    # Made now, so it is saved with the state: an RSA key made on every start of the demo
    # (a read changes nothing, so nothing would save it) costs 50 ms or more each time.
    sim.ensure_signing_key()
    return sim


def load_demo_state(folder: Path | None = None) -> tuple[SimState, Path]:
    """The persisted demo state (made on first use) and its file."""
    path = (folder or data_dir()) / STATE_FILE
    if path.is_file():
        try:
            sim = SimState.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError):
            pass  # a damaged state file: start again from the scenario
        else:
            if not sim.has_signing_key:  # saved by an earlier version: make it once, keep it
                sim.ensure_signing_key()
                save_state(sim, path)
            return sim, path
    sim = _fresh_state()
    save_state(sim, path)
    return sim, path


def reset_demo(folder: Path | None = None) -> Path:
    """Restore the demo tenant's compromised starting point; returns the state file."""
    path = (folder or data_dir()) / STATE_FILE
    sim = _fresh_state()
    save_state(sim, path)
    return path


def demo_environment(folder: Path | None = None) -> DemoEnvironment:
    """The demo tenant, ready for driftguard's real client: a requests.Session whose requests to
    ``https://demo.driftguard.invalid`` reach the in-process simulator, and a TenantConfig with
    certificate credentials (read, write and Graph write) written to the data folder."""
    # driftguard's own model is imported here, where the simulator hands the demo tenant to
    # driftguard's client, and nowhere in the simulated service.
    from driftguard.model import Endpoints, TenantConfig
    from driftguard.sim.scenarios import standard_apps

    sim, path = load_demo_state(folder)
    read, write, _public = standard_apps(sim)
    creds = path.parent / "credentials"
    paths = {}
    for app, kind in ((read, "read"), (write, "write")):
        target = creds / f"demo-{kind}.pem"
        pem = sim.app_certificate(app.client_id).combined_pem
        if not target.is_file() or target.read_bytes() != pem:
            write_atomic(target, pem, mode=0o600)
        paths[kind] = str(target)
    session = requests.Session()
    session.mount(f"https://{DEMO_HOST}/", SimAdapter(sim, on_change=lambda: save_state(sim, path)))
    demo = sim.tenants["demo"]
    tenant = TenantConfig(
        name="demo",
        tenant_id=demo.tenant_id,
        cloud=demo.cloud,
        accepted_domains=tuple(demo.accepted_domains),
        trusted_ip_ranges=tuple(demo.trusted_ip_ranges),
        admins=tuple(demo.admins),
        auth={
            "client_id": read.client_id,
            "method": "certificate",
            "certificate_path": paths["read"],
            "write": {
                "client_id": write.client_id,
                "method": "certificate",
                "certificate_path": paths["write"],
            },
            "graph_write": {  # the simulator's write app holds the Graph write permissions too
                "client_id": write.client_id,
                "method": "certificate",
                "certificate_path": paths["write"],
            },
        },
        endpoints=Endpoints(
            authority_host=DEMO_HOST, exchange_host=DEMO_HOST, exchange_domain=DEMO_DOMAIN
        ),
    )
    return DemoEnvironment(session, tenant, sim, path)
