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
    """A digest of every file's path, size, modification time and inode under ``root``."""
    digest = hashlib.sha256()
    if not root.is_dir():
        return "absent"
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:
                continue  # removed while walking: the next sweep sees the folder without it
            line = f"{os.path.relpath(path, root)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n"
            digest.update(line.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
