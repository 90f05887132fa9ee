"""Accepted exceptions (``.driftguardignore.yaml``): which findings they suppress, and which
entries are themselves a problem.

An entry suppresses only while it is active (it has a reason and has not expired). An inactive
entry suppresses nothing and is reported, so an exception cannot silently outlive its purpose.
Pure: the date is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from driftguard.model import Finding, FindingKind, IgnoreEntry, Suppressed


@dataclass(frozen=True)
class Suppression:
    kept: tuple[Finding, ...]
    suppressed: tuple[Suppressed, ...]
    warnings: tuple[str, ...]


def entry_matches(entry: IgnoreEntry, tenant: str, finding: Finding) -> bool:
    """Same tenant and connector (case-insensitive); a field of None or ``*`` covers every
    finding of that connector, a named field only ``changed`` findings on that field."""
    if entry.tenant.lower() != tenant.lower():
        return False
    if entry.connector.lower() != finding.connector.lower() and (
        finding.guid is None or entry.connector.lower() != finding.guid.lower()
    ):
        return False
    if entry.field is None or entry.field == "*":
        return True
    return finding.kind is FindingKind.CHANGED and (finding.field or "").lower() == (
        entry.field.lower()
    )


def describe(entry: IgnoreEntry) -> str:
    where = f" ({entry.location})" if entry.location else ""
    field = entry.field if entry.field not in (None, "*") else "every field"
    return f"ignore entry for {entry.tenant} / {entry.connector} / {field}{where}"


def apply_ignores(
    tenant: str, findings: Sequence[Finding], entries: Sequence[IgnoreEntry], today: date
) -> Suppression:
    """Split ``findings`` into kept and suppressed; warn about inactive and unused entries."""
    mine = [e for e in entries if e.tenant.lower() == tenant.lower()]
    active = [e for e in mine if e.is_active(today)]
    warnings: list[str] = []
    for entry in mine:
        if not entry.reason:
            warnings.append(f"{describe(entry)} has no reason, so it suppresses nothing")
        elif entry.expires is not None and entry.expires < today:
            warnings.append(
                f"{describe(entry)} expired on {entry.expires.isoformat()}, so it suppresses "
                "nothing: renew it with a reason or fix the drift"
            )
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    used: set[int] = set()
    for finding in findings:
        hit = next((i for i, e in enumerate(active) if entry_matches(e, tenant, finding)), None)
        if hit is None:
            kept.append(finding)
        else:
            used.add(hit)
            suppressed.append(Suppressed(finding, active[hit]))
    for i, entry in enumerate(active):
        if i not in used:
            warnings.append(f"{describe(entry)} matches no finding: remove it if it is obsolete")
    return Suppression(tuple(kept), tuple(suppressed), tuple(warnings))
