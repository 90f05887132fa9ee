"""One typed path from diff to apply: plan and apply redo no matching and no normalisation.

The real CLI runs against the in-test HTTPS simulator while spies count the calls of the
matching (``diff.match``) and of the normalisation of a live record
(``normalize.connector_from_record``), wherever driftguard's modules hold them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from applykit import Setup, drifted
from driftguard import diff, normalize
from driftguard.sim import Simulator


class Spy:
    """Counts the calls of a function in every driftguard module that imported it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)
        self.arguments: list[Any] = []  # the first argument of each call, kept alive

        def spy(*args: Any, **kwargs: Any) -> Any:
            self.arguments.append(args[0] if args else None)
            return original(*args, **kwargs)

        for mod in list(sys.modules.values()):
            if getattr(mod, "__name__", "").startswith("driftguard") and (
                getattr(mod, name, None) is original
            ):
                monkeypatch.setattr(mod, name, spy)

    @property
    def calls(self) -> int:
        return len(self.arguments)

    def distinct(self) -> int:
        return len({id(a) for a in self.arguments})


@pytest.fixture
def setup(sim_factory: Callable[..., Simulator], tmp_path: Path) -> Iterator[Setup]:
    setup = drifted(sim_factory, tmp_path)
    code, _, _ = setup.plan("--remove-unknown", name="warm-up.json")  # imports every module
    assert code == 2
    yield setup


def _reads(setup: Setup) -> int:
    return sum(1 for r in setup.sim.requests_log if r.cmdlet == "Get-InboundConnector")


def test_plan_matches_once_and_normalises_each_record_once(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = len(setup.records())
    matched = Spy(monkeypatch, diff, "match")
    normalised = Spy(monkeypatch, normalize, "connector_from_record")
    reads = _reads(setup)

    code, plan, _ = setup.plan("--remove-unknown")

    assert code == 2 and plan.exists()
    assert _reads(setup) - reads == 1
    assert matched.calls == 1  # the diff's; the plan reads its Drift
    assert normalised.calls == records == normalised.distinct()


def test_apply_matches_once_and_normalises_each_read_once(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, plan, digest = setup.plan("--remove-unknown")
    actions = 4  # remove the rogue connector, revert two, recreate the missing one
    matched = Spy(monkeypatch, diff, "match")
    normalised = Spy(monkeypatch, normalize, "connector_from_record")
    reads = _reads(setup)

    assert setup.apply(plan, "--approve", digest) == 0

    # One diff: the plan re-derived from the live state it recorded, before anything else.
    assert matched.calls == 1
    # One read before the first write and one after each write, each record normalised once.
    assert _reads(setup) - reads == 1 + actions
    assert normalised.calls == normalised.distinct()
    assert all(isinstance(r, Mapping) for r in normalised.arguments)
    # Connectors per read: 3 before; 2 after the removal and after each revert; 3 once recreated.
    assert normalised.calls == 3 + 2 + 2 + 2 + 3
    assert setup.diff() == 0
