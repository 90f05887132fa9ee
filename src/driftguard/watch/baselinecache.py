"""The baseline, loaded again only when a file under it changed.

A watch checks every tenant every few minutes; loading and validating thousands of tenants'
YAML each time would cost more CPU than reading them. Each sweep stats the files instead (name,
size, modification time, inode) and reloads when any of that differs, so a merged change to the
baseline takes effect at the next sweep. The stat comes before the load: a file written during a
load changes the stamp, and the next sweep loads again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from driftguard.model import Baseline


class ReloadOnChange:
    def __init__(self, load: Callable[[], Baseline], root: Path) -> None:
        self._load = load
        self._root = root
        self._stamp: str | None = None
        self._baseline: Baseline | None = None
        self._lock = threading.Lock()

    @property
    def last(self) -> Baseline | None:
        """The last baseline that loaded (kept while a later change does not load)."""
        return self._baseline

    def __call__(self) -> Baseline:
        with self._lock:
            stamp = stamp_of(self._root)
            if self._baseline is not None and stamp == self._stamp:
                return self._baseline
            baseline = self._load()  # an invalid baseline raises: nothing is kept from it
            self._stamp, self._baseline = stamp, baseline
            return baseline


def stamp_of(root: Path) -> str:
    """A digest of every file's path, size, modification time and inode under ``root`` (folders
    in name order, files before subfolders, symbolic links to folders not followed, as
    ``os.walk`` goes). ``os.scandir`` saves a path join and a relative path per file: a sweep of
    thousands of tenants stats every file of the baseline."""
    if not root.is_dir():
        return "absent"
    lines: list[str] = []
    _stamp_folder(str(root), "", lines)
    return hashlib.sha256("".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def _stamp_folder(folder: str, prefix: str, lines: list[str]) -> None:
    try:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda e: e.name)
    except OSError:
        return  # removed while walking: the next sweep sees the folder without it
    below: list[os.DirEntry[str]] = []
    for entry in entries:
        try:
            if entry.is_dir():
                if not entry.is_symlink():
                    below.append(entry)
                continue
            st = entry.stat()
        except OSError:
            continue
        lines.append(f"{prefix}{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n")
    for entry in below:
        _stamp_folder(entry.path, f"{prefix}{entry.name}{os.sep}", lines)
