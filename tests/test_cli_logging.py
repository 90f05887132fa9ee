"""What a run says on stderr: a steady progress line for CI, and with -v/--debug every HTTP call,
retry and timing through logging, secrets redacted (against the HTTPS simulator)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from driftguard.cli import main
from driftguard.cli._logging import redacted
from driftguard.errors import ServiceError
from driftguard.live.runner import read_tenants
from driftguard.model import Snapshot, TenantConfig
from driftguard.sim import ServerKnobs, Simulator


class HeldSource:
    """Reads that end only when ``release`` is set; ``bad`` fails."""

    def __init__(self, bad: str) -> None:
        self.release = threading.Event()
        self.bad = bad

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        assert self.release.wait(30)
        if tenant.name == self.bad:
            raise ServiceError("HTTP 503")
        return Snapshot(tenant.name, (), "held", datetime(2026, 1, 1, tzinfo=UTC))


def test_the_heartbeat_beats_while_nothing_finishes_and_once_at_the_end() -> None:
    source = HeldSource(bad="t1")
    beats: list[tuple[int, int, int]] = []

    def beat(done: int, total: int, errors: int) -> None:
        beats.append((done, total, errors))
        if len(beats) == 3:
            source.release.set()

    tenants = [TenantConfig(name=f"t{i}", tenant_id=f"id-{i}") for i in range(3)]
    reads = read_tenants(tenants, source, concurrency=3, heartbeat=beat, interval=0.05)
    assert [r.ok for r in reads] == [True, False, True]
    assert beats[:3] == [(0, 3, 0)] * 3  # nothing done yet, and still a line
    assert beats[-1] == (3, 3, 1)


def test_secrets_are_redacted_from_log_lines() -> None:
    line = (
        "Authorization: Bearer abc.def.ghi client_secret=s3cr3t&code=0.AXcode "
        "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig password: 'pw1'"
    )
    out = redacted(line)
    for secret in ("abc.def.ghi", "s3cr3t", "0.AXcode", "eyJ", "pw1"):
        assert secret not in out
    assert out.startswith("Authorization: ***")


def test_a_ci_run_prints_progress_and_debug_logs_http_calls_without_secrets(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=3, knobs=ServerKnobs(retry_after=1))
    base = sim.write_baseline(tmp_path / "baseline")
    sim.tenant("tenant-0002").faults = {"unavailable": 1.0}
    code = main(["diff", "--baseline", str(base), "--deadline", "3", "--debug"])
    assert code == 1
    err = capsys.readouterr().err
    assert "tenants 3/3 done, 1 error" in err.splitlines()  # stderr is not a terminal here
    calls = re.findall(r"^http: POST (\S+?)(/\S*) -> (\S+) in \d+\.\d\d s$", err, re.M)
    paths = {path for _host, path, _status in calls}
    assert any(p.endswith("/oauth2/v2.0/token") for p in paths)
    assert any(p.endswith("/InvokeCommand") for p in paths)
    assert ("503" in {status for _h, _p, status in calls}) and ("200" in {s for *_, s in calls})
    assert re.search(r"^live\.runner: tenant tenant-0001: read in \d+\.\d\d s$", err, re.M)
    assert "live.exchange: Get-InboundConnector for tenant tenant-0002: attempt 1 failed" in err
    assert "eyJ" not in err and "Bearer" not in err and "?" not in "".join(paths)


def test_without_verbose_http_calls_are_not_logged(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=1)
    base = sim.write_baseline(tmp_path / "baseline")
    assert main(["diff", "--baseline", str(base)]) in (0, 2)
    assert "http: " not in capsys.readouterr().err
    assert main(["diff", "-v", "--baseline", str(base)]) in (0, 2)
    assert "http: POST " in capsys.readouterr().err
