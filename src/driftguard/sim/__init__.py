"""driftguard.sim: a faithful stand-in for Entra ID and the Exchange Online admin API.

:func:`serve` starts it over HTTPS on loopback in a background thread::

    server = serve(tenants=10, latency_ms=100, faults={"throttle": 0.2}, workdir=tmp)
    server.write_baseline(tmp / "baseline")   # tenant.yaml files pointing at it
    ...
    server.stop()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from driftguard.fsutil import write_atomic
from driftguard.sim.state import (
    FAULT_NAMES,
    App,
    RequestRecord,
    ServerKnobs,
    SimState,
    TenantState,
)

if TYPE_CHECKING:  # the HTTPS server is imported by serve(): the in-process demo has none
    from driftguard.sim.server import RunningServer

__all__ = ["FAULT_NAMES", "ServerKnobs", "SimState", "Simulator", "TenantState", "serve"]


@dataclass
class Simulator:
    """A running simulator: its URL, CA file, state and request log."""

    server: RunningServer
    ca_pem: bytes

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return f"localhost:{self.port}"

    @property
    def ca_path(self) -> Path:
        return self.server.ca_path

    @property
    def state(self) -> SimState:
        return self.server.sim

    def tenant(self, name: str) -> TenantState:
        found = self.state.tenant(name)
        if found is None:
            raise KeyError(name)
        return found

    @property
    def requests_log(self) -> list[RequestRecord]:
        return list(self.state.requests_log)

    @property
    def apps(self) -> tuple[App, App, App]:
        """The standard (read, write, public device-code) app registrations."""
        from driftguard.sim.scenarios import standard_apps

        return standard_apps(self.state)

    @property
    def actions_id_token_request_url(self) -> str:
        """For ACTIONS_ID_TOKEN_REQUEST_URL (with ``state.knobs.actions_request_token``)."""
        from driftguard.sim.admin import GITHUB_OIDC_PATH

        return f"{self.url}{GITHUB_OIDC_PATH}?api-version=2.0"

    def foreign_requests(self) -> list[RequestRecord]:
        """Requests that followed a foreign redirect (the token must never be among them)."""
        return [r for r in self.state.requests_log if r.endpoint == "foreign"]

    def approve_device_code(self, user: str, *, role: str = "read", deny: bool = False) -> str:
        """Approve (or deny) the one pending device code as ``user``; returns its user code."""
        from driftguard.sim.devicecode import approve, pending_codes

        codes = pending_codes(self.state)
        if len(codes) != 1:
            raise LookupError(f"expected one pending device code, found {len(codes)}")
        approve(self.state, codes[0], user=user, role=role, deny=deny)
        return codes[0]

    def write_baseline(self, root: str | Path, tenants: list[str] | None = None) -> Path:
        from driftguard.sim.baseline_out import write_baseline

        return write_baseline(self.state, root, host=self.host, ca_pem=self.ca_pem, tenants=tenants)

    def stop(self) -> None:
        self.server.stop()


def serve(
    *,
    workdir: str | Path,
    tenants: int = 0,
    demo: bool = False,
    port: int = 0,
    latency_ms: int = 0,
    faults: Mapping[str, float] | None = None,
    seed: int = 0,
    cert: tuple[Path, Path, bytes] | None = None,
    knobs: ServerKnobs | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Simulator:
    """Build the state and serve it; ``cert`` is (certificate file, key file, CA PEM) or None to
    make a throwaway CA and server certificate in ``workdir``. ``clock`` stamps changes (audit
    records, WhenChangedUTC); default: the real UTC time."""
    from driftguard.sim.scenarios import build
    from driftguard.sim.server import start
    from driftguard.sim.tls import issue_server_cert, make_ca

    settings = knobs or ServerKnobs(latency_ms=latency_ms, faults=dict(faults or {}), seed=seed)
    sim = build(tenants=tenants, demo=demo, sim=SimState(settings, clock))
    folder = Path(workdir)
    if cert is None:
        ca = make_ca()
        pair = issue_server_cert(ca)
        write_atomic(folder / "server.pem", pair.cert_pem)
        write_atomic(folder / "server.key", pair.key_pem, mode=0o600)
        cert = (folder / "server.pem", folder / "server.key", ca.cert_pem)
    ca_path = folder / "ca.pem"
    write_atomic(ca_path, cert[2])
    running = start(sim, cert_path=cert[0], key_path=cert[1], ca_path=ca_path, port=port)
    return Simulator(running, cert[2])
