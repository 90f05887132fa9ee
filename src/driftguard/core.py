"""The pipeline for one tenant: live records -> canonical connectors -> findings -> report.

Pure: the snapshot, the ignore entries and today's date are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from driftguard.diff import findings_for
from driftguard.errors import LiveReadError
from driftguard.ignore import apply_ignores
from driftguard.model import (
    Connector,
    IgnoreEntry,
    Snapshot,
    Status,
    TenantBaseline,
    TenantReport,
)
from driftguard.normalize import NormalizeError, connector_from_record, is_empty

_MAX_VALUE = 200


def live_connectors(snapshot: Snapshot) -> tuple[Connector, ...]:
    """The snapshot's records in canonical form; a record that cannot be read fails the read."""
    out: list[Connector] = []
    for i, record in enumerate(snapshot.records, start=1):
        try:
            out.append(connector_from_record(record))
        except NormalizeError as exc:
            name = record.get("Name") if isinstance(record, dict) else None
            label = f"record {i}" + (f" ({name!r})" if isinstance(name, str) else "")
            raise LiveReadError(
                f"{snapshot.source}: {label}: {exc}",
                tenant=snapshot.tenant,
                hint="driftguard cannot compare a connector it cannot read; nothing was judged",
            ) from exc
    return tuple(out)


def unknown_property_warnings(tenant: str, connectors: Sequence[Connector]) -> list[str]:
    """One warning per property driftguard does not know whose value is not empty/null/false."""
    warnings: list[str] = []
    for conn in connectors:
        for key in conn.unknown:
            value = conn.other.get(key)
            if is_empty(value):
                continue
            warnings.append(
                f"{tenant}: connector {conn.name!r} has property {key} = {_show(value)}, which "
                "driftguard does not know yet: decide whether the baseline needs it"
            )
    return warnings


def duplicate_warnings(tenant: str, connectors: Sequence[Connector]) -> list[str]:
    """Live records driftguard can match only loosely: same Name twice, or no Guid."""
    seen: dict[str, str] = {}
    warnings: list[str] = []
    for conn in connectors:
        if conn.guid is None:
            warnings.append(
                f"{tenant}: live connector {conn.name!r} has no Guid, so it was matched by Name "
                "only: export the Guid too (Get-InboundConnector | ConvertTo-Json -Depth 5)"
            )
        key = conn.name.lower()
        if key in seen:
            warnings.append(
                f"{tenant}: two live connectors are named {conn.name!r}: only the first is "
                "matched by name, the other is reported as unknown"
            )
        seen[key] = conn.name
    return warnings


def tenant_report(
    tenant: TenantBaseline,
    snapshot: Snapshot,
    ignores: Sequence[IgnoreEntry],
    today: date,
) -> TenantReport:
    """Diff + risk + suppression + warnings for one tenant. A record that cannot be read makes
    the tenant ``error`` (never ``ok``)."""
    name = tenant.config.name
    warnings = [*snapshot.warnings]
    try:
        live = live_connectors(snapshot)
    except LiveReadError as exc:
        return TenantReport(
            tenant=name, status=Status.ERROR, error=exc.message, warnings=tuple(warnings)
        )
    warnings += duplicate_warnings(name, live)
    warnings += unknown_property_warnings(name, live)
    findings = findings_for(tenant, live)
    split = apply_ignores(name, findings, ignores, today)
    warnings += split.warnings
    return TenantReport(
        tenant=name,
        status=Status.DRIFT if split.kept else Status.OK,
        findings=split.kept,
        suppressed=split.suppressed,
        warnings=tuple(warnings),
    )


def error_report(tenant: str, error: Exception) -> TenantReport:
    """A tenant whose live state could not be read: ``error``, never a verdict."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    hint = getattr(error, "hint", None)
    if hint:
        message = f"{message} (hint: {hint})"
    return TenantReport(tenant=tenant, status=Status.ERROR, error=message)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"
