"""Loading in two stages: each tenant's connector files in a thread, ahead of the reads, at most
``lookahead`` tenants ahead; the stages together are exactly ``check``."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from driftguard.baseline.ahead import Ahead
from driftguard.baseline.load import (
    check,
    connector_stage,
    first_requested,
    first_stage,
    load_requested,
    sorted_problems,
)
from driftguard.errors import BaselineError
from driftguard.live import waits
from test_baseline_load import GOOD, TENANT_YAML, make_tenant


def _estate(root: Path, tenants: int) -> list[str]:
    names = [f"t{i:02d}" for i in range(tenants)]
    for name in names:
        make_tenant(root, {"a.yaml": GOOD}, name=name)
    return names


def test_the_two_stages_are_check(tmp_path: Path) -> None:
    names = _estate(tmp_path, 4)
    (tmp_path / "t01" / "inbound" / "b.yaml").write_text(GOOD + "Enabled: maybe\n", "utf-8")
    (tmp_path / "t02" / "tenant.yaml").write_text(TENANT_YAML + "colour: blue\n", "utf-8")
    (tmp_path / "t03" / "stray.yaml").write_text("x: 1\n", "utf-8")
    first = first_stage(tmp_path)
    parts = [connector_stage(first, name) for name in first.selected]
    whole = check(tmp_path)
    assert list(first.selected) == names
    problems = sorted_problems([*first.problems, *(p for part in parts for p in part.problems)])
    assert problems == whole.problems
    assert {p.path.split("/")[-2] for p in first.problems} == {"t02"}  # tenant.yaml only
    assert [part.tenant for part in parts if part.tenant] == list(whole.baseline.tenants.values())
    assert [part.files for part in parts] == [1, 2, 1, 1]


def test_ahead_loads_in_order_and_never_more_than_its_lookahead(tmp_path: Path) -> None:
    names = _estate(tmp_path, 12)
    requested = first_requested(tmp_path)
    with Ahead(requested, names, lookahead=3) as ahead:
        ready = ahead._ready
        with ready:  # the loader fills its lookahead, then waits for a take
            assert ready.wait_for(lambda: len(ahead._parts) == 3, timeout=10)
            assert sorted(ahead._parts) == names[:3]
        taken = [ahead.take(name) for name in reversed(names[:3])]  # any order
        assert [t.tenant.config.name for t in taken if t.tenant] == list(reversed(names[:3]))
        with ready:
            assert ready.wait_for(lambda: len(ahead._parts) == 3, timeout=10)
            assert sorted(ahead._parts) == names[3:6]
        rest = [ahead.take(name) for name in names[3:]]
    assert all(part.tenant is not None and not part.problems for part in rest)


def test_a_take_after_the_end_is_cancelled_not_a_hang(tmp_path: Path) -> None:
    names = _estate(tmp_path, 3)
    ahead = Ahead(first_requested(tmp_path), names, lookahead=1)
    with ahead:
        outcome: list[BaseException] = []

        def late() -> None:
            try:
                ahead.take(names[2])  # its turn never comes: names[0] is never taken
            except waits.Cancelled as exc:
                outcome.append(exc)

        waiter = threading.Thread(target=late)
        waiter.start()
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert len(outcome) == 1


def test_a_folder_that_cannot_be_read_is_a_problem_of_its_tenant(tmp_path: Path) -> None:
    names = _estate(tmp_path, 2)
    requested = first_requested(tmp_path)
    (tmp_path / "t01" / "inbound" / "a.yaml").unlink()
    (tmp_path / "t01" / "inbound").rmdir()
    (tmp_path / "t01" / "tenant.yaml").unlink()
    (tmp_path / "t01").rmdir()  # gone after the first stage: listing it fails
    with Ahead(requested, names) as ahead:
        part = ahead.take("t01")
    assert part.tenant is None
    assert [p.message for p in part.problems] == [
        f"cannot read folder {tmp_path / 't01'}: No such file or directory"
    ]
    with pytest.raises(BaselineError, match="cannot read folder"):
        requested.fail(part.problems)  # the same error as loading it all would raise


def test_fail_raises_what_load_requested_raises(tmp_path: Path) -> None:
    _estate(tmp_path, 3)
    (tmp_path / "t02" / "inbound" / "a.yaml").write_text(GOOD + "RequireTls: 7\n", "utf-8")
    with pytest.raises(BaselineError) as before:
        load_requested(str(tmp_path) + "/")
    with pytest.raises(BaselineError) as staged:
        first_requested(str(tmp_path) + "/").fail()
    assert staged.value.lines() == before.value.lines()
    assert str(tmp_path) + "/" in staged.value.message  # the folder as it was named


def test_demo_comes_from_the_bundled_baseline_when_the_folder_has_none(tmp_path: Path) -> None:
    _estate(tmp_path, 2)
    requested = first_requested(tmp_path, ["t01", "demo"])
    baseline = load_requested(tmp_path, ["t01", "demo"])
    assert requested.names == ["demo", "t01"]
    assert {n: requested.part(n).tenant for n in requested.names} == dict(baseline.tenants)
    assert requested.ignores == baseline.ignores
