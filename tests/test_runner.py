"""The many-tenant runner: bounded concurrency, per-tenant isolation, order, progress, shards."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from driftguard.errors import AuthError, InputError, LiveReadError
from driftguard.live.runner import parse_shard, read_tenants, shard
from driftguard.model import Snapshot, TenantConfig


class FakeSource:
    """A hand-written Source: fails for chosen tenants, counts reads in flight.

    With a ``gate`` (a barrier), each read waits until as many reads as the barrier has parties
    are in flight together: reaching it proves that many reads run at once, with no sleep and no
    timing to go wrong on a busy machine (a runner that cannot reach it breaks the barrier).
    """

    def __init__(
        self,
        failing: dict[str, Exception] | None = None,
        gate: threading.Barrier | None = None,
    ) -> None:
        self.failing = failing or {}
        self.gate = gate
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            if self.gate is not None:
                self.gate.wait()  # the barrier's own timeout
            if tenant.name in self.failing:
                raise self.failing[tenant.name]
            return Snapshot(
                tenant=tenant.name,
                records=({"Name": f"c-{tenant.name}"},),
                source="fake",
                taken_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        finally:
            with self.lock:
                self.in_flight -= 1


def tenants(n: int) -> list[TenantConfig]:
    return [TenantConfig(name=f"t{i:03d}", tenant_id=f"id-{i}") for i in range(n)]


def test_results_keep_input_order_and_concurrency_is_bounded() -> None:
    source = FakeSource(gate=threading.Barrier(5, timeout=60))  # 40 reads: 8 rounds of 5
    items = tenants(40)[::-1]
    results = read_tenants(items, source, concurrency=5)
    assert [r.tenant for r in results] == [t.name for t in items]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert results[0].snapshot is not None
    assert results[0].snapshot.records[0]["Name"] == f"c-{items[0].name}"
    assert source.peak == 5


def test_a_runner_with_fewer_reads_in_flight_breaks_the_gate() -> None:
    """The gate is not a rubber stamp: three workers never bring five reads together."""
    source = FakeSource(gate=threading.Barrier(5, timeout=0.5))
    results = read_tenants(tenants(6), source, concurrency=3)
    assert not any(r.ok for r in results) and source.peak <= 3


def test_one_failure_is_isolated_and_named() -> None:
    source = FakeSource(
        failing={
            "t003": AuthError("sign-in failed: invalid_client", hint="check the secret"),
            "t007": RuntimeError("boom"),
        }
    )
    results = read_tenants(tenants(10), source, concurrency=4)
    bad = {r.tenant: r for r in results if not r.ok}
    assert set(bad) == {"t003", "t007"}
    auth = bad["t003"].error
    assert isinstance(auth, AuthError)
    assert auth.tenant == "t003"
    assert auth.hint == "check the secret"
    crash = bad["t007"].error
    assert isinstance(crash, LiveReadError)
    assert crash.tenant == "t007"
    assert "boom" in crash.message
    assert "RuntimeError" in crash.message
    assert sum(r.ok for r in results) == 8


def test_progress_reports_every_tenant_once() -> None:
    seen: list[tuple[int, int, str, bool]] = []
    source = FakeSource(failing={"t001": LiveReadError("down")})
    read_tenants(tenants(6), source, concurrency=3, progress=lambda *a: seen.append(a))
    assert sorted(d for d, *_ in seen) == [1, 2, 3, 4, 5, 6]
    assert {t for _, total, t, _ in seen if total == 6} == {f"t{i:03d}" for i in range(6)}
    assert [ok for *_, t, ok in seen if t == "t001"] == [False]


def test_no_tenants_reads_nothing() -> None:
    assert read_tenants([], FakeSource()) == []


def test_shards_partition_the_tenants_evenly_and_deterministically() -> None:
    items = tenants(23)
    parts = [shard(items, k, 4, lambda t: t.name) for k in range(1, 5)]
    names = [t.name for part in parts for t in part]
    assert sorted(names) == sorted(t.name for t in items)  # each exactly once
    assert len(set(names)) == len(names)
    assert {len(p) for p in parts} <= {5, 6}
    shuffled = items[7:] + items[:7]
    again = [shard(shuffled, k, 4, lambda t: t.name) for k in range(1, 5)]
    assert [sorted(t.name for t in p) for p in again] == [sorted(t.name for t in p) for p in parts]
    assert shard(items, 1, 1, lambda t: t.name) == items


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "x", "1-4", "", "-1/2"])
def test_bad_shard_specs_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match="--shard"):
        parse_shard(text)


def test_shard_spec_parses() -> None:
    assert parse_shard("2/5") == (2, 5)
    assert parse_shard(" 1 / 1 ") == (1, 1)
