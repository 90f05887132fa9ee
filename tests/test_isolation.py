"""The suite's own guard: no test reads or writes outside its temporary folders.

conftest.py points HOME, every XDG_* folder and so the demo's state into a temporary folder, and
an audit hook (isolation.py) refuses a write into the checkout or outside the temporary folders,
and a read in the real home folder. These tests prove each rule bites, and that the session's
``git status`` comparison sees what a subprocess leaves behind.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

import isolation
from conftest import REAL_HOME, REPO_ROOT, fail_a_skip
from driftguard.cli import main
from driftguard.errors import OutputError
from driftguard.fsutil import write_atomic
from driftguard.sim.inprocess import data_dir


def _inside(path: str | Path, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


def test_home_xdg_and_the_demo_state_point_into_the_temporary_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = tmp_path_factory.getbasetemp()
    assert _inside(os.environ["HOME"], base) and _inside(Path.home(), base)
    xdg = {name: value for name, value in os.environ.items() if name.startswith("XDG_")}
    assert {"XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"} <= set(xdg)
    assert all(_inside(value, base) for value in xdg.values()), xdg
    assert _inside(data_dir(), base) and not _inside(data_dir(), REAL_HOME)
    assert _inside(os.path.expanduser("~/.netrc"), base)  # where requests looks for credentials


def test_the_demo_keeps_its_state_in_the_temporary_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["sim", "reset"]) == 0
    state = data_dir() / "demo-state.json"
    assert state.is_file() and _inside(state, Path(os.environ["HOME"]))


def _atomic(path: Path) -> None:
    """write_atomic as the guard sees it: the refusal is the OSError behind its OutputError."""
    try:
        write_atomic(path, "x")
    except OutputError as exc:
        raise exc.__cause__ or exc from None


WRITES: dict[str, Callable[[Path], object]] = {
    "open for writing": lambda p: p.write_text("x", encoding="utf-8"),
    "open for appending": lambda p: p.open("a", encoding="utf-8"),
    "os.open with O_CREAT": lambda p: os.open(p, os.O_WRONLY | os.O_CREAT, 0o600),
    "an atomic write": lambda p: _atomic(p),
    "a new folder": lambda p: p.mkdir(),
    "a sqlite database": lambda p: sqlite3.connect(p),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
@pytest.mark.parametrize("where", ["repository", "real home"])
def test_a_write_outside_the_temporary_folders_is_refused(
    sandbox: isolation.Sandbox, write: Callable[[Path], object], where: str
) -> None:
    target = (REPO_ROOT if where == "repository" else REAL_HOME) / "isolation-probe.txt"
    assert sandbox.refusal("open", str(target), True) is not None  # before trying for real
    with sandbox.expecting_refusal() as refused, pytest.raises(PermissionError, match="isolation"):
        write(target)
    assert refused and f"{target.parent}{os.sep}" in refused[0] and "isolation-probe" in refused[0]
    assert not target.exists()


def test_a_relative_path_from_the_checkout_is_refused(
    sandbox: isolation.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.refusal("open", str(REPO_ROOT / "reports" / "x.json"), True) is not None
    monkeypatch.chdir(REPO_ROOT)
    with sandbox.expecting_refusal() as refused, pytest.raises(PermissionError):
        Path("reports/isolation-probe.json").write_text("{}", encoding="utf-8")
    assert refused == [f"open inside the repository: {REPO_ROOT / 'reports/isolation-probe.json'}"]


def test_replacing_or_removing_in_the_checkout_is_refused(
    sandbox: isolation.Sandbox, tmp_path: Path
) -> None:
    # Paths that do not exist: even a broken guard could not damage the checkout here.
    probe = REPO_ROOT / "isolation-probe"
    assert not probe.exists() and sandbox.refusal("os.rename", str(probe), True) is not None
    mine = tmp_path / "mine.txt"
    mine.write_text("x", encoding="utf-8")
    with sandbox.expecting_refusal() as refused:
        with pytest.raises(PermissionError):
            os.replace(mine, probe)
        with pytest.raises(PermissionError):
            probe.unlink()
        with pytest.raises(PermissionError):
            shutil.rmtree(probe)
    assert len(refused) == 3 and not probe.exists() and mine.exists()


def test_a_read_in_the_real_home_folder_is_refused(sandbox: isolation.Sandbox) -> None:
    with sandbox.expecting_refusal() as refused, pytest.raises(PermissionError):
        (REAL_HOME / ".netrc").read_text(encoding="utf-8")
    assert refused == [f"open inside the real home folder: {REAL_HOME / '.netrc'}"]


def test_what_a_test_may_touch(sandbox: isolation.Sandbox, tmp_path: Path) -> None:
    write_atomic(tmp_path / "report.json", "{}")
    write_atomic(tmp_path / "folder" / "inner" / "file.txt", "x")
    shutil.rmtree(tmp_path / "folder")  # removes by names relative to open folders
    assert not (tmp_path / "folder").exists()
    assert (REPO_ROOT / "README.md").read_text(encoding="utf-8")  # reading the checkout is fine
    assert sandbox.refusal("open", str(REPO_ROOT / "src" / "__pycache__" / "x.pyc"), True) is None
    assert sandbox.refusal("open", os.devnull, True) is None
    assert sandbox.refusal("open", sys.base_prefix, False) is None  # the interpreter may live there


def test_a_clone_in_the_temp_folder_is_still_the_checkout(tmp_path: Path) -> None:
    """CI clones into a temporary folder: the checkout's rule wins over the temp folder's."""
    clone, base = tmp_path / "clone", tmp_path / "clone" / "pytest-base"
    rules = isolation.sandbox(clone, base, REAL_HOME)
    assert rules.refusal("open", str(clone / "README.md"), True) is not None
    assert rules.refusal("open", str(clone / "README.md"), False) is None
    assert rules.refusal("open", str(base / "t0" / "out.json"), True) is None
    assert rules.refusal("open", str(tmp_path / "elsewhere.json"), True) is None


def test_a_violation_fails_the_test_in_teardown(sandbox: isolation.Sandbox) -> None:
    """What the guard fixture does after each test, shown on a recorded violation."""
    sandbox.violations.append("open inside the repository: /somewhere")
    taken = sandbox.take()
    assert taken == ["open inside the repository: /somewhere"] and not sandbox.violations


def _git(repo: Path, *argv: str) -> None:
    subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True, timeout=60)


def test_the_session_check_sees_what_a_subprocess_leaves_in_the_checkout(tmp_path: Path) -> None:
    repo = tmp_path / "checkout"
    (repo / "reports").mkdir(parents=True)
    (repo / ".gitignore").write_text("reports/*\n__pycache__/\n", encoding="utf-8")
    (repo / "tracked.txt").write_text("a\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    before = isolation.tree_state(repo)
    assert before is not None
    script = (
        "import pathlib; pathlib.Path('reports/out.json').write_text('{}');"
        "pathlib.Path('tracked.txt').write_text('b\\n');"
        "pathlib.Path('pkg/__pycache__').mkdir(parents=True)"
    )
    subprocess.run([sys.executable, "-c", script], cwd=repo, check=True, timeout=60)
    after = isolation.tree_state(repo)
    assert after is not None
    assert isolation.tree_changes(before, after) == ["reports/out.json", "tracked.txt"]
    assert isolation.tree_changes(after, after) == []


def test_a_folder_that_is_no_checkout_has_no_state(tmp_path: Path) -> None:
    assert isolation.tree_state(tmp_path) is None


def _report(
    outcome: Literal["passed", "skipped"], longrepr: Any, **extra: str
) -> pytest.TestReport:
    report = pytest.TestReport(
        nodeid="tests/x.py::t",
        location=("tests/x.py", 1, "t"),
        keywords={},
        outcome=outcome,
        longrepr=longrepr,
        when="setup",
    )
    for name, value in extra.items():
        setattr(report, name, value)
    return report


def test_a_skip_fails_in_ci_but_an_expected_failure_does_not() -> None:
    """CI runs every test: a missing chromium there must not read as a pass."""
    skipped = _report("skipped", ("tests/x.py", 1, "Skipped: chromium is not installed"))
    fail_a_skip(skipped)
    assert skipped.failed
    assert (
        skipped.longrepr
        == "skipped in CI, where every test must run: Skipped: chromium is not installed"
    )
    xfail = _report("skipped", None, wasxfail="known")
    fail_a_skip(xfail)
    assert xfail.skipped
    passed = _report("passed", None)
    fail_a_skip(passed)
    assert passed.passed
