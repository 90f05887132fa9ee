"""Shared fixtures. The autouse guard keeps tests off the real network and the real home folder."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["simulator"]

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else address
    if (
        isinstance(host, str)
        and host not in {"127.0.0.1", "::1", "localhost"}
        and not (host.startswith("127."))
    ) and self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(f"test tried to reach {host!r}: only loopback is allowed")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _guard(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    for var in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
