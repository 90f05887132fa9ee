"""Live state from a file (``--live FILE``): the three forms CONTRACT.md names.

- PowerShell ``Get-InboundConnector | ConvertTo-Json -Depth 5``: one object or an array; written
  as UTF-8 (with or without BOM) or UTF-16 (Windows PowerShell's default for ``>``).
- A raw InvokeCommand response body ``{"value": [...], "@adminapi.warnings": [...]}``.
- A driftguard snapshot ``{"driftguard_snapshot": 1, ..., "digest": "sha256:...", "records"}``.

A body with warnings or an ``@odata.nextLink`` may be partial: TruncatedReadError, never a verdict.
Wrong input is named: a Get-OutboundConnector record, enums written as numbers (Windows
PowerShell 5.1's ConvertTo-Json) and a saved service error body each get their own error.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftguard import jsonsafe
from driftguard.errors import JsonError, LiveReadError, ServiceError, TruncatedReadError
from driftguard.live.wire import json_error_text, short
from driftguard.model import Connector, Snapshot, TenantConfig
from driftguard.normalize import NormalizeError, connector_from_record
from driftguard.properties import SETTABLE, Kind, is_sidecar

SNAPSHOT_VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
"""The largest live file read (UTF-16 doubles the size of a few MiB of connectors)."""

# Get-OutboundConnector's own properties, and the inbound ones it never has (EXCHANGE.md).
_OUTBOUND_ONLY = frozenset(
    k.lower()
    for k in (
        "SmartHosts",
        "RecipientDomains",
        "TlsSettings",
        "TlsDomain",
        "UseMXRecord",
        "IsTransportRuleScoped",
        "RouteAllMessagesViaOnPremises",
        "AllAcceptedDomains",
        "SenderRewritingEnabled",
        "LinkForModifiedConnector",
        "ValidationRecipients",
    )
)
_SHARED = frozenset({"name", "enabled", "comment", "connectortype", "connectorsource"})
_INBOUND_ONLY = frozenset(p.name.lower() for p in SETTABLE) - _SHARED - {"cloudservicesmailenabled"}
_ENUMS = tuple(p.name for p in SETTABLE if p.kind is Kind.ENUM)
_ENUMS_AS_TEXT = (
    "export with PowerShell 7: `Get-InboundConnector | ConvertTo-Json -Depth 5 "
    "-EnumsAsStrings`; in Windows PowerShell 5.1 select them as strings: `Get-InboundConnector "
    "| Select-Object -Property *,@{n='ConnectorType';e={[string]$_.ConnectorType}},"
    "@{n='ConnectorSource';e={[string]$_.ConnectorSource}} -ExcludeProperty "
    "ConnectorType,ConnectorSource | ConvertTo-Json -Depth 5`"
)


@dataclass(frozen=True)
class LiveFile:
    """What a live file holds, whatever its form."""

    form: str  # "powershell" | "invokecommand" | "snapshot"
    records: tuple[Mapping[str, Any], ...]
    tenant: str | None = None  # snapshots only
    tenant_id: str | None = None
    taken_at: datetime | None = None
    warnings: tuple[str, ...] = ()


def decode(data: bytes, path: str) -> str:
    """Bytes to text: a UTF-8/UTF-16/UTF-32 BOM decides, else UTF-16 is guessed from NUL bytes."""
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    )
    encoding, start = "utf-8", 0
    for bom, name in boms:
        if data.startswith(bom):
            encoding, start = name, len(bom)
            break
    else:
        if len(data) >= 2 and data[0] != 0 and data[1] == 0:
            encoding = "utf-16-le"
        elif len(data) >= 2 and data[0] == 0 and data[1] != 0:
            encoding = "utf-16-be"
    try:
        return data[start:].decode(encoding)
    except UnicodeDecodeError as exc:
        raise LiveReadError(
            f"{path}: not readable as {encoding} (byte {exc.start + start})",
            hint="save the file as UTF-8 or UTF-16, e.g. `... | Out-File -Encoding utf8 FILE`",
        ) from exc


def parse_json(text: str, path: str) -> Any:
    try:
        return jsonsafe.loads(text, source=path)
    except JsonError as exc:
        raise LiveReadError(
            exc.message,
            hint="use `Get-InboundConnector | ConvertTo-Json -Depth 5`, an InvokeCommand body "
            "or a `driftguard snapshot` file",
        ) from exc


def parse_live(data: bytes, path: str) -> LiveFile:
    """Recognise and check one of the three forms; raise LiveReadError naming ``path``."""
    doc = parse_json(decode(data, path), path)
    if isinstance(doc, list):
        return LiveFile("powershell", _records(doc, path))
    if not isinstance(doc, dict):
        raise LiveReadError(f"{path}: expected a JSON object or array, got {type(doc).__name__}")
    if "driftguard_snapshot" in doc:
        return _snapshot(doc, path)
    if "value" in doc and isinstance(doc.get("value"), list):
        return _invoke_body(doc, path)
    if "error" in doc and isinstance(doc["error"], Mapping):
        raise ServiceError(
            f"{path}: the file holds a service error, not connectors: "
            f"{short(json_error_text(doc), 300)}",
            hint="the read that saved it failed; fix what the message says and read again",
        )
    if any(k.lower() == "name" for k in doc):
        return LiveFile("powershell", _records([doc], path))
    raise LiveReadError(
        f"{path}: not a connector, a list of connectors, an InvokeCommand body or a snapshot",
        hint="expected `Get-InboundConnector | ConvertTo-Json -Depth 5` output, "
        '{"value": [...]} or a `driftguard snapshot` file',
    )


def read_live_file(path: str | Path) -> LiveFile:
    name = str(path)
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise LiveReadError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise LiveReadError(
            f"{name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; refusing to read it",
            hint="a tenant's connectors take a few MiB at most; check the file is the right one",
        )
    return parse_live(data, name)


def snapshot_digest(records: Sequence[Mapping[str, Any]]) -> str:
    """``sha256:<hex>`` of the canonical content of ``records``: the same live state gives the
    same digest whatever the wire formatting, record order or bookkeeping timestamps.

    Per connector: Guid, Name, canonical settings and non-sidecar properties driftguard does not
    know; read-only bookkeeping (Identity, WhenChangedUTC, ...) is left out. A record that cannot
    be normalised is hashed as received (sidecars dropped), so this never raises.
    """
    items: list[str] = []
    for record in records:
        try:
            conn = connector_from_record(record)
        except (NormalizeError, AttributeError, TypeError):
            raw = {k: v for k, v in dict(record).items() if not is_sidecar(str(k))}
            items.append(_canonical_json({"raw": raw}))
            continue
        items.append(_connector_json(conn))
    return _digest(items)


def connectors_digest(connectors: Sequence[Connector]) -> str:
    """:func:`snapshot_digest` of records that all normalised to ``connectors``, from them."""
    return _digest([_connector_json(conn) for conn in connectors])


def _connector_json(conn: Connector) -> str:
    return _canonical_json(
        {
            "guid": conn.guid,
            "settings": {k: conn.settings[k] for k in sorted(conn.settings)},
            "unknown": {k: conn.other.get(k) for k in conn.unknown},
        }
    )


def _digest(items: list[str]) -> str:
    payload = "[" + ",".join(sorted(items)) + "]"
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


class FileSource:
    """``--live FILE`` as a Source: the file must be complete and, for snapshots, of this tenant."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        try:
            live = read_live_file(self.path)
            if live.tenant_id and live.tenant_id.lower() != tenant.tenant_id.lower():
                raise LiveReadError(
                    f"{self.path}: snapshot of tenant_id {live.tenant_id}, but tenant "
                    f"{tenant.name!r} is {tenant.tenant_id}",
                    hint="pass the snapshot of this tenant, or the right --tenant",
                )
        except LiveReadError as exc:
            exc.tenant = tenant.name
            raise
        taken_at = live.taken_at or _mtime(self.path)
        return Snapshot(
            tenant=tenant.name,
            records=live.records,
            source=f"file:{self.path}",
            taken_at=taken_at,
            warnings=live.warnings,
        )


# --------------------------------------------------------------------------- forms


def _records(items: list[Any], path: str, where: str = "") -> tuple[Mapping[str, Any], ...]:
    out: list[Mapping[str, Any]] = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise LiveReadError(
                f"{path}: {where}record {i} is {type(item).__name__}, not a connector object"
            )
        if not any(str(k).lower() == "name" for k in item):
            raise LiveReadError(f"{path}: {where}record {i} has no Name: not an inbound connector")
        _check_inbound(item, path, f"{where}record {i}")
        out.append(item)
    return tuple(out)


def _check_inbound(item: Mapping[str, Any], path: str, label: str) -> None:
    """Refuse what is plainly not a Get-InboundConnector record in the form driftguard reads."""
    keys = {str(k).lower(): k for k in item if not is_sidecar(str(k))}
    name = next((v for k, v in item.items() if str(k).lower() == "name"), None)
    label += f" ({name!r})" if isinstance(name, str) else ""
    outbound = sorted(str(keys[k]) for k in keys.keys() & _OUTBOUND_ONLY)
    if outbound and not keys.keys() & _INBOUND_ONLY:
        raise LiveReadError(
            f"{path}: {label} is an outbound connector (it has {', '.join(outbound[:3])}"
            f"{', ...' if len(outbound) > 3 else ''} and no "
            "inbound property such as SenderDomains): --live reads inbound connectors only",
            hint="export the inbound ones: `Get-InboundConnector | ConvertTo-Json -Depth 5`",
        )
    for enum in _ENUMS:
        value = item.get(keys.get(enum.lower(), enum))
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise LiveReadError(
                f"{path}: {label}: {enum} is the number {value!r}, not a name: Windows "
                "PowerShell 5.1's ConvertTo-Json writes enums as numbers, and their meaning is "
                "not documented",
                hint=_ENUMS_AS_TEXT,
            )


def _invoke_body(doc: Mapping[str, Any], path: str) -> LiveFile:
    warnings = doc.get("@adminapi.warnings") or []
    if warnings:
        shown = "; ".join(str(w) for w in (warnings if isinstance(warnings, list) else [warnings]))
        raise TruncatedReadError(
            f"{path}: the service returned warnings, so the result may be incomplete: {shown}",
            hint="read the tenant again (ResultSize Unlimited); a partial read is never a verdict",
        )
    next_link = doc.get("@odata.nextLink")
    if next_link:
        raise TruncatedReadError(
            f"{path}: the body has an @odata.nextLink that was not followed, so it holds only "
            "the first page",
            hint="read the tenant again asking for everything at once (ResultSize Unlimited)",
        )
    return LiveFile("invokecommand", _records(doc["value"], path))


def _snapshot(doc: Mapping[str, Any], path: str) -> LiveFile:
    version = doc.get("driftguard_snapshot")
    if version != SNAPSHOT_VERSION:
        raise LiveReadError(
            f"{path}: driftguard_snapshot version {version!r} is not supported "
            f"(this driftguard reads version {SNAPSHOT_VERSION})"
        )
    records = doc.get("records")
    if not isinstance(records, list):
        raise LiveReadError(f"{path}: snapshot has no records list")
    parsed = _records(records, path, "snapshot ")
    digest = doc.get("digest")
    actual = snapshot_digest(parsed)
    if digest != actual:
        raise LiveReadError(
            f"{path}: snapshot digest {digest!r} does not match its records ({actual})",
            hint="the snapshot was edited or damaged; take a new one with `driftguard snapshot`",
        )
    warnings = doc.get("warnings") or []
    if not isinstance(warnings, list):
        raise LiveReadError(f"{path}: snapshot warnings must be a list")
    tenant_id = doc.get("tenant_id")
    tenant = doc.get("tenant")
    return LiveFile(
        "snapshot",
        parsed,
        tenant=str(tenant) if tenant else None,
        tenant_id=str(tenant_id) if tenant_id else None,
        taken_at=_parse_time(doc.get("taken_at"), path),
        warnings=tuple(str(w) for w in warnings),
    )


def _parse_time(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise LiveReadError(f"{path}: taken_at {value!r} is not an ISO-8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _mtime(path: Path) -> datetime:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:  # pragma: no cover - it was just read
        return datetime.fromtimestamp(0, tz=UTC)


def _canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def _default(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    return str(value)
