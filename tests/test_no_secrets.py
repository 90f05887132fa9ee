"""Canary test: a client secret and a certificate password with canary values never appear in
stdout, stderr, any log record (DEBUG, msal and urllib3 included), exception text or written file,
across the whole fault matrix. Access tokens (JWTs, ``eyJ...``) never appear either.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from driftguard.baseline.load import load_baseline
from driftguard.cli import main
from driftguard.live.runner import read_tenants
from driftguard.live.service import ExchangeSource
from driftguard.sim import ServerKnobs, Simulator
from livekit import (
    FAST,
    MATRIX_KNOBS,
    MATRIX_TENANTS,
    Sleeps,
    arm_faults,
    encrypted_key_files,
    read_app,
    tenant_name,
)

CANARY_SECRET = "CANARY-s3cr3t-7f1e9b"
CANARY_PASSWORD = "CANARY-pfx-pw-2c4d"
WRONG_SECRET = "CANARY-wrong-secret-55aa"
WRONG_PASSWORD = "CANARY-wrong-pw-66bb"
CANARIES = (CANARY_SECRET, CANARY_PASSWORD, WRONG_SECRET, WRONG_PASSWORD)
JWT_PREFIX = "eyJ"
QUICK = dataclasses.replace(FAST, max_attempts=2, read_timeout=0.5)


def exception_texts(exc: BaseException | None) -> Iterator[str]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield str(exc)
        yield repr(exc)
        yield str(getattr(exc, "hint", "") or "")
        yield " ".join(getattr(exc, "lines", lambda: [])())
        exc = exc.__cause__ or exc.__context__


@pytest.mark.slow
def test_canaries_never_leak(
    sim_factory: Callable[..., Simulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("", "urllib3", "msal", "requests", "driftguard"):
        caplog.set_level(logging.DEBUG, logger=name)
    sim = sim_factory(tenants=MATRIX_TENANTS + 2, knobs=ServerKnobs(**MATRIX_KNOBS))
    app = read_app(sim)
    app.secret = CANARY_SECRET
    work = tmp_path / "work"
    work.mkdir()
    base = sim.write_baseline(work / "baseline")
    pfx, _ = encrypted_key_files(sim, tmp_path, CANARY_PASSWORD.encode())
    monkeypatch.setenv("DG_SECRET", CANARY_SECRET)
    monkeypatch.setenv("DG_PASSWORD", CANARY_PASSWORD)
    monkeypatch.setenv("DG_WRONG_SECRET", WRONG_SECRET)
    monkeypatch.setenv("DG_WRONG_PASSWORD", WRONG_PASSWORD)
    for i in range(1, MATRIX_TENANTS + 3):
        path = base / tenant_name(i) / "tenant.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if i == MATRIX_TENANTS + 1:
            auth = {"client_secret_env": "DG_WRONG_SECRET"}
        elif i == MATRIX_TENANTS + 2:
            auth = {"certificate_path": str(pfx), "certificate_password_env": "DG_WRONG_PASSWORD"}
        elif i % 2:
            auth = {"client_secret_env": "DG_SECRET"}
        else:
            auth = {"certificate_path": str(pfx), "certificate_password_env": "DG_PASSWORD"}
        doc["auth"] = {"client_id": app.client_id, **auth}
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    arm_faults(sim)

    texts: list[str] = []
    # --debug: every HTTP call, retry and timing is logged on stderr, which is checked below
    args = ["--baseline", str(base), "--deadline", "2", "--concurrency", "32", "--debug"]
    report = str(work / "report.json")
    codes = [
        main(["diff", *args, "--format", "json", "--output", report]),
        main(["snapshot", *args, "--out", f"{work}/snaps/"]),
    ]
    assert codes == [1, 1]
    out, err = capsys.readouterr()
    texts += [out, err]
    assert "AADSTS7000215" in err  # the wrong secret was tried and refused
    assert "wrong password" in err
    assert "http: POST " in err and "/oauth2/v2.0/token -> " in err  # the debug output is here

    tenants = list(load_baseline(base).tenants.values())
    reads = read_tenants(
        [t.config for t in tenants],
        ExchangeSource(policy=QUICK, sleep=Sleeps()),
        concurrency=32,
    )
    errors = [r.error for r in reads if r.error is not None]
    assert len(errors) >= 14
    for error in errors:
        texts.extend(exception_texts(error))

    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            texts.append(record.exc_text)
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # DEBUG really captured

    written = [p for p in work.rglob("*") if p.is_file() and ".credentials" not in p.parts]
    assert any(p.suffix == ".json" and "snaps" in p.parts for p in written)
    texts += [p.read_bytes().decode("latin-1") for p in written]

    for text in texts:
        for canary in CANARIES:
            assert canary not in text
        assert JWT_PREFIX not in text
