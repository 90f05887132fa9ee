"""The doctor's answer as text (one line per check, a hint under each failure) or JSON (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from driftguard.doctor.model import Status, TenantDoctor
from driftguard.textsafe import strip_controls

SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "doctor.schema.json"
_NAME_WIDTH = 26


def tenant_status(result: TenantDoctor) -> Status:
    statuses = {c.status for c in result.checks}
    for status in (Status.FAIL, Status.WARN):
        if status in statuses:
            return status
    return Status.OK


def text(results: Sequence[TenantDoctor]) -> str:
    lines: list[str] = []
    for result in results:
        lines.append(f"tenant {strip_controls(result.tenant)} ({strip_controls(result.tenant_id)})")
        for check in result.checks:
            name = check.name.ljust(_NAME_WIDTH)
            lines.append(f"  {check.status.value:<7} {name} {strip_controls(check.detail)}")
            if check.hint and check.status in (Status.FAIL, Status.WARN):
                lines.append(f"  {'':<7} {'':<{_NAME_WIDTH}} fix: {strip_controls(check.hint)}")
        lines.append(f"  => {_summary(result)}")
        lines.append("")
    return "\n".join(lines)


def _summary(result: TenantDoctor) -> str:
    failed = sum(c.status is Status.FAIL for c in result.checks)
    warned = sum(c.status is Status.WARN for c in result.checks)
    if failed:
        return f"{failed} check{'s' if failed != 1 else ''} failed, {warned} warning" + (
            "s" if warned != 1 else ""
        )
    if warned:
        return f"ready for a nightly run, {warned} warning{'s' if warned != 1 else ''}"
    return "ready for a nightly run"


def json_document(results: Sequence[TenantDoctor], generated_at: datetime) -> str:
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at.astimezone(UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z"),
        "tenants": [
            {
                "tenant": r.tenant,
                "tenant_id": r.tenant_id,
                "status": tenant_status(r).value,
                "checks": [
                    {
                        "check": c.name,
                        "status": c.status.value,
                        "detail": c.detail,
                        "hint": c.hint or None,
                    }
                    for c in r.checks
                ],
            }
            for r in results
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def schema() -> dict[str, Any]:
    """The packaged JSON Schema of ``json_document``'s output."""
    from importlib import resources

    text = resources.files("driftguard.doctor").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
