"""The watch state: one SQLite database (WAL) holding what must survive a restart or a crash.

- ``snapshots``: per tenant, the normalised live state each time it changed (zlib when large);
- ``verdicts``: per tenant, the last verdict and the fingerprint of what it was about;
- ``outbox``: notifications, written in the same transaction as the verdict that caused them and
  marked sent only after the target accepted them, so a crash loses none;
- ``sweeps``: when each sweep ran, how long it took against its interval, and whether it overran.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from driftguard.errors import InputError, OutputError

SCHEMA_VERSION = 1
COMPRESS_ABOVE = 4096  # bytes of JSON; smaller documents are stored as text
# zlib level 1: a 2,000-connector tenant's 10 MB document in 0.09 s of CPU to 2.1 MB, where the
# default level 6 takes 0.5 s for 1.8 MB; a snapshot is stored at each change of a tenant.
COMPRESS_LEVEL = 1
MAX_DOCUMENT = 64 * 1024 * 1024  # a stored snapshot, uncompressed
KEEP_SNAPSHOTS = 1000  # per tenant; older ones are pruned
KEEP_SWEEPS = 100_000  # about a year at five minutes
KEEP_SENT = timedelta(days=90)  # notifications already delivered, kept to be looked up
BUSY_TIMEOUT = 10.0

WHOLE = ""
"""The verdicts row of the watch as a whole (its baseline could be loaded or not): no tenant
folder can have an empty name."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    sweep INTEGER NOT NULL,
    taken_at TEXT NOT NULL,
    digest TEXT NOT NULL,
    compressed INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_tenant ON snapshots (tenant, id);
CREATE TABLE IF NOT EXISTS verdicts (
    tenant TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    detail TEXT,
    since TEXT NOT NULL,
    checked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT NOT NULL,
    target TEXT NOT NULL,
    tenant TEXT NOT NULL,
    sweep INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    summary TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT,
    PRIMARY KEY (key, target)
);
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    interval REAL NOT NULL,
    duration REAL,
    tenants INTEGER NOT NULL,
    errors INTEGER,
    overran INTEGER
);
"""


@dataclass(frozen=True)
class StoredVerdict:
    tenant: str
    verdict: str
    fingerprint: str
    detail: str | None
    since: datetime
    checked_at: datetime


@dataclass(frozen=True)
class StoredSnapshot:
    id: int
    tenant: str
    sweep: int
    taken_at: datetime
    digest: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Pending:
    """An outbox row not yet accepted by its notification target."""

    key: str
    target: str
    tenant: str
    sweep: int
    summary: str
    payload: str
    attempts: int


@dataclass(frozen=True)
class SweepRecord:
    id: int
    started_at: datetime
    interval: float
    duration: float | None
    tenants: int
    errors: int | None
    overran: bool


@dataclass(frozen=True)
class Outgoing:
    """A notification to record: one outbox row per target, all in the verdict's transaction."""

    key: str
    summary: str
    payload: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Transition:
    """What one tenant's sweep result writes: its verdict, a snapshot if it changed, and the
    notification its change of verdict calls for (None: no change worth telling)."""

    tenant: str
    verdict: str
    fingerprint: str
    detail: str | None
    snapshot: Mapping[str, Any] | None  # normalised state; None when the tenant was unreadable
    digest: str | None
    notification: Outgoing | None


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


class WatchState:
    """The open database. Every change is one transaction; readers never see half of one."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        try:
            if readonly:
                if not path.is_file():
                    raise InputError(
                        f"{path}: no watch state here",
                        hint="run `driftguard watch` first, or pass --state FILE",
                    )
                self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT)
                self.db.execute("PRAGMA query_only=ON")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
                self._prepare()
        except sqlite3.Error as exc:
            raise OutputError(f"{path}: cannot open the watch state: {exc}") from exc
        except OSError as exc:
            raise OutputError(f"{path}: cannot open the watch state: {exc.strerror}") from exc
        if readonly:
            self._check_version()

    def _prepare(self) -> None:
        mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()
        if not mode or str(mode[0]).lower() != "wal":
            raise OutputError(f"{self.path}: the watch state needs WAL mode, got {mode}")
        self.db.execute("PRAGMA synchronous=FULL")
        with self.transaction():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self.db.execute(statement)
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        self._check_version()

    def _check_version(self) -> None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.Error as exc:
            raise InputError(f"{self.path}: not a driftguard watch state ({exc})") from None
        if row is None or row[0] != str(SCHEMA_VERSION):
            found = row[0] if row else "none"
            raise InputError(
                f"{self.path}: watch state version {found}, this driftguard reads {SCHEMA_VERSION}"
            )

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ sweeps

    def begin_sweep(self, started: datetime, interval: float) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO sweeps (started_at, interval, tenants) VALUES (?, ?, 0)",
                (_time(started), interval),
            )
        return int(cursor.lastrowid or 0)

    def finish_sweep(
        self,
        sweep: int,
        finished: datetime,
        duration: float,
        *,
        tenants: int,
        errors: int,
        overran: bool,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE sweeps SET finished_at=?, duration=?, tenants=?, errors=?, overran=? "
                "WHERE id=?",
                (_time(finished), duration, tenants, errors, int(overran), sweep),
            )
            # Bounded: old sweeps and long-delivered notifications go; unsent ones never do.
            db.execute("DELETE FROM sweeps WHERE id <= ?", (sweep - KEEP_SWEEPS,))
            db.execute(
                "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?",
                (_time(finished - KEEP_SENT),),
            )

    def sweeps(self, limit: int = 100) -> list[SweepRecord]:
        rows = self.db.execute(
            "SELECT id, started_at, interval, duration, tenants, errors, overran FROM sweeps "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [SweepRecord(r[0], _parse(r[1]), r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]

    # ------------------------------------------------------------------ verdicts

    def verdict(self, tenant: str) -> StoredVerdict | None:
        row = self.db.execute(
            "SELECT tenant, verdict, fingerprint, detail, since, checked_at FROM verdicts "
            "WHERE tenant=?",
            (tenant,),
        ).fetchone()
        if row is None:
            return None
        return StoredVerdict(row[0], row[1], row[2], row[3], _parse(row[4]), _parse(row[5]))

    def record(self, sweep: int, now: datetime, change: Transition) -> None:
        """The verdict, the snapshot if it changed, and the notification, in one transaction."""
        self.record_all(sweep, now, [change])

    def record_all(self, sweep: int, now: datetime, changes: Sequence[Transition]) -> None:
        """Every tenant's verdict, snapshot and notification of a sweep, in one transaction."""
        with self.transaction() as db:
            for change in changes:
                self._record(db, sweep, now, change)

    def _record(
        self, db: sqlite3.Connection, sweep: int, now: datetime, change: Transition
    ) -> None:
        since = _time(now)
        old = db.execute(
            "SELECT verdict, fingerprint, since FROM verdicts WHERE tenant=?", (change.tenant,)
        ).fetchone()
        if old is not None and (old[0], old[1]) == (change.verdict, change.fingerprint):
            since = old[2]
        db.execute(
            "INSERT OR REPLACE INTO verdicts "
            "(tenant, verdict, fingerprint, detail, since, checked_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                change.tenant,
                change.verdict,
                change.fingerprint,
                change.detail,
                since,
                _time(now),
            ),
        )
        if change.snapshot is not None and change.digest is not None:
            self._store_snapshot(db, sweep, now, change.tenant, change.digest, change.snapshot)
        out = change.notification
        if out is not None:
            db.executemany(
                "INSERT OR IGNORE INTO outbox "
                "(key, target, tenant, sweep, created_at, summary, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (out.key, t, change.tenant, sweep, _time(now), out.summary, out.payload)
                    for t in out.targets
                ],
            )

    # ------------------------------------------------------------------ snapshots

    def _store_snapshot(
        self,
        db: sqlite3.Connection,
        sweep: int,
        now: datetime,
        tenant: str,
        digest: str,
        document: Mapping[str, Any],
    ) -> None:
        if _last_digest(db, tenant) == digest:
            return  # unchanged since the last stored snapshot: history keeps changes only
        text = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        if len(text) > MAX_DOCUMENT:
            raise OutputError(
                f"{tenant}: normalised snapshot of {len(text)} bytes is over the "
                f"{MAX_DOCUMENT}-byte limit of the watch state"
            )
        compressed = len(text) > COMPRESS_ABOVE
        body = zlib.compress(text, COMPRESS_LEVEL) if compressed else text
        db.execute(
            "INSERT INTO snapshots (tenant, sweep, taken_at, digest, compressed, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (tenant, sweep, _time(now), digest, int(compressed), body),
        )
        db.execute(
            "DELETE FROM snapshots WHERE tenant=? AND id NOT IN "
            "(SELECT id FROM snapshots WHERE tenant=? ORDER BY id DESC LIMIT ?)",
            (tenant, tenant, KEEP_SNAPSHOTS),
        )

    def last_digest(self, tenant: str) -> str | None:
        """The digest of the tenant's last stored snapshot; None when none is stored."""
        return _last_digest(self.db, tenant)

    def snapshots(self, tenant: str, limit: int = KEEP_SNAPSHOTS) -> list[StoredSnapshot]:
        """The tenant's stored snapshots, oldest first (the last ``limit``)."""
        rows = self.db.execute(
            "SELECT id, tenant, sweep, taken_at, digest, compressed, body FROM snapshots "
            "WHERE tenant=? ORDER BY id DESC LIMIT ?",
            (tenant, limit),
        ).fetchall()
        return [self._snapshot(r) for r in reversed(rows)]

    def _snapshot(self, row: tuple[Any, ...]) -> StoredSnapshot:
        ident, tenant, sweep, taken, digest, compressed, body = row
        try:
            data = (
                zlib.decompressobj().decompress(body, MAX_DOCUMENT + 1)
                if compressed
                else bytes(body)
            )
            if len(data) > MAX_DOCUMENT:
                raise ValueError("larger than the limit")
            document = json.loads(data.decode("utf-8"))
        except (zlib.error, ValueError) as exc:
            raise InputError(
                f"{self.path}: stored snapshot {ident} of {tenant} cannot be read: {exc}"
            ) from None
        if not isinstance(document, dict):
            raise InputError(f"{self.path}: stored snapshot {ident} of {tenant} is not an object")
        return StoredSnapshot(ident, tenant, sweep, _parse(taken), digest, document)

    def tenants(self) -> list[str]:
        rows = self.db.execute(
            "SELECT tenant FROM verdicts WHERE tenant != ? UNION SELECT tenant FROM snapshots "
            "ORDER BY 1",
            (WHOLE,),
        ).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ outbox

    def pending(self) -> list[Pending]:
        rows = self.db.execute(
            "SELECT key, target, tenant, sweep, summary, payload, attempts FROM outbox "
            "WHERE sent_at IS NULL ORDER BY created_at, key, target"
        ).fetchall()
        return [Pending(*r) for r in rows]

    def mark_sent(self, row: Pending, now: datetime) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET sent_at=?, attempts=attempts+1, last_error=NULL "
                "WHERE key=? AND target=?",
                (_time(now), row.key, row.target),
            )

    def mark_failed(self, row: Pending, error: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts=attempts+1, last_error=? WHERE key=? AND target=?",
                (error[:500], row.key, row.target),
            )


def _last_digest(db: sqlite3.Connection, tenant: str) -> str | None:
    row = db.execute(
        "SELECT digest FROM snapshots WHERE tenant=? ORDER BY id DESC LIMIT 1", (tenant,)
    ).fetchone()
    return None if row is None else str(row[0])


@contextmanager
def opened(path: Path, *, readonly: bool = False) -> Iterator[WatchState]:
    state = WatchState(path, readonly=readonly)
    with closing(state):
        yield state
