"""An apply killed (SIGKILL) after each action in turn: --resume converges, nothing runs twice.

The apply runs in a subprocess against the in-test HTTPS simulator, through kill_apply.py, which
makes it SIGKILL itself right after journalling the outcome of action k (the hook is the tests'
own: driftguard has none).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from applykit import TENANT, Setup, drifted
from driftguard.journal import read_journal
from driftguard.planfile import read_plan
from driftguard.sim import Simulator

APPLY = (sys.executable, "-m", "driftguard", "apply")
KILLED_APPLY = (sys.executable, str(Path(__file__).with_name("kill_apply.py")))
ACTIONS = 4  # remove the rogue connector, revert two connectors, recreate the missing one


@pytest.mark.parametrize("kill_after", range(1, ACTIONS))
def test_resume_after_sigkill_converges_without_repeating(
    kill_after: int,
    sim_factory: Callable[..., Simulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup = drifted(sim_factory, tmp_path)
    _, plan, digest = setup.plan("--remove-unknown")
    actions = read_plan(plan).actions
    assert len(actions) == ACTIONS
    journal = setup.journal(plan)

    killed = _apply_killed_after(kill_after, setup, plan, digest)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(setup.writes()) == kill_after
    state = read_journal(journal)
    assert state.done() == {a.id for a in actions[:kill_after]}
    audit_before = len(setup.sim.tenant(TENANT).audit)

    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest, "--resume", str(journal)) == 0
    out = capsys.readouterr().out
    assert out.count("done in an earlier run") == kill_after
    assert out.count("Applied ") == ACTIONS - kill_after

    writes = setup.writes()
    assert len(writes) == ACTIONS  # every action written exactly once over both runs
    assert len(setup.sim.tenant(TENANT).audit) - audit_before == ACTIONS - kill_after
    assert Counter(writes) == Counter(a.cmdlet for a in actions)
    assert setup.diff() == 0
    final = read_journal(journal).last_status()
    assert final == {a.id: "applied" for a in actions}


def test_resume_after_kill_between_write_and_journal(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The write happened but its outcome was never journalled: resume finds it in place."""
    setup = drifted(sim_factory, tmp_path)
    _, plan, digest = setup.plan("--remove-unknown")
    actions = read_plan(plan).actions
    journal = setup.journal(plan)
    assert _apply_killed_after(2, setup, plan, digest).returncode == -signal.SIGKILL
    # drop the last entry (action 2's "applied"), as if the process died before writing it
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    assert read_journal(journal).last_status()[actions[1].id] == "started"
    capsys.readouterr()
    assert setup.apply(plan, "--approve", digest, "--resume", str(journal)) == 0
    out = capsys.readouterr().out
    assert f"Skipped  [{actions[1].id}]" in out and "already in place" in out
    assert len(setup.writes()) == ACTIONS
    assert setup.diff() == 0


def _apply_killed_after(
    n: int, setup: Setup, plan: Path, digest: str
) -> subprocess.CompletedProcess[str]:
    """``driftguard apply`` in a subprocess that SIGKILLs itself after journalling outcome n."""
    return subprocess.run(
        [*KILLED_APPLY, str(n), str(plan), "--approve", digest, "--baseline", str(setup.baseline)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _tty_apply(setup: Setup, plan: Path, answer: str) -> tuple[int, str]:
    """Run apply on a pseudo-terminal, answer its approval prompt, return (exit code, output)."""
    import pty
    import select
    import time

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*APPLY, str(plan), "--baseline", str(setup.baseline)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"to apply: " in seen:
                os.write(leader, answer.encode() + b"\n")
                answered = True
        elif process.poll() is not None:
            break
    code = process.wait(timeout=30)
    os.close(leader)
    return code, seen.decode(errors="replace")


def test_terminal_approval_by_the_digest_prefix(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    setup = drifted(sim_factory, tmp_path)
    _, plan, digest = setup.plan("--remove-unknown")
    code, output = _tty_apply(setup, plan, "nope1234")
    assert code == 1, output
    assert "[001-remove]" in output and "not approved" in output
    assert setup.writes() == []
    code, output = _tty_apply(setup, plan, digest[7:15])
    assert code == 0, output
    assert "4 applied, 0 skipped, 0 failed" in output
    assert setup.diff() == 0


def test_driftguard_itself_has_no_crash_hook(repo_root: Path) -> None:
    """The crash above is the harness's (kill_apply.py): no switch in driftguard kills it."""
    sources = sorted((repo_root / "src" / "driftguard").rglob("*.py"))
    assert sources
    hooks = [
        p.relative_to(repo_root)
        for p in sources
        if "DRIFTGUARD_TEST" in (text := p.read_text(encoding="utf-8")) or "SIGKILL" in text
    ]
    assert hooks == []
