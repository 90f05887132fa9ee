"""`driftguard watch` and `history` against the HTTPS simulator: notify once per change of
verdict, evidence with a new drift, the outbox across failures, overruns said loudly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from driftguard.cli import main
from driftguard.sim import ServerKnobs, Simulator
from watchkit import (
    ROGUE_IP,
    TENANT,
    Receiver,
    add_rogue_ip,
    assert_valid_notification,
    query,
    remove_rogue_ip,
)

FAST = ["--interval", "1", "--deadline", "5"]


@pytest.fixture
def estate(sim_factory: Callable[..., Simulator], tmp_path: Path) -> tuple[Simulator, Path]:
    sim = sim_factory(tenants=2)
    return sim, sim.write_baseline(tmp_path / "baseline")


def watch(base: Path, state: Path, *extra: str) -> int:
    return main(["watch", "--baseline", str(base), "--state", str(state), *FAST, *extra])


def test_notifies_once_per_change_and_history_shows_it(
    estate: tuple[Simulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, base = estate
    state = tmp_path / "state" / "watch.sqlite"
    receiver = Receiver.make(tmp_path / "receiver")
    notify = ["--notify", receiver.target, "--notify", "log"]

    assert watch(base, state, "--once", *notify) == 0
    assert receiver.received() == []  # a first sweep that finds all clear is quiet

    add_rogue_ip(sim)
    assert watch(base, state, "--once", *notify) == 2
    [drift] = receiver.received()
    assert drift["change"] == "new_drift" and drift["tenant"] == TENANT
    assert drift["key"] == drift["_key_from_env"] == f"driftguard:{TENANT}:sweep-2:new_drift"
    assert drift["sweep"] == 2
    [finding] = drift["report"]["findings"]
    assert finding["field"] == "SenderIPAddresses" and finding["added"] == [ROGUE_IP]
    # The audit trail was read at once: who widened the connector.
    [event] = finding["events"]
    assert event["operation"] == "Set-InboundConnector"
    err = capsys.readouterr().err
    assert f"notify: {TENANT}: new drift, 1 finding" in err
    assert "sweep 2: 2 tenants in" in err and "1 drift, 0 unreadable, 1 change" in err

    for _ in range(2):  # the same drift again: no second notification
        assert watch(base, state, "--once", *notify) == 2
    assert len(receiver.received()) == 1

    remove_rogue_ip(sim)
    assert watch(base, state, "--once", *notify) == 0
    assert [n["change"] for n in receiver.received()] == ["new_drift", "drift_resolved"]
    for notification in receiver.received():
        assert_valid_notification(notification)
    assert query(state, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(0,)]
    capsys.readouterr()

    assert main(["history", "--tenant", TENANT, "--state", str(state)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"{TENANT}: 3 stored snapshots")  # only changes are stored
    assert any(
        line.endswith(f"connector 'Hybrid relay' [{_guid(sim)}]: SenderIPAddresses +\"{ROGUE_IP}\"")
        for line in lines
    ), out
    assert any(f'SenderIPAddresses -"{ROGUE_IP}"' in line for line in lines), out
    assert "sweep 2 (since sweep 1" in out and "sweep 5 (since sweep 2" in out

    assert main(["history", "--tenant", TENANT, "--state", str(state), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    first = doc["changes"][0]
    assert (first["sweep"], first["since_sweep"]) == (2, 1)
    assert first["differences"] == [
        {
            "kind": "added",
            "connector": "Hybrid relay",
            "guid": _guid(sim),
            "property": "SenderIPAddresses",
            "before": None,
            "after": ROGUE_IP,
        }
    ]


def _guid(sim: Simulator) -> str:
    guid = sim.tenant(TENANT).find_connector("Hybrid relay")
    assert guid is not None
    return str(guid["Guid"])


def test_unreadable_and_readable_again_are_told(
    estate: tuple[Simulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, base = estate
    state = tmp_path / "watch.sqlite"
    receiver = Receiver.make(tmp_path / "receiver")
    notify = ["--notify", receiver.target]
    assert watch(base, state, "--once", *notify) == 0
    sim.tenant(TENANT).faults = {"warnings": 1.0}
    assert watch(base, state, "--once", *notify) == 1  # fail closed: never "no drift"
    assert watch(base, state, "--once", *notify) == 1
    sim.tenant(TENANT).faults = {}
    assert watch(base, state, "--once", *notify) == 0
    changes = [(n["tenant"], n["change"]) for n in receiver.received()]
    assert changes == [(TENANT, "unreadable"), (TENANT, "readable_again")]
    assert "may be incomplete" in receiver.received()[0]["summary"]
    assert_valid_notification(receiver.received()[0])
    [(verdict, detail)] = query(
        state, "SELECT verdict, detail FROM verdicts WHERE tenant=?", TENANT
    )
    assert (verdict, detail) == ("ok", None)


def test_a_refused_notification_stays_in_the_outbox_until_accepted(
    estate: tuple[Simulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, base = estate
    state = tmp_path / "watch.sqlite"
    receiver = Receiver.make(tmp_path / "receiver", up=False)
    notify = ["--notify", receiver.target]
    assert watch(base, state, "--once", *notify) == 0
    add_rogue_ip(sim)
    assert watch(base, state, "--once", *notify) == 2
    assert watch(base, state, "--once", *notify) == 2  # retried, refused again
    err = capsys.readouterr().err
    assert "exit 3: receiver is down" in err and "stays in the outbox" in err
    [(attempts, error)] = query(state, "SELECT attempts, last_error FROM outbox")
    assert attempts == 3 and "receiver is down" in error  # after its sweep, at the next start
    # and after the next sweep
    receiver.up()
    assert watch(base, state, "--once", *notify) == 2
    assert [n["key"] for n in receiver.received()] == [f"driftguard:{TENANT}:sweep-2:new_drift"]
    assert watch(base, state, "--once", *notify) == 2
    assert len(receiver.received()) == 1


def test_a_sweep_longer_than_its_interval_says_so(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=1, knobs=ServerKnobs(latency_ms=150))
    base = sim.write_baseline(tmp_path / "baseline")
    state = tmp_path / "watch.sqlite"
    code = main(
        ["watch", "--baseline", str(base), "--state", str(state), "--once", "--interval", "0.1"]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: sweep 1 took" in err and "longer than its 0.1 s interval" in err
    [(overran, interval, duration)] = query(state, "SELECT overran, interval, duration FROM sweeps")
    assert overran == 1 and interval == 0.1 and duration > 0.1


def test_bad_notify_target_and_missing_state_are_one_line_errors(
    estate: tuple[Simulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, base = estate
    state = tmp_path / "watch.sqlite"
    assert watch(base, state, "--once", "--notify", "slack://token@channel?x=secret") == 1
    err = capsys.readouterr().err
    assert "not a notification target" in err and "secret" not in err
    assert not state.exists()
    assert main(["history", "--tenant", TENANT, "--state", str(state)]) == 1
    assert "no watch state here" in capsys.readouterr().err


def test_history_refuses_a_file_that_is_not_a_watch_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.sqlite"
    other.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    assert main(["history", "--tenant", TENANT, "--state", str(other)]) == 1
    assert "watch state" in capsys.readouterr().err


def test_sign_in_is_kept_between_sweeps(estate: tuple[Simulator, Path], tmp_path: Path) -> None:
    """Three sweeps of two tenants: one discovery and one token per tenant, three reads each."""
    sim, base = estate
    state = tmp_path / "watch.sqlite"
    args = ["--sweeps", "3", "--interval", "0.2", "--spread", "0", "--jitter", "0"]
    assert main(["watch", "--baseline", str(base), "--state", str(state), *args]) == 0
    counts: dict[tuple[str | None, str], int] = {}
    for r in sim.requests_log:
        counts[(r.tenant, r.endpoint)] = counts.get((r.tenant, r.endpoint), 0) + 1
    for tenant in ("tenant-0001", "tenant-0002"):
        assert counts.get((tenant, "token")) == 1, counts
        assert counts.get((tenant, "invoke")) == 3, counts
    assert sum(n for (_, endpoint), n in counts.items() if endpoint == "openid") == 2, counts


def test_a_baseline_that_stops_loading_is_told_once_and_its_return_too(
    estate: tuple[Simulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, base = estate
    state = tmp_path / "watch.sqlite"
    receiver = Receiver.make(tmp_path / "receiver")
    notify = ["--notify", receiver.target]
    assert watch(base, state, "--once", *notify) == 0
    tenant_yaml = base / TENANT / "tenant.yaml"
    good = tenant_yaml.read_text("utf-8")
    tenant_yaml.write_text(good + "colour: blue\n", "utf-8")
    assert watch(base, state, "--once", *notify) == 1  # nothing judged is never "no drift"
    assert watch(base, state, "--once", *notify) == 1
    err = capsys.readouterr().err
    assert "colour" in err
    tenant_yaml.write_text(good, "utf-8")
    assert watch(base, state, "--once", *notify) == 0
    got = [(n["tenant"], n["change"]) for n in receiver.received()]
    assert got == [("(baseline)", "unreadable"), ("(baseline)", "readable_again")]
    assert "colour" in receiver.received()[0]["summary"]
    for notification in receiver.received():
        assert_valid_notification(notification)
    assert query(state, "SELECT tenants, errors FROM sweeps ORDER BY id") == [
        (2, 0),
        (0, 0),
        (0, 0),
        (2, 0),
    ]
