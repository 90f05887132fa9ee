"""Tests stay inside their temporary folders: a file touched anywhere else fails the test.

An audit hook (PEP 578) sees every ``open`` and every file-system change the test process makes.
While a test runs, it refuses (PermissionError) and records:

- a write, rename, removal or new folder inside the repository tree, except ``__pycache__``
  (wherever the clone is, the system's temp folder included);
- a write anywhere but the temporary folders (pytest's base folder, the system's temp folder) and
  ``/dev``, so the real home folder and the demo's real state are out of reach;
- any read inside the real home folder other than Python's own installation and ``sys.path``.

Subprocesses are outside the hook's sight: the environment (HOME, XDG_*) points them into the
test's temporary folder, and :func:`tree_state` lets the session compare the repository's
``git status`` before and after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# audit event -> (position of a path argument, position of its dir_fd argument or None); every
# one of these events changes the file system
_CHANGES: dict[str, tuple[tuple[int, int | None], ...]] = {
    "os.mkdir": ((0, 2),),
    "os.rename": ((0, 2), (1, 3)),  # os.replace raises this event too
    "os.remove": ((0, 1),),
    "os.rmdir": ((0, 1),),
    "os.symlink": ((1, 2),),
    "os.link": ((1, 3),),
    "os.truncate": ((0, None),),
    "shutil.rmtree": ((0, 1),),
    "sqlite3.connect": ((0, None),),
}
_BUILD_DIRS = frozenset({"__pycache__"})

# path -> (git status code, size, modification time) of what ``git status`` lists
TreeState = dict[str, tuple[str, int, int]]


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _absolute(raw: object, dir_fd: object) -> str | None:
    """The absolute path an audit event names; None for a file descriptor or no file at all."""
    if not isinstance(raw, str | bytes | os.PathLike) or raw == ":memory:":
        return None
    text = os.fsdecode(raw)
    if isinstance(dir_fd, int) and dir_fd >= 0 and not os.path.isabs(text):
        try:  # relative to an open folder, as shutil.rmtree removes what it walks
            return os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), text)
        except OSError:
            return None
    return os.path.abspath(text)


def _roots(*paths: str | Path) -> tuple[str, ...]:
    """Each folder as written and with its symbolic links resolved."""
    found: list[str] = []
    for path in paths:
        for form in (os.path.abspath(path), os.path.realpath(path)):
            if form not in found:
                found.append(form)
    return tuple(found)


@dataclass
class Sandbox:
    repo: tuple[str, ...]
    scratch: tuple[str, ...]  # pytest's base folder: writable even inside the repository
    writable: tuple[str, ...]  # the system's temp folder (which may hold the repository) and /dev
    real_home: tuple[str, ...]
    readable_home: tuple[str, ...]
    active: bool = False
    violations: list[str] = field(default_factory=list)

    def refusal(self, event: str, path: str, write: bool) -> str | None:
        """Why the access breaks the rules, or None when it is allowed."""
        if _under(path, self.scratch):
            return None
        if _under(path, self.repo):
            if write and not _BUILD_DIRS.intersection(Path(path).parts):
                return f"{event} inside the repository: {path}"
            return None
        if write and not _under(path, self.writable):
            return f"{event} outside the temporary folders: {path}"
        if (
            not write
            and _under(path, self.real_home)
            and not _under(path, self.readable_home + self.writable)
        ):
            return f"{event} inside the real home folder: {path}"
        return None

    def audit(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active:
            return
        if event == "open":
            path, _mode, flags = args
            checks = [(path, None, isinstance(flags, int) and bool(flags & _WRITE_FLAGS))]
        elif event in _CHANGES:
            checks = [
                (args[i], args[d] if d is not None and d < len(args) else None, True)
                for i, d in _CHANGES[event]
                if i < len(args)
            ]
        else:
            return
        for raw, dir_fd, write in checks:
            path = _absolute(raw, dir_fd)
            if path is None or (event == "os.mkdir" and os.path.isdir(path)):
                continue  # no file, or an existing folder (Path.mkdir(exist_ok=True)): no change
            reason = self.refusal(event, path, write)
            if reason is not None:
                self.violations.append(reason)
                raise PermissionError(f"test isolation: {reason}")

    def take(self) -> list[str]:
        """The violations recorded so far, forgetting them."""
        taken, self.violations[:] = list(self.violations), []
        return taken

    @contextmanager
    def expecting_refusal(self) -> Iterator[list[str]]:
        """For the guard's own tests: the refusals inside the block are expected, not failures."""
        before = len(self.violations)
        expected: list[str] = []
        try:
            yield expected
        finally:
            expected.extend(self.violations[before:])
            del self.violations[before:]


def sandbox(repo: Path, basetemp: Path, real_home: Path) -> Sandbox:
    """The rules for this test process; call :func:`install` once with the result."""
    import tempfile

    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    readable = [*prefixes, *(p for p in sys.path if p and os.path.isabs(p))]
    return Sandbox(
        repo=_roots(repo),
        scratch=_roots(basetemp),
        writable=_roots(tempfile.gettempdir(), "/dev"),
        real_home=_roots(real_home),
        readable_home=_roots(*readable),
    )


def install(rules: Sandbox) -> None:
    """Audit hooks cannot be removed: install once per process and toggle ``rules.active``."""
    sys.addaudithook(rules.audit)


def tree_state(repo: Path) -> TreeState | None:
    """What ``git status`` shows of the working tree (ignored files included), with each listed
    file's size and modification time; None when ``repo`` is not a git work tree."""
    git = shutil.which("git")
    if git is None or not (repo / ".git").exists():
        return None
    done = subprocess.run(
        [git, "status", "--porcelain=v1", "-z", "--ignored=matching", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        return None
    state: TreeState = {}
    for entry in os.fsdecode(done.stdout).split("\0"):
        name = entry[3:]
        if not name or _BUILD_DIRS.intersection(Path(name).parts) or name.startswith(".venv/"):
            continue
        try:
            stat = (repo / name).stat()
        except OSError:
            state[name] = (entry[:2], -1, -1)
            continue
        state[name] = (entry[:2], stat.st_size, stat.st_mtime_ns)
    return state


def tree_changes(before: TreeState, after: TreeState) -> list[str]:
    """The paths that appeared, went or changed between two :func:`tree_state` calls."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
