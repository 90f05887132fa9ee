"""A steady watch: a tenant whose answer did not change keeps its last judgement, and anything
that could change the judgement (a changed record, a baseline file, a new day, a failed read, a
state written by someone else) makes the sweep judge it in full again. The loop runs against the
HTTPS simulator through the CLI's transport (one connection pool, sign-in kept)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftguard.baseline.load import load_baseline
from driftguard.live.service import ExchangeSource, PooledSessions
from driftguard.live.source import Source
from driftguard.live.wire import BodyDigest
from driftguard.model import Snapshot, Status, TenantConfig
from driftguard.sim import Simulator
from driftguard.watch import loop
from driftguard.watch.baselinecache import ReloadOnChange
from driftguard.watch.judgement import KeptJudgements
from driftguard.watch.notify import LogNotifier
from driftguard.watch.schedule import Schedule
from driftguard.watch.state import WatchState, opened
from driftguard.watch.tokens import KeptTokens
from driftguard.watch.verdict import Change
from livekit import FAST
from simulator import invoke, sim_token
from watchkit import ROGUE_IP, TENANT, add_rogue_ip, remove_rogue_ip

OTHER = "tenant-0002"
SCHEDULE = Schedule(interval=60, spread=0, jitter=0)
DAY = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@dataclass
class _Watch:
    """One watch process's worth of loop: its sources, kept judgements and a settable clock."""

    sim: Simulator
    base: Path
    state: WatchState
    source: Source
    now: datetime = DAY
    tenants: list[str] = field(default_factory=lambda: [TENANT, OTHER])
    kept: KeptJudgements = field(default_factory=KeptJudgements)
    said: list[str] = field(default_factory=list)

    def edges(self) -> loop.Edges:
        cache = ReloadOnChange(lambda: load_baseline(self.base), self.base)
        return loop.Edges(
            load=cache,
            select=lambda _baseline: list(self.tenants),
            source=self.source,
            evidence=lambda report, _baseline, _snapshot: report,
            notifiers=[LogNotifier(self.said.append)],
            say=self.said.append,
            clock=lambda: self.now,
            monotonic=lambda: 0.0,
            wait=lambda _seconds: False,
            concurrency=4,
        )

    def sweep(self, edges: loop.Edges) -> loop.SweepResult:
        result = loop.sweep(self.state, SCHEDULE, edges, self.kept)
        assert result is not None
        return result


def _cli_source() -> ExchangeSource:
    """The transport `driftguard watch` builds: one pool, one sign-in kept per tenant."""
    return ExchangeSource(policy=FAST, session_factory=PooledSessions(4), tokens=KeptTokens())


@pytest.fixture
def watch(sim_factory: Callable[..., Simulator], tmp_path: Path) -> Iterator[_Watch]:
    sim = sim_factory(tenants=2)
    base = sim.write_baseline(tmp_path / "baseline")
    with opened(tmp_path / "watch.sqlite") as state:
        yield _Watch(sim, base, state, _cli_source())


def _status(result: loop.SweepResult, tenant: str = TENANT) -> Status:
    [report] = [r for r in result.reports if r.tenant == tenant]
    return report.status


def _invokes(sim: Simulator) -> int:
    return sum(1 for r in sim.requests_log if r.endpoint == "invoke")


def _set(sim: Simulator, **parameters: Any) -> None:
    token = sim_token(sim, TENANT, "write")
    answer = invoke(
        sim, TENANT, token, "Set-InboundConnector", Identity="Hybrid relay", **parameters
    )
    assert answer.status_code == 200, answer.text


def test_a_steady_sweep_reuses_the_judgement_at_one_request_per_tenant(watch: _Watch) -> None:
    edges = watch.edges()
    first = watch.sweep(edges)
    assert first.reused == 0 and first.exit_code == 0
    reads = _invokes(watch.sim)
    requests = len(watch.sim.requests_log)
    second = watch.sweep(edges)
    assert second.reused == 2
    assert second.reports == first.reports and second.changes == {}
    # The read itself is still made every sweep: one request per tenant, no sign-in.
    assert _invokes(watch.sim) - reads == 2
    assert len(watch.sim.requests_log) - requests == 2
    # The state is still written each sweep: checked again, history unchanged.
    rows = watch.state.db.execute("SELECT count(*) FROM snapshots WHERE tenant=?", (TENANT,))
    assert rows.fetchone() == (1,)
    checked = watch.state.verdict(TENANT)
    assert checked is not None and checked.checked_at == DAY
    assert len(watch.kept) == 2


def test_a_record_changed_between_sweeps_is_judged_again(watch: _Watch) -> None:
    edges = watch.edges()
    watch.sweep(edges)
    watch.sweep(edges)
    add_rogue_ip(watch.sim)
    drift = watch.sweep(edges)
    assert drift.reused == 1  # the other tenant only
    assert _status(drift) is Status.DRIFT and drift.changes == {TENANT: Change.NEW_DRIFT}
    [finding] = next(r for r in drift.reports if r.tenant == TENANT).findings
    assert finding.field == "SenderIPAddresses" and finding.added == (ROGUE_IP,)
    again = watch.sweep(edges)  # the same drift, read again: kept, told once
    assert again.reused == 2 and again.changes == {} and _status(again) is Status.DRIFT
    remove_rogue_ip(watch.sim)
    resolved = watch.sweep(edges)
    assert resolved.changes == {TENANT: Change.DRIFT_RESOLVED} and resolved.reused == 1
    stored = watch.state.snapshots(TENANT)
    assert len(stored) == 3  # every change is in the history, none twice


def test_a_one_character_change_of_the_same_length_is_found(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    """Nothing about the answer but one byte differs (same length, same change time): the
    digest of the bytes tells them apart, a size or a change stamp would not."""
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    sim = sim_factory(tenants=2, clock=lambda: moment)
    base = sim.write_baseline(tmp_path / "baseline")
    with opened(tmp_path / "watch.sqlite") as state:
        w = _Watch(sim, base, state, _cli_source())
        edges = w.edges()
        _set(sim, Comment="relay AAAA")
        first = w.sweep(edges)
        [before] = [f.live for r in first.reports for f in r.findings if f.field == "Comment"]
        assert before == "relay AAAA"
        assert w.sweep(edges).reused == 2
        _set(sim, Comment="relay AAAB")
        changed = w.sweep(edges)
        assert changed.reused == 1
        [after] = [f.live for r in changed.reports for f in r.findings if f.field == "Comment"]
        assert after == "relay AAAB"
        assert changed.changes == {TENANT: Change.NEW_DRIFT}  # what drifted is not what did


def test_a_changed_baseline_file_is_judged_again_with_the_same_answer(watch: _Watch) -> None:
    edges = watch.edges()
    watch.sweep(edges)
    assert watch.sweep(edges).reused == 2
    relay = watch.base / TENANT / "inbound" / "hybrid-relay.yaml"
    relay.write_text(relay.read_text("utf-8").replace("10.0.1.0/24", "10.0.2.0/24"), "utf-8")
    moved = watch.sweep(edges)  # the live answer is byte for byte the same
    assert moved.reused == 0
    assert _status(moved) is Status.DRIFT and moved.changes == {TENANT: Change.NEW_DRIFT}
    assert watch.sweep(edges).reused == 2


def test_an_ignore_entry_expiring_overnight_is_judged_again(watch: _Watch) -> None:
    add_rogue_ip(watch.sim)
    (watch.base / ".driftguardignore.yaml").write_text(
        f"- tenant: {TENANT}\n"
        "  connector: Hybrid relay\n"
        "  field: SenderIPAddresses\n"
        "  reason: CAB-1 temporary relay during the migration\n"
        "  owner: mail-team@example.com\n"
        f"  expires: {DAY.date().isoformat()}\n",
        "utf-8",
    )
    edges = watch.edges()
    first = watch.sweep(edges)
    assert _status(first) is Status.OK
    [suppressed] = next(r for r in first.reports if r.tenant == TENANT).suppressed
    assert suppressed.finding.field == "SenderIPAddresses"
    watch.now = DAY + timedelta(hours=14)  # 23:00, the same day
    same_day = watch.sweep(edges)
    assert same_day.reused == 2 and _status(same_day) is Status.OK
    watch.now = DAY + timedelta(hours=15)  # past midnight: the entry has expired
    next_day = watch.sweep(edges)
    assert next_day.reused == 0
    assert _status(next_day) is Status.DRIFT and next_day.changes == {TENANT: Change.NEW_DRIFT}


def test_a_failed_read_keeps_nothing_and_the_next_read_is_judged(watch: _Watch) -> None:
    edges = watch.edges()
    watch.sweep(edges)
    watch.sim.tenant(TENANT).faults = {"warnings": 1.0}
    failed = watch.sweep(edges)
    assert _status(failed) is Status.ERROR and failed.changes == {TENANT: Change.UNREADABLE}
    assert failed.reused == 1 and len(watch.kept) == 1
    watch.sim.tenant(TENANT).faults = {}
    back = watch.sweep(edges)
    assert back.reused == 1 and back.changes == {TENANT: Change.READABLE}
    assert _status(back) is Status.OK


def test_a_snapshot_the_state_no_longer_holds_is_judged_and_stored_again(watch: _Watch) -> None:
    edges = watch.edges()
    watch.sweep(edges)
    watch.sweep(edges)
    other = sqlite3.connect(watch.state.path, isolation_level=None)  # e.g. another writer
    try:
        other.execute("DELETE FROM snapshots WHERE tenant=?", (TENANT,))
    finally:
        other.close()
    third = watch.sweep(edges)
    assert third.reused == 1
    assert len(watch.state.snapshots(TENANT)) == 1


@dataclass(frozen=True)
class _WithoutDigest:
    """A source that cannot say what bytes its records came from (a file, the demo)."""

    inner: Source

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        return replace(self.inner.snapshot(tenant), read_digest=None)


def test_a_read_without_a_digest_is_always_judged(watch: _Watch) -> None:
    watch.source = _WithoutDigest(watch.source)
    edges = watch.edges()
    first = watch.sweep(edges)
    second = watch.sweep(edges)
    assert (first.reused, second.reused) == (0, 0)
    assert second.reports == first.reports and len(watch.kept) == 0


def test_tenants_no_longer_watched_are_dropped(watch: _Watch) -> None:
    edges = watch.edges()
    watch.sweep(edges)
    assert len(watch.kept) == 2
    watch.tenants = [OTHER]
    only = watch.sweep(edges)
    assert only.reused == 1 and len(watch.kept) == 1
    watch.tenants = [TENANT, OTHER]
    both = watch.sweep(edges)
    assert both.reused == 1  # the tenant dropped in between is judged in full again


def test_the_body_digest_counts_page_boundaries() -> None:
    def digest(*pages: bytes) -> str:
        d = BodyDigest()
        for page in pages:
            d.add(page)
        return d.hexdigest()

    assert digest(b'{"value":[]}') == digest(b'{"value":[]}')
    assert digest(b"ab", b"c") != digest(b"a", b"bc")
    assert digest(b"abc") != digest(b"abc", b"")
    assert digest(b'{"value":[1]}') != digest(b'{"value":[2]}')


def test_the_watch_keeps_its_judgements_from_one_sweep_to_the_next(watch: _Watch) -> None:
    """``run`` (what `driftguard watch` runs) hands each sweep the judgements of the one before,
    and says how many tenants answered as before."""
    code = loop.run(watch.state, SCHEDULE, watch.edges(), sweeps=3)
    assert code == 0
    lines = [line for line in watch.said if line.startswith("sweep ")]
    assert len(lines) == 3
    assert "answered as at the last sweep" not in lines[0]
    assert all(
        line.endswith("; 2 answered as at the last sweep (not judged again)") for line in lines[1:]
    )
