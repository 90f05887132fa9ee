"""One apply per tenant at a time: an advisory lock (``flock``) held for the whole apply.

The lock file sits in the journal's folder, named by the tenant id, and holds the holder's
details (pid, host, start time, plan digest) so a second run can say who it is waiting for. The
lock is the kernel's: it goes away with the process, however the process ends, so a stale file
never blocks anyone. The file itself is never followed through a link.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from driftguard.errors import ApplyError
from driftguard.planfile import format_time

MAX_DETAILS = 4096


def lock_path(folder: Path, tenant_id: str) -> Path:
    safe = re.sub(r"[^0-9a-z-]", "_", tenant_id.lower())[:80]
    return folder / f".driftguard-apply-{safe}.lock"


@contextlib.contextmanager
def apply_lock(
    folder: Path, tenant: str, tenant_id: str, plan_digest: str, now: datetime
) -> Iterator[Path]:
    """Hold the tenant's apply lock, or raise ApplyError naming the run that holds it."""
    path = lock_path(folder, tenant_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ApplyError(f"{path}: cannot open the apply lock: {exc.strerror or exc}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ApplyError(f"{path}: the apply lock is not a regular file")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ApplyError(
                f"another apply of tenant {tenant!r} is running ({_holder(fd)})",
                hint="wait for it to finish; one apply per tenant runs at a time",
            ) from None
        details = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": format_time(now),
            "plan_digest": plan_digest,
        }
        data = (json.dumps(details, sort_keys=True) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        if os.pwrite(fd, data, 0) != len(data):
            raise ApplyError(f"{path}: cannot write the apply lock's details (disk full?)")
        yield path
    finally:
        os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    try:
        doc = json.loads(os.pread(fd, MAX_DETAILS, 0).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "its details are not readable yet"
    if not isinstance(doc, dict):
        return "its details are not readable"
    return (
        f"pid {doc.get('pid')} on host {doc.get('host')}, started {doc.get('started_at')}, "
        f"plan {doc.get('plan_digest')}"
    )
