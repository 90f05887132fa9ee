"""`driftguard snapshot`: atomic snapshot files with digest, read back by --live; many tenants."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from driftguard.cli import main
from driftguard.live.files import snapshot_digest
from driftguard.sim import ServerKnobs, Simulator
from livekit import MATRIX_KNOBS

FAST_ARGS = ["--deadline", "3"]


@pytest.fixture
def three(sim_factory: Callable[..., Simulator], tmp_path: Path) -> tuple[Simulator, Path]:
    sim = sim_factory(tenants=3, knobs=ServerKnobs(**MATRIX_KNOBS))
    return sim, sim.write_baseline(tmp_path / "baseline")


def test_one_tenant_to_a_file_and_back_through_live(
    three: tuple[Simulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, base = three
    out = tmp_path / "snap" / "t1.json"
    code = main(["snapshot", "--baseline", str(base), "--tenant", "tenant-0001", "--out", str(out)])
    assert code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["driftguard_snapshot"] == 1
    assert doc["tenant"] == "tenant-0001"
    assert doc["tenant_id"] == sim.tenant("tenant-0001").tenant_id
    assert doc["source"] == f"exchange:https://{sim.host}"
    assert doc["taken_at"].endswith("Z")
    assert doc["digest"] == snapshot_digest(doc["records"])
    assert sorted(r["Name"] for r in doc["records"]) == sorted(
        c["Name"] for c in sim.tenant("tenant-0001").connectors
    )
    assert doc["warnings"] == []
    assert f"wrote {out}" in capsys.readouterr().err

    live = main(["diff", "--baseline", str(base), "--tenant", "tenant-0001", "--live", str(out)])
    service = main(["diff", "--baseline", str(base), "--tenant", "tenant-0001"])
    assert live == service


def test_several_tenants_need_a_folder(three: tuple[Simulator, Path], tmp_path: Path) -> None:
    _, base = three
    code = main(["snapshot", "--baseline", str(base), "--out", str(tmp_path / "one.json")])
    assert code == 1
    assert not (tmp_path / "one.json").exists()
    folder = tmp_path / "snaps"
    assert main(["snapshot", "--baseline", str(base), "--out", f"{folder}/"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "tenant-0001.json",
        "tenant-0002.json",
        "tenant-0003.json",
    ]


def test_a_failed_tenant_gets_no_file_and_exit_1(
    three: tuple[Simulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, base = three
    sim.tenant("tenant-0002").faults = {"warnings": 1.0}
    folder = tmp_path / "snaps"
    folder.mkdir()
    code = main(["snapshot", "--baseline", str(base), "--out", str(folder), *FAST_ARGS])
    assert code == 1
    assert sorted(p.name for p in folder.iterdir()) == ["tenant-0001.json", "tenant-0003.json"]
    err = capsys.readouterr().err
    assert "error: tenant-0002: Get-InboundConnector answered with warnings" in err


def test_shards_split_the_tenants_across_jobs(
    three: tuple[Simulator, Path], tmp_path: Path
) -> None:
    _, base = three
    seen: list[str] = []
    for k in (1, 2):
        folder = tmp_path / f"shard{k}"
        args = ["snapshot", "--baseline", str(base), "--out", f"{folder}/", "--shard", f"{k}/2"]
        assert main(args) == 0
        seen += sorted(p.stem for p in folder.iterdir())
    assert sorted(seen) == ["tenant-0001", "tenant-0002", "tenant-0003"]
    assert len(set(seen)) == 3


def test_bad_shard_is_an_input_error(
    three: tuple[Simulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, base = three
    code = main(["snapshot", "--baseline", str(base), "--out", f"{tmp_path}/", "--shard", "3/2"])
    assert code == 1
    assert "--shard 3/2" in capsys.readouterr().err


def test_demo_snapshot_without_a_baseline_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["snapshot", "--tenant", "demo", "--out", "demo.json"]) == 0
    doc = json.loads((tmp_path / "demo.json").read_text(encoding="utf-8"))
    assert doc["tenant"] == "demo"
    assert doc["digest"] == snapshot_digest(doc["records"])
    assert main(["diff", "--tenant", "demo", "--live", "demo.json"]) == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(
    three: tuple[Simulator, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, base = three
    assert main(["snapshot", "--baseline", str(base), "--out", f"{tmp_path}/a/"]) == 0
    plain = capsys.readouterr().err
    assert "\r" not in plain  # no bar off a terminal: the steady line for logs instead
    assert "tenants 3/3 done, 0 errors" in plain.splitlines()
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["snapshot", "--baseline", str(base), "--out", f"{tmp_path}/b/"]) == 0
    text = terminal.getvalue()
    assert "\r[" in text
    assert "] 3/3 tenants" in text
    assert text.count("\r[") == 3
    assert "done, 0 errors" not in text  # a terminal has the bar, not the log line
