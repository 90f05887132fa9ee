"""Reads that must fail, not pass: a hostile HTTPS server (tests/hostilekit.py) behind the admin
API, Graph or the sign-in service, driven through the CLI with the real msal and requests code.

Sign-in goes to the simulator (real tokens); the host under test is the hostile server. Every case
ends in exit 1 with the tenant in error, the cause and the host named, within the deadline, and
never in "no connectors" or "nothing found".
"""

from __future__ import annotations

import json
import signal
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import hostilekit
from driftguard.cli import main
from driftguard.live.http import make_session
from driftguard.live.transport import MAX_BODY, ResponseTooLarge, ResponseTooSlow, time_limit
from driftguard.sim import Simulator

T1 = "tenant-0001"
SINCE = "2026-11-01"


# A cut-off read ends well before the 20 s drip does: the 3 s deadline plus start-up, with room
# for a loaded machine (wall-clock bounds this tight are otherwise flaky).
CUT = 15


@pytest.fixture
def hostile(sim_tls: tuple[Path, Path, bytes]) -> Iterator[hostilekit.Hostile]:
    server = hostilekit.start(sim_tls)
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def one(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(tenants=1)


def baseline(sim: Simulator, tmp_path: Path, host: str, *keys: str) -> Path:
    """The simulator's baseline with ``keys`` of the tenant's endpoints pointing at ``host``."""
    root = sim.write_baseline(tmp_path / "baseline")
    path = root / T1 / "tenant.yaml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    for key in keys or ("exchange_host", "graph_host"):
        doc["endpoints"][key] = host
    path.write_text(yaml.safe_dump(doc), "utf-8")
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str, float]:
    """(exit code, the tenant's JSON report entry, stderr, seconds taken)."""
    started = time.monotonic()
    code = main([*argv, "--tenant", T1, "--format", "json"])
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    [tenant] = json.loads(captured.out)["tenants"]
    return code, tenant, captured.err, elapsed


def assert_tenant_error(code: int, tenant: dict[str, Any], *phrases: str) -> str:
    assert code == 1, tenant
    assert tenant["tenant"] == T1
    assert tenant["status"] == "error", tenant
    assert tenant["findings"] == []
    message = str(tenant["error"])
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    return message


# --------------------------------------------------------------------------- shapes (point 6)

SHAPE_CAUSES = {
    "no-value": "unexpected answer shape (no 'value' list)",
    "value-not-list": "unexpected answer shape ('value' is not a list)",
    "record-not-object": "unexpected answer shape (a record is not an object)",
    "error-in-200": "answered with an error: InternalServerError: The operation failed.",
}


@pytest.mark.parametrize("mode", sorted(SHAPE_CAUSES))
def test_a_200_that_is_not_a_list_answer_is_an_error_not_no_connectors(
    one: Simulator,
    hostile: hostilekit.Hostile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mode: str,
) -> None:
    hostile.mode = mode
    root = baseline(one, tmp_path, hostile.host)
    code, tenant, _, _ = run(capsys, "diff", "--baseline", str(root))
    assert_tenant_error(code, tenant, "Get-InboundConnector", SHAPE_CAUSES[mode])
    assert hostile.seen == ["Get-InboundConnector"]  # a shape error is not retried


READERS = {
    "Get-BlockedConnector": "Get-BlockedConnector",
    "Search-UnifiedAuditLog": "Search-UnifiedAuditLog",
    "Get-MessageTraceV2": "Get-MessageTraceV2",
    "/v1.0/security/alerts_v2": "Graph: GET /v1.0/security/alerts_v2",
}


@pytest.mark.parametrize("mode", ["no-value", "error-in-200"])
@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_investigation_reader_fails_on_a_200_without_records(
    one: Simulator,
    hostile: hostilekit.Hostile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    reader: str,
    mode: str,
) -> None:
    hostile.mode = mode
    hostile.hostile_for = {reader}
    root = baseline(one, tmp_path, hostile.host)
    code, tenant, _, _ = run(capsys, "investigate", "--baseline", str(root), "--since", SINCE)
    assert reader in hostile.seen
    assert_tenant_error(code, tenant, READERS[reader], SHAPE_CAUSES[mode])


# --------------------------------------------------------------------------- time (point 7)


@pytest.mark.parametrize("mode", ["drip-body", "drip-headers"])
def test_a_dripping_server_is_cut_off_at_the_deadline(
    one: Simulator,
    hostile: hostilekit.Hostile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mode: str,
) -> None:
    hostile.mode = mode
    root = baseline(one, tmp_path, hostile.host)
    code, tenant, err, elapsed = run(capsys, "diff", "--baseline", str(root), "--deadline", "3")
    message = assert_tenant_error(code, tenant, "Get-InboundConnector", hostile.host)
    # The last attempt's cause is named: the cut, or a retry's socket timeout within what was
    # left of the deadline.
    assert "cut off" in message or "read timeout" in message, message
    assert "deadline reached" in message
    assert T1 in err
    assert hostile.dripped > 3  # it was really dripping, not silent
    assert elapsed < CUT  # the deadline, plus start-up on a busy machine; the drip lasts 20 s


def test_a_retry_cut_at_the_deadline_reports_the_failure_before_it(
    one: Simulator,
    hostile: hostilekit.Hostile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile.mode = "busy-then-drip"
    root = baseline(one, tmp_path, hostile.host)
    code, tenant, _, elapsed = run(capsys, "diff", "--baseline", str(root), "--deadline", "3")
    message = assert_tenant_error(code, tenant, "Get-InboundConnector", "deadline reached")
    # The failure of an attempt before the cut is named, not just "deadline": on a quiet machine
    # the 503, on a busy one possibly the drip an earlier attempt's own time budget cut off.
    assert ("HTTP 503" in message and "maximum number of concurrent requests" in message) or (
        "connection reset" in message
    ), message
    assert hostile.seen.count("Get-InboundConnector") >= 2
    assert elapsed < CUT


@pytest.mark.parametrize(
    ("mode", "cause", "deadline"),
    [("drip-body", "cut off", 3), ("gzip-bomb", f"larger than {MAX_BODY // 2**20} MiB", 20)],
)
def test_the_sign_in_service_is_bounded_too(
    one: Simulator,
    hostile: hostilekit.Hostile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    cause: str,
    deadline: int,
) -> None:
    hostile.mode = mode
    hostilekit.gzip_bomb()  # made before the clock starts
    root = baseline(one, tmp_path, hostile.host, "authority_host")
    argv = ("diff", "--baseline", str(root), "--deadline", str(deadline))
    code, tenant, _, elapsed = run(capsys, *argv)
    assert_tenant_error(code, tenant, "sign-in service", hostile.host, cause)
    assert elapsed < deadline + CUT - 3


def test_a_graph_read_is_cut_off_at_the_deadline(
    one: Simulator,
    hostile: hostilekit.Hostile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile.mode = "drip-body"
    hostile.hostile_for = {"/v1.0/security/alerts_v2"}
    root = baseline(one, tmp_path, hostile.host)
    args = ("investigate", "--baseline", str(root), "--since", SINCE, "--deadline", "3")
    code, tenant, _, elapsed = run(capsys, *args)
    assert_tenant_error(code, tenant, "Graph: GET /v1.0/security/alerts_v2", "cut off")
    assert elapsed < CUT + 5  # its deadline, start-up, and the Exchange reads before it


# --------------------------------------------------------------------------- size (point 7)


def test_a_gzip_bomb_fails_fast_at_the_size_limit(
    one: Simulator,
    hostile: hostilekit.Hostile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile.mode = "gzip-bomb"
    assert len(hostilekit.gzip_bomb()) < 2 * 2**20  # ~1 MB on the wire, 1 GiB decoded
    root = baseline(one, tmp_path, hostile.host)
    tracemalloc.start()
    try:
        code, tenant, _, elapsed = run(capsys, "diff", "--baseline", str(root))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = assert_tenant_error(code, tenant, "Get-InboundConnector", hostile.host)
    assert f"answer larger than {MAX_BODY // 2**20} MiB (refused)" in message
    assert hostile.seen == ["Get-InboundConnector"]  # refused once, not retried
    assert peak < 3 * MAX_BODY
    assert elapsed < 30


# --------------------------------------------------------------------------- the transport


def test_the_watch_never_cuts_a_connection_after_its_request(
    one: Simulator, hostile: hostilekit.Hostile
) -> None:
    hostile.hostile_for = {"/never"}
    with make_session(str(one.ca_path)) as session:
        url = f"https://{hostile.host}/fine"
        with time_limit(0.5):
            assert session.get(url).json() == {"value": []}
        time.sleep(1.0)  # past the first request's budget: its watchdog must be gone
        assert session.get(url).json() == {"value": []}


def test_a_slow_read_stays_interruptible(one: Simulator, hostile: hostilekit.Hostile) -> None:
    hostile.mode = "drip-body"

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    started = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with make_session(str(one.ca_path)) as session, pytest.raises(KeyboardInterrupt):
            session.get(f"https://{hostile.host}/drip", timeout=(5, 30))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 3


def test_a_drip_under_a_time_limit_raises_a_timeout_naming_the_host(
    one: Simulator, hostile: hostilekit.Hostile
) -> None:
    hostile.mode = "drip-body"
    started = time.monotonic()
    expected = pytest.raises(ResponseTooSlow, match=f"from {hostile.host} within 1.0 s")
    with make_session(str(one.ca_path)) as session, time_limit(1.0), expected:
        session.get(f"https://{hostile.host}/drip", timeout=(5, 30))
    assert time.monotonic() - started < 2.5


def test_an_answer_announced_too_large_is_not_read_at_all(
    one: Simulator, hostile: hostilekit.Hostile
) -> None:
    hostile.mode = "oversize"
    started = time.monotonic()
    expected = pytest.raises(ResponseTooLarge, match=f"from {hostile.host} is larger than 64 MiB")
    with make_session(str(one.ca_path)) as session, expected:
        session.get(f"https://{hostile.host}/big", timeout=(5, 30))
    assert time.monotonic() - started < 2  # no waiting for the drip
