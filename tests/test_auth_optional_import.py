"""msal looks for its optional msal_extensions package in every application it builds: driftguard
makes that look-up happen once per process when the package is not installed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftguard.live import auth
from driftguard.live.runner import read_tenants
from driftguard.live.service import ExchangeSource
from driftguard.sim import Simulator
from livekit import FAST, config_for


class _Counting:
    """A meta path finder that counts the searches for one module name and finds nothing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.searches = 0

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == self.name:
            self.searches += 1


def test_absent_msal_extensions_is_searched_for_once(
    sim_factory: Callable[..., Simulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(tenants=3)
    configs = [config_for(sim, tmp_path, f"tenant-000{i}") for i in (1, 2, 3)]
    counter = _Counting("msal_extensions")
    monkeypatch.setattr(sys, "meta_path", [counter, *sys.meta_path])
    monkeypatch.delitem(sys.modules, "msal_extensions", raising=False)
    auth._optional_msal_extensions_checked_once.cache_clear()

    reads = read_tenants(configs, ExchangeSource(policy=FAST), concurrency=1)
    assert [r.ok for r in reads] == [True, True, True]
    assert counter.searches == 1  # three msal applications, one search
    assert sys.modules["msal_extensions"] is None
    with pytest.raises(ModuleNotFoundError):
        import msal_extensions  # type: ignore[import-not-found]  # noqa: F401
