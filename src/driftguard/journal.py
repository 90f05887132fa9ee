"""The apply journal: JSON lines, one fsync per entry, so a killed run can be resumed or undone.

Line 1 is a header carrying the whole plan document (so resume and rollback need nothing else);
then one entry per step of each action: ``started`` (with the full raw before-state of the
connector), then ``applied``, ``skipped`` or ``failed`` (with ``verified`` and the after-state).
A torn last line (the process died while writing it) is ignored: that entry never completed.

A journal is never a symbolic link: a new one is created exclusively (``O_EXCL``, so a second run
cannot interleave with the first), and every open refuses to follow a link (``O_NOFOLLOW``), so a
planted link can neither create nor append to a file elsewhere.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftguard import jsonsafe
from driftguard.errors import ApplyError, JsonError
from driftguard.fsutil import fsync_dir
from driftguard.jsontype import Json

JOURNAL_VERSION = 1
MAX_JOURNAL_BYTES = 256 * 1024 * 1024
DONE = frozenset({"applied", "skipped"})


@dataclass(frozen=True)
class JournalState:
    path: str
    header: Mapping[str, Any]
    entries: tuple[Mapping[str, Any], ...]

    @property
    def plan_digest(self) -> str:
        return str(self.header.get("plan_digest", ""))

    def last_status(self) -> dict[str, str]:
        """action id -> its latest status."""
        out: dict[str, str] = {}
        for e in self.entries:
            out[str(e["action_id"])] = str(e["status"])
        return out

    def done(self) -> set[str]:
        """Actions completed (applied or skipped) and verified; resume does not repeat them."""
        return {a for a, s in self.last_status().items() if s in DONE}

    def first_before(self, action_id: str) -> tuple[bool, Json]:
        """(known, record): the before-state journalled when the action first started."""
        for e in self.entries:
            if e["action_id"] == action_id and e["status"] == "started":
                return True, e.get("before")
        return False, None

    def last_after(self, action_id: str) -> Json:
        for e in reversed(self.entries):
            after: Json = e.get("after")
            if e["action_id"] == action_id and after is not None:
                return after
        return None


class Journal:
    """Appends entries to a journal file, each flushed and fsynced before the next write."""

    def __init__(self, path: str | Path, header: Mapping[str, Any] | None = None) -> None:
        """``header`` starts a new journal (created exclusively); without it, entries are
        appended to an existing one.

        Nothing touches the disk before the first entry, so a run refused by its checks leaves
        no journal behind (the apply lock keeps a second run out meanwhile).
        """
        self.path = Path(path)
        self._header = header
        self._fd = -1

    def _open(self) -> None:
        fresh = self._header is not None
        flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        if fresh:
            refuse_existing(self.path)
            flags |= os.O_CREAT | os.O_EXCL
        try:
            if fresh:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, flags, 0o600)
        except FileExistsError as exc:
            raise _exists(self.path) from exc
        except OSError as exc:
            raise ApplyError(_cannot(self.path, "open", exc)) from exc
        if not stat.S_ISREG(os.fstat(self._fd).st_mode):
            self.close()
            raise ApplyError(f"{self.path}: not a journal (not a regular file)")
        if fresh and self._header is not None:
            self._write({"type": "header", "journal_version": JOURNAL_VERSION, **self._header})
            fsync_dir(self.path.parent)  # the new file's directory entry survives a crash too

    def record(self, entry: Mapping[str, Any]) -> None:
        self._write({"type": "action", **entry})

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write(self, doc: Mapping[str, Any]) -> None:
        if self._fd < 0:
            self._open()
        line = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
        data = memoryview(line.encode("utf-8"))
        while data:  # a short write (a signal, a full disk) must not leave half an entry behind
            data = data[os.write(self._fd, data) :]
        os.fsync(self._fd)


def refuse_existing(path: str | Path) -> None:
    """Refuse to start a journal where anything exists already, a link (even dangling) included."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ApplyError(_cannot(Path(path), "check", exc)) from exc
    if stat.S_ISLNK(info.st_mode):
        raise ApplyError(
            f"journal {path} is a symbolic link; driftguard does not follow links for journals",
            hint="remove the link, or choose another --journal FILE",
        )
    raise _exists(Path(path))


def _exists(path: Path) -> ApplyError:
    return ApplyError(
        f"journal {path} already exists: this plan was applied before (or is being applied)",
        hint=f"finish it with --resume {path}, or choose another --journal FILE",
    )


def _cannot(path: Path, what: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"journal {path} is a symbolic link; driftguard does not follow links for journals"
    return f"{path}: cannot {what} the journal: {exc.strerror or exc}"


def read_journal(path: str | Path) -> JournalState:
    """Parse a journal; refuses anything that is not one (a torn final line is dropped)."""
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise ApplyError(_cannot(Path(path), "read", exc)) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ApplyError(f"{name}: not a journal (not a regular file)")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_JOURNAL_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_JOURNAL_BYTES:
        raise ApplyError(f"{name}: the journal is larger than {MAX_JOURNAL_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApplyError(f"{name}: cannot read the journal: {exc}") from exc
    lines = text.split("\n")
    complete, tail = lines[:-1], lines[-1]
    docs: list[Mapping[str, Any]] = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            doc = jsonsafe.loads(line, source=f"{name}:{number}")
        except JsonError as exc:
            raise ApplyError(f"not a journal line: {exc.message}") from exc
        if not isinstance(doc, dict):
            raise ApplyError(f"{name}:{number}: not a journal line")
        docs.append(doc)
    _ = tail  # a line without its newline was being written when the process died
    if not docs or docs[0].get("type") != "header":
        raise ApplyError(f"{name}: not a driftguard journal (no header line)")
    header = docs[0]
    if header.get("journal_version") != JOURNAL_VERSION:
        raise ApplyError(f"{name}: unsupported journal version {header.get('journal_version')!r}")
    entries = []
    for number, doc in enumerate(docs[1:], start=2):
        if doc.get("type") != "action" or "action_id" not in doc or "status" not in doc:
            raise ApplyError(f"{name}:{number}: not a journal entry")
        entries.append(doc)
    return JournalState(name, header, tuple(entries))


def interrupted_lines(
    done: int, total: int, journal: str | None, resume_command: str | None
) -> list[str]:
    """What an interrupted apply tells its user: how far it got and how to go on."""
    lines = [f"interrupted after {done} of {total} actions (the one in progress may be half-done)"]
    if journal is None:
        return [*lines, "nothing was journalled (dry run): run it again"]
    lines.append(f"journal: {journal} records every step that was taken")
    if resume_command is not None:
        lines.append(f"to finish: {resume_command}")
    lines.append(f"to undo what was done: driftguard rollback {journal}")
    return lines
