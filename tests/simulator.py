"""Shared pytest fixtures for the HTTPS simulator (registered from conftest.py as a plugin).

- ``sim_factory(**knobs)`` starts ``driftguard.sim`` on 127.0.0.1 in a background thread with a
  trustme CA and returns a :class:`driftguard.sim.Simulator` (``.url``, ``.port``, ``.host``,
  ``.ca_path``, ``.state``, ``.tenant(name)``, ``.apps``, ``.write_baseline(dir)``,
  ``.requests_log``, ``.foreign_requests()``, ``.approve_device_code(user)``, ``.stop()``);
  every simulator is stopped after the test.
- ``sim``: one simulator with three generated tenants (tenant-0001 .. tenant-0003).
- ``pinned_session(ca_path)``: a requests.Session that always verifies with that CA, whatever
  REQUESTS_CA_BUNDLE says (as driftguard's own client must).
- ``sim_token(simulator, tenant, role="read")``: an access token from the simulator's token
  endpoint for the standard read (or write) app, by client secret.
- ``invoke(simulator, tenant, token, cmdlet, **parameters)``: one raw InvokeCommand POST.
- ``sim_process(*args)``: a context manager running ``driftguard sim serve`` as a subprocess,
  yielding ``(process, info)`` where ``info`` is the JSON line it printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
from requests.adapters import HTTPAdapter

from driftguard.sim import Simulator, serve


@pytest.fixture(scope="session")
def sim_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """(server certificate file, key file, CA PEM) made once per test session with trustme."""
    folder = tmp_path_factory.mktemp("sim-tls")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path, ca.cert_pem.bytes()


@pytest.fixture
def sim_factory(
    tmp_path_factory: pytest.TempPathFactory, sim_tls: tuple[Path, Path, bytes]
) -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def factory(**knobs: Any) -> Simulator:
        knobs.setdefault("tenants", 1)
        workdir = tmp_path_factory.mktemp("sim")
        simulator = serve(workdir=workdir, cert=sim_tls, **knobs)
        started.append(simulator)
        return simulator

    yield factory
    for simulator in started:
        simulator.stop()


@pytest.fixture
def sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(tenants=3)


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, ca_path: str) -> None:
        self._ca_path = ca_path
        super().__init__()

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["verify"] = self._ca_path
        return super().send(request, **kwargs)


def pinned_session(ca_path: str | Path) -> requests.Session:
    session = requests.Session()
    session.mount("https://", _PinnedAdapter(str(ca_path)))
    return session


def sim_token(
    simulator: Simulator,
    tenant: str,
    role: str = "read",
    scope: str = "https://outlook.office365.com/.default",
) -> str:
    read, write, _public = simulator.apps
    app = write if role == "write" else read
    tenant_id = simulator.tenant(tenant).tenant_id
    response = pinned_session(simulator.ca_path).post(
        f"{simulator.url}/{tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.secret,
            "scope": scope,
        },
        timeout=10,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def invoke(
    simulator: Simulator,
    tenant: str,
    token: str | None,
    cmdlet: str,
    *,
    timeout: float = 10,
    **parameters: Any,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return pinned_session(simulator.ca_path).post(
        f"{simulator.url}/adminapi/beta/{simulator.tenant(tenant).tenant_id}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}},
        headers=headers,
        timeout=timeout,
        allow_redirects=False,
    )


@contextlib.contextmanager
def sim_process(
    *args: str, timeout: float = 30
) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """Run ``driftguard sim serve ARGS`` and yield it with the JSON line it printed."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "driftguard", "sim", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = process.stdout.readline()
        if not line:
            stderr = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"sim serve printed nothing (exit {process.poll()}): {stderr}")
        assert time.monotonic() < deadline
        yield process, json.loads(line)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
