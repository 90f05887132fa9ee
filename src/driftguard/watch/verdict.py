"""From one tenant's sweep result to its verdict and the change of verdict worth telling.

Pure: a tenant report, the previous stored verdict and the sweep's moment in; values out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import assert_never

from driftguard.model import Finding, Report, Severity, Status, TenantReport
from driftguard.textsafe import bounded

MAX_PAYLOAD = 256 * 1024  # characters of one notification's JSON
_KEPT_FINDINGS = 50  # findings kept when a payload would be over MAX_PAYLOAD


class Change(StrEnum):
    NEW_DRIFT = "new_drift"  # drift appeared, or what drifted is not what drifted before
    DRIFT_RESOLVED = "drift_resolved"
    UNREADABLE = "unreadable"
    READABLE = "readable_again"  # was unreadable, now read with no drift


@dataclass(frozen=True)
class Verdict:
    status: Status
    fingerprint: str  # what the verdict is about: the findings, for drift; "" otherwise


def verdict_of(report: TenantReport) -> Verdict:
    match report.status:
        case Status.DRIFT:
            return Verdict(report.status, findings_fingerprint(report.findings))
        case Status.OK | Status.ERROR:
            return Verdict(report.status, "")
        case _:
            assert_never(report.status)


def findings_fingerprint(findings: tuple[Finding, ...]) -> str:
    """``sha256:<hex>`` of what drifted: the same drift gives the same fingerprint each sweep."""
    items = sorted(
        json.dumps(
            [f.kind.value, f.guid or f.connector.casefold(), f.field, f.baseline, f.live],
            sort_keys=True,
            default=list,
            ensure_ascii=False,
        )
        for f in findings
    )
    return "sha256:" + hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()


def change_between(previous: Verdict | None, current: Verdict) -> Change | None:
    """The change worth a notification, or None. A first sweep that finds all clear is quiet."""
    if previous == current:
        return None
    match current.status:
        case Status.DRIFT:
            return Change.NEW_DRIFT
        case Status.ERROR:
            return (
                None
                if previous is not None and previous.status is Status.ERROR
                else (Change.UNREADABLE)
            )
        case Status.OK:
            if previous is None or previous.status is Status.OK:
                return None
            return Change.DRIFT_RESOLVED if previous.status is Status.DRIFT else Change.READABLE
        case _:
            assert_never(current.status)


def notification_key(tenant: str, sweep: int, change: Change) -> str:
    """Unique per change of verdict: a resend after a crash carries the same key."""
    return f"driftguard:{tenant}:sweep-{sweep}:{change.value}"


def summary_line(tenant: str, change: Change, report: TenantReport) -> str:
    match change:
        case Change.NEW_DRIFT:
            n = len(report.findings)
            worst = max((f.severity for f in report.findings), default=None, key=_rank)
            level = f" ({worst.value} at worst)" if worst is not None else ""
            return f"{tenant}: new drift, {n} finding{'s' if n != 1 else ''}{level}"
        case Change.DRIFT_RESOLVED:
            return f"{tenant}: drift resolved, the live connectors match the baseline"
        case Change.UNREADABLE:
            return f"{tenant}: unreadable: {report.error or 'no reason given'}"
        case Change.READABLE:
            return f"{tenant}: readable again, no drift"
        case _:
            assert_never(change)


def _rank(severity: Severity) -> int:
    return severity.rank


def payload(
    key: str, change: Change, sweep: int, now: datetime, report: TenantReport
) -> tuple[str, str]:
    """(summary, JSON document) of a notification; the findings are cut to stay bounded."""
    from dataclasses import replace

    from driftguard.report.json_format import report_to_dict

    summary = bounded(summary_line(report.tenant, change, report), 1000)
    kept = report
    for _ in range(2):
        tenant = report_to_dict(Report(generated_at=now, tenants=(kept,), command="watch"))
        doc = {
            "driftguard_notification": 1,
            "key": key,
            "change": change.value,
            "tenant": report.tenant,
            "sweep": sweep,
            "at": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "summary": summary,
            "findings_total": len(report.findings),
            "report": tenant["tenants"][0],
        }
        text = json.dumps(doc, ensure_ascii=False, sort_keys=True)
        if len(text) <= MAX_PAYLOAD:
            return summary, text
        cut = report.findings[:_KEPT_FINDINGS]
        kept = replace(report, findings=cut, warnings=(), evidence=None)
    doc["report"] = {"tenant": report.tenant, "status": report.status.value}
    return summary, json.dumps(doc, ensure_ascii=False, sort_keys=True)
