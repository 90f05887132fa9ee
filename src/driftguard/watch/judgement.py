"""One tenant's read judged against the baseline, and the judgement kept from one sweep to the next.

A watch reads every tenant every few minutes and almost always gets the same answer. Judging it
in full (normalising every record, the diff, the risk rating, the document the state stores and
its digest) costs about half a second of CPU for a tenant of 2,000 connectors; recognising the
same answer costs a digest of its bytes, taken where they are read (``live/wire.BodyDigest``),
and a few comparisons.

What is kept lives in memory only (the SQLite state stays the record of truth) and is what the
next sweep needs, per watched tenant: the read's identity (a digest, never the records) and the
report and verdict it led to. A kept judgement is reused only when all of these hold; any doubt
and the tenant is judged in full:

- the read carries a digest (a source without one is always judged), equal to the kept one, from
  the same source and with the same warnings;
- the baseline is the same object (``baselinecache.ReloadOnChange`` reloads only on a file
  change), hence the same tenant settings, connector files and ignore entries;
- the same day (an ignore entry expires by date);
- the state's last stored snapshot of the tenant is still the one judged then (another writer or
  a lost transaction: judged again).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from driftguard.core import error_report, tenant_diff
from driftguard.errors import InputError
from driftguard.live.runner import TenantRead
from driftguard.model import Baseline, Snapshot, Status, TenantReport
from driftguard.tenantstate import TenantState
from driftguard.watch.state import WatchState
from driftguard.watch.verdict import Change, Verdict, change_between, verdict_of


@dataclass(frozen=True)
class _ReadKey:
    """What makes two reads of a tenant the same answer."""

    digest: str
    source: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class KeptJudgement:
    """One tenant's judgement as the next sweep may reuse it."""

    read: _ReadKey
    report: TenantReport
    verdict: Verdict
    document_digest: str  # of the document the state stored for this read


@dataclass(frozen=True)
class Judged:
    """A tenant's read, judged, and the change of verdict it makes. ``document`` is what the
    state stores, None when the tenant was unreadable or when the judgement was reused (the
    state holds that document already); ``keep``: what to keep once the sweep is recorded."""

    report: TenantReport
    verdict: Verdict
    change: Change | None  # from the verdict the state holds
    snapshot: Snapshot | None
    document: Mapping[str, object] | None
    digest: str | None
    keep: KeptJudgement | None
    reused: bool = False


class KeptJudgements:
    """The judgements of the last recorded sweep, in memory, for the tenants still watched."""

    def __init__(self) -> None:
        self._baseline: Baseline | None = None
        self._today: date | None = None
        self._kept: dict[str, KeptJudgement] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def begin(self, baseline: Baseline, today: date, tenants: Sequence[str]) -> None:
        """A sweep's baseline, day and tenants: a judgement made under others is dropped."""
        if baseline is not self._baseline or today != self._today:
            self._kept.clear()
            self._baseline, self._today = baseline, today
            return
        watched = set(tenants)
        for name in [n for n in self._kept if n not in watched]:
            del self._kept[name]

    def judge(self, state: WatchState, baseline: Baseline, read: TenantRead, today: date) -> Judged:
        """The tenant's read judged (the kept judgement when the answer is the same, else in
        full) against the verdict the state holds."""
        previous = previous_verdict(state, read.tenant)
        if read.snapshot is None:
            tenant = baseline.tenants.get(read.tenant)
            location = tenant.config.location if tenant is not None else None
            report = error_report(read.tenant, read.error or InputError("not read"), location)
            verdict = verdict_of(report)
            change = change_between(previous, verdict)
            return Judged(report, verdict, change, None, None, None, keep=None)
        snapshot = read.snapshot
        key = _key_of(snapshot)
        kept = self._kept.get(read.tenant)
        if (
            key is not None
            and kept is not None
            and kept.read == key
            and baseline is self._baseline
            and today == self._today
            and state.last_digest(read.tenant) == kept.document_digest
        ):
            change = change_between(previous, kept.verdict)
            digest = kept.document_digest
            return Judged(kept.report, kept.verdict, change, snapshot, None, digest, kept, True)
        diff = tenant_diff(baseline.tenants[read.tenant], snapshot, baseline.ignores, today)
        document = TenantState.of(diff.drift.live, None).document()
        digest = document_digest(document)
        verdict = verdict_of(diff.report)
        keep = None if key is None else KeptJudgement(key, diff.report, verdict, digest)
        change = change_between(previous, verdict)
        return Judged(diff.report, verdict, change, snapshot, document, digest, keep)

    def keep(self, judged: Sequence[Judged]) -> None:
        """Keep what a sweep judged, once its state was recorded; a tenant that was unreadable
        or read without a digest keeps nothing (judged in full next time)."""
        for j in judged:
            if j.keep is None:
                self._kept.pop(j.report.tenant, None)
            else:
                self._kept[j.report.tenant] = j.keep


def previous_verdict(state: WatchState, tenant: str) -> Verdict | None:
    """The verdict the state holds for ``tenant`` (None: never judged)."""
    stored = state.verdict(tenant)
    if stored is None:
        return None
    try:
        status = Status(stored.verdict)
    except ValueError:
        raise InputError(
            f"{state.path}: tenant {tenant!r} has verdict {stored.verdict!r}, "
            "which this driftguard does not know"
        ) from None
    return Verdict(status, stored.fingerprint)


def _key_of(snapshot: Snapshot) -> _ReadKey | None:
    if snapshot.read_digest is None:
        return None
    return _ReadKey(snapshot.read_digest, snapshot.source, snapshot.warnings)


def document_digest(document: Mapping[str, object]) -> str:
    """``sha256:<hex>`` of a stored document's canonical JSON: history keeps changes only."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
