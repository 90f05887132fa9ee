"""``--format json``: the machine-readable report (CONTRACT.md), round-trippable.

``report_to_dict`` / ``report_from_dict`` are inverse (the shard merge step reads reports back);
the packaged ``schema/report.schema.json`` describes the result and every test validates against it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from driftguard import investigation
from driftguard.investigation import Investigation
from driftguard.model import (
    AuditEvent,
    Finding,
    FindingKind,
    IgnoreEntry,
    Location,
    Report,
    Severity,
    Status,
    Suppressed,
    TenantReport,
)
from driftguard.properties import Value
from driftguard.report import jsontext
from driftguard.report.bounds import bounded
from driftguard.textsafe import CONTROLS

SCHEMA_RESOURCE = "schema/report.schema.json"


def render(report: Report) -> str:
    report = bounded(report)
    text = jsontext.dumps(report_to_dict(report))  # json.dumps(indent=2, ensure_ascii=False)
    # json.dumps(ensure_ascii=False) escapes C0 controls but writes DEL, C1 controls, bidi
    # controls and separators raw, and a terminal showing the file would act on them. They only
    # occur inside JSON strings, where \uXXXX means the same character: the data stays exact.
    if text.isascii() and not _has_ascii_control(text):
        return text + "\n"  # the usual report: nothing for CONTROLS to find, checked in C
    return CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


_ASCII_CONTROLS = bytes(c for c in range(128) if CONTROLS.fullmatch(chr(c)))


def _has_ascii_control(text: str) -> bool:
    """Whether ASCII ``text`` holds a character of ``CONTROLS`` (its ASCII members: C0 but tab
    and newline, DEL): one C pass that deletes them and compares lengths."""
    data = text.encode("ascii")
    return len(data.translate(None, _ASCII_CONTROLS)) != len(data)


def schema() -> dict[str, Any]:
    """The packaged JSON Schema of the report."""
    text = resources.files("driftguard.report").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# --------------------------------------------------------------------------- to dict


def report_to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": report.schema_version,
        "generated_at": _time(report.generated_at),
        "command": report.command,
        "summary": summary(report),
        "tenants": [_tenant(t) for t in report.tenants],
    }


def summary(report: Report) -> dict[str, int]:
    counts = {
        "tenants": len(report.tenants),
        "ok": 0,
        "drift": 0,
        "error": 0,
        "findings": 0,
        "critical": 0,
        "high": 0,
        "medium": 0,
        "low": 0,
        "suppressed": 0,
        "warnings": 0,
    }
    for t in report.tenants:
        counts[t.status.value] += 1
        counts["findings"] += len(t.findings)
        counts["suppressed"] += len(t.suppressed)
        counts["warnings"] += len(t.warnings)
        for f in t.findings:
            counts[f.severity.value] += 1
    return counts


def finding_to_dict(f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind.value,
        "connector": f.connector,
        "guid": f.guid,
        "field": f.field,
        "baseline": _value(f.baseline),
        "live": _value(f.live),
        "added": list(f.added),
        "removed": list(f.removed),
        "severity": f.severity.value,
        "reason": f.reason,
        "location": _location(f.location),
        "events": [_event(e) for e in f.events],
    }


def _tenant(t: TenantReport) -> dict[str, Any]:
    return {
        "tenant": t.tenant,
        "status": t.status.value,
        "error": t.error,
        "findings": [finding_to_dict(f) for f in t.findings],
        "suppressed": [
            {**finding_to_dict(s.finding), "ignore": _entry(s.entry)} for s in t.suppressed
        ],
        "warnings": list(t.warnings),
        "evidence": investigation.to_json(t.evidence) if t.evidence is not None else None,
        "location": _location(t.location),
    }


def _entry(e: IgnoreEntry) -> dict[str, Any]:
    return {
        "tenant": e.tenant,
        "connector": e.connector,
        "field": e.field,
        "reason": e.reason,
        "owner": e.owner,
        "expires": e.expires.isoformat() if e.expires else None,
        "location": _location(e.location),
    }


def _event(e: AuditEvent) -> dict[str, Any]:
    return {
        "time": _time(e.time),
        "actor": e.actor,
        "client_ip": e.client_ip,
        "operation": e.operation,
        "connector": e.connector,
        "parameters": dict(e.parameters),
        "app_id": e.app_id,
        "succeeded": e.succeeded,
        "external_access": e.external_access,
        "record_id": e.record_id,
    }


def _location(loc: Location | None) -> dict[str, Any] | None:
    return None if loc is None else {"path": loc.path, "line": loc.line}


def _value(v: Value) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _time(t: datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- from dict


def report_from_dict(data: Mapping[str, Any]) -> Report:
    """The inverse of ``report_to_dict`` (for merging shard reports). Validate the dict against
    ``schema()`` first when it comes from outside."""
    return Report(
        generated_at=_parse_time(data["generated_at"]),
        tenants=tuple(_tenant_from(t, i) for i, t in enumerate(data["tenants"])),
        command=str(data.get("command", "diff")),
        schema_version=int(data["schema_version"]),
    )


def finding_from_dict(d: Mapping[str, Any]) -> Finding:
    name = str(d["connector"])
    return Finding(
        kind=FindingKind(d["kind"]),
        connector=name,
        guid=d.get("guid"),
        severity=Severity(d["severity"]),
        reason=str(d["reason"]),
        field=d.get("field"),
        baseline=_value_from(d.get("baseline")),
        live=_value_from(d.get("live")),
        added=tuple(d.get("added") or ()),
        removed=tuple(d.get("removed") or ()),
        location=_location_from(d.get("location")),
        events=tuple(_event_from(e, name) for e in d.get("events") or ()),
    )


def _tenant_from(d: Mapping[str, Any], index: int) -> TenantReport:
    return TenantReport(
        tenant=str(d["tenant"]),
        status=Status(d["status"]),
        error=d.get("error"),
        findings=tuple(finding_from_dict(f) for f in d.get("findings") or ()),
        suppressed=tuple(
            Suppressed(finding_from_dict(s), _entry_from(s["ignore"]))
            for s in d.get("suppressed") or ()
        ),
        warnings=tuple(str(w) for w in d.get("warnings") or ()),
        evidence=_evidence_from(d.get("evidence"), index),
        location=_location_from(d.get("location")),
    )


def _evidence_from(value: Any, index: int) -> Investigation | None:
    """The tenant's investigation, read strictly (an ``EvidenceError`` names the JSON path)."""
    if value is None:
        return None
    return investigation.from_json(value, f"tenants[{index}].evidence")


def _entry_from(d: Mapping[str, Any]) -> IgnoreEntry:
    expires = d.get("expires")
    return IgnoreEntry(
        tenant=str(d["tenant"]),
        connector=str(d["connector"]),
        field=d.get("field"),
        reason=d.get("reason"),
        owner=d.get("owner"),
        expires=date.fromisoformat(expires) if expires else None,
        location=_location_from(d.get("location")),
    )


def _event_from(d: Mapping[str, Any], connector: str) -> AuditEvent:
    return AuditEvent(
        time=_parse_time(d["time"]),
        actor=str(d["actor"]),
        client_ip=d.get("client_ip"),
        operation=str(d["operation"]),
        connector=str(d.get("connector") or connector),
        parameters={str(k): str(v) for k, v in (d.get("parameters") or {}).items()},
        app_id=d.get("app_id"),
        succeeded=bool(d.get("succeeded", True)),
        external_access=bool(d.get("external_access", False)),
        record_id=d.get("record_id"),
    )


def _location_from(d: Mapping[str, Any] | None) -> Location | None:
    return None if d is None else Location(str(d["path"]), int(d.get("line") or 1))


def _value_from(v: Any) -> Value:
    if isinstance(v, Sequence) and not isinstance(v, str):
        return tuple(str(i) for i in v)
    if v is None or isinstance(v, str | bool | int):
        return v
    return str(v)


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
