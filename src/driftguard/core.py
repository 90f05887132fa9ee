"""The pipeline for one tenant: live records -> canonical connectors -> findings -> report.

Pure: the snapshot, the ignore entries and today's date are passed in.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from driftguard.diff import Drift, drift_for, unpinned_properties
from driftguard.errors import LiveReadError
from driftguard.ignore import apply_ignores
from driftguard.jsontype import Json
from driftguard.model import (
    BaselineConnector,
    Connector,
    IgnoreEntry,
    Location,
    Snapshot,
    Status,
    TenantBaseline,
    TenantReport,
)
from driftguard.normalize import NormalizeError, connector_from_record
from driftguard.properties import UNMODELLED

_MAX_VALUE = 200


@dataclass(frozen=True)
class Unreadable:
    """A live record that could not be put in canonical form: its connector is not judged."""

    name: str | None
    guid: str | None
    message: str  # names the source, the record and the property at fault


def read_connectors(
    snapshot: Snapshot,
) -> tuple[tuple[Connector, ...], tuple[Unreadable, ...]]:
    """The snapshot's records in canonical form, and the records that could not be read."""
    out: list[Connector] = []
    bad: list[Unreadable] = []
    for i, record in enumerate(snapshot.records, start=1):
        try:
            out.append(connector_from_record(record))
        except NormalizeError as exc:
            name = _text_key(record, "name")
            guid = _text_key(record, "guid")
            label = f"record {i}" + (f" ({name!r})" if name else "")
            bad.append(Unreadable(name, guid, f"{snapshot.source}: {label}: {exc}"))
    return tuple(out), tuple(bad)


def live_connectors(snapshot: Snapshot) -> tuple[Connector, ...]:
    """The snapshot's records in canonical form; a record that cannot be read fails the read
    (planning, adopting and investigating act on the whole tenant, so they need every record)."""
    connectors, bad = read_connectors(snapshot)
    if bad:
        raise LiveReadError(
            bad[0].message,
            tenant=snapshot.tenant,
            hint="driftguard cannot compare a connector it cannot read; nothing was judged",
        )
    return connectors


def unknown_property_warnings(drift: Drift) -> list[str]:
    """One warning per unmodelled property whose value is not empty/null/false and that no
    baseline file pins, saying how to accept it."""
    name = drift.tenant.config.name
    warnings: list[str] = []
    for item in unpinned_properties(drift):
        conn = item.connector
        pin = f"{UNMODELLED}: {{{item.key}: {_show(item.value)}}}"
        if item.baseline_path is not None:
            how = (
                f"to accept it, pin it in {item.baseline_path} as `{pin}` (`driftguard adopt "
                f"--tenant {name} --connector {shlex.quote(conn.name)}` writes it)"
            )
        else:
            how = "adopting the connector (`driftguard adopt`) pins it under " + UNMODELLED
        warnings.append(
            f"{name}: connector {conn.name!r} has property {item.key} = {_show(item.value)}, "
            f"which driftguard does not model; {how}"
        )
    return warnings


def note_warnings(
    tenant: str, baseline: Sequence[BaselineConnector], live: Sequence[Connector]
) -> list[str]:
    """How values were written when they were read in a non-canonical documented form."""
    out = [f"{bc.path}: {note}" for bc in baseline for note in bc.connector.notes]
    out += [f"{tenant}: live connector {c.name!r}: {note}" for c in live for note in c.notes]
    return out


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
                f"{tenant}: two live connectors are named {conn.name!r}: only one is matched by "
                "name (the first in Guid order), the other is reported as unknown"
            )
        seen[key] = conn.name
    return warnings


@dataclass(frozen=True)
class TenantDiff:
    """A tenant's report and the drift behind it: the findings the report keeps (accepted
    exceptions left out), joined to their connectors, for a plan to read."""

    report: TenantReport
    drift: Drift


def tenant_report(
    tenant: TenantBaseline,
    snapshot: Snapshot,
    ignores: Sequence[IgnoreEntry],
    today: date,
) -> TenantReport:
    """The report of :func:`tenant_diff`."""
    return tenant_diff(tenant, snapshot, ignores, today).report


def tenant_diff(
    tenant: TenantBaseline,
    snapshot: Snapshot,
    ignores: Sequence[IgnoreEntry],
    today: date,
) -> TenantDiff:
    """Diff + risk + suppression + warnings for one tenant. A record that cannot be read makes
    the tenant ``error`` (never ``ok``), naming that connector; the others are still judged and
    their findings reported."""
    name = tenant.config.name
    warnings = [*snapshot.warnings]
    live, unreadable = read_connectors(snapshot)
    judged = _without(tenant, unreadable)
    drift = drift_for(judged, live)
    warnings += duplicate_warnings(name, live)
    warnings += unknown_property_warnings(drift)
    warnings += note_warnings(name, judged.connectors, live)
    split = apply_ignores(name, drift.findings, ignores, today)
    warnings += split.warnings
    error = None
    if unreadable:
        error = (
            "; ".join(u.message for u in unreadable)
            + f" ({len(unreadable)} connector{'s' if len(unreadable) != 1 else ''} not judged; "
            "the others were compared)"
        )
    report = TenantReport(
        tenant=name,
        status=Status.ERROR if error else Status.DRIFT if split.kept else Status.OK,
        error=error,
        findings=split.kept,
        suppressed=split.suppressed,
        warnings=tuple(warnings),
        location=tenant.config.location,
    )
    return TenantDiff(report, drift.keeping(split.kept))


def _without(tenant: TenantBaseline, unreadable: Sequence[Unreadable]) -> TenantBaseline:
    """The tenant's baseline minus the connectors an unreadable record stands for (pinned Guid,
    else Name): they are not judged, so they must not show as missing."""
    if not unreadable:
        return tenant
    guids = {u.guid.lower() for u in unreadable if u.guid}
    names = {u.name.lower() for u in unreadable if u.name}
    kept = tuple(
        bc
        for bc in tenant.connectors
        if not (
            (bc.connector.guid and bc.connector.guid in guids) or bc.connector.name.lower() in names
        )
    )
    return TenantBaseline(tenant.config, kept)


def _text_key(record: object, key: str) -> str | None:
    if not isinstance(record, Mapping):
        return None
    for k, v in record.items():
        if str(k).lower() == key and isinstance(v, str) and v.strip():
            return v
    return None


def error_report(tenant: str, error: Exception, location: Location | None = None) -> TenantReport:
    """A tenant whose live state could not be read: ``error``, never a verdict. ``location``: its
    ``tenant.yaml``, where reports point the error."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    hint = getattr(error, "hint", None)
    if hint:
        message = f"{message} (hint: {hint})"
    return TenantReport(tenant=tenant, status=Status.ERROR, error=message, location=location)


def _show(value: Json) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"
