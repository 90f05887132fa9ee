"""A baseline with no tenant in it is an error for every command that iterates tenants:
nothing to check is never "0 tenants, all clear"."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftguard.cli import main

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("validate",),
    ("diff",),
    ("diff", "--format", "json"),
    ("plan",),
    ("snapshot", "--out", "snap.json"),
    ("adopt",),
    ("investigate",),
)


def _hidden_only(root: Path) -> Path:
    for name in (".git", "..odd", "_drafts"):
        (root / name).mkdir(parents=True)
    (root / ".git" / "tenant.yaml").write_text("tenant_id: x\n", "utf-8")
    return root


@pytest.mark.parametrize("layout", ["empty", "hidden-only"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_tenants_is_an_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
    layout: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "baseline"
    root.mkdir()
    if layout == "hidden-only":
        _hidden_only(root)
    assert main([*command, "--baseline", str(root)]) == 1
    captured = capsys.readouterr()
    assert f"no tenants found in {root}" in captured.err
    assert "Traceback" not in captured.err
    assert "0 tenants" not in captured.out + captured.err
    assert not (tmp_path / "snap.json").exists()
