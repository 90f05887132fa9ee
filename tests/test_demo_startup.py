"""The demo starts without making an RSA key: the simulator's token-signing key is made with the
demo's state, saved with it (owner-only), and read back by every later start, including a
state saved before the key was kept."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from driftguard.cli import main
from driftguard.sim import inprocess
from driftguard.sim.inprocess import STATE_FILE, demo_environment, reset_demo


def _saved_key(folder: Path) -> str | None:
    data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    key = data["signing_key"]
    assert key is None or isinstance(key, str)
    return key


def test_the_signing_key_is_saved_with_a_new_demo_and_read_back(tmp_path: Path) -> None:
    reset_demo(tmp_path)
    key = _saved_key(tmp_path)
    assert key is not None and key.startswith("-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE((tmp_path / STATE_FILE).stat().st_mode) == 0o600
    env = demo_environment(tmp_path)
    assert env.sim.has_signing_key  # read back, not made
    assert _saved_key(tmp_path) == key
    assert demo_environment(tmp_path).sim.signing_key.private_numbers() == (
        env.sim.signing_key.private_numbers()
    )


def test_a_state_saved_without_the_key_gets_one_once(tmp_path: Path) -> None:
    reset_demo(tmp_path)
    path = tmp_path / STATE_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "signing_key": None}), encoding="utf-8")
    demo_environment(tmp_path)
    key = _saved_key(tmp_path)
    assert key is not None
    demo_environment(tmp_path)
    assert _saved_key(tmp_path) == key


def test_the_demo_diff_signs_in_with_the_saved_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A whole ``diff --tenant demo`` twice: tokens signed by the saved key pass the simulated
    service's checks, the read finds the demo's three critical findings, the key stays."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    folder = inprocess.data_dir()
    reset_demo(folder)
    key = _saved_key(folder)
    for _ in range(2):
        assert main(["diff", "--tenant", "demo", "--format", "json"]) == 2
        summary = json.loads(capsys.readouterr().out)["summary"]
        assert (summary["findings"], summary["critical"]) == (3, 3)
    assert _saved_key(folder) == key
