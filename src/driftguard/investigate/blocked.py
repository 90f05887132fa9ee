"""Was it blocked: ``Get-BlockedConnector`` as findings of kind ``blocked``.

Output fields are UNVERIFIED (EXCHANGE.md): ConnectorId, ConnectorName, TenantId, Reason,
CreatedTime, ExpirationTime are read, case-insensitively, with Guid/Name/Identity as fallbacks.
Whether ConnectorId equals the connector's Guid is UNVERIFIED too, so a block is matched to a live
connector by either Guid or name.

The finding (for the plan's unblock step, which comes after the revert):
``kind=BLOCKED``, ``connector`` = the live connector's name (else ConnectorName, else the id),
``guid`` = the live connector's Guid (else ConnectorId), ``severity`` = critical for OnPremises
connectors and for blocks of connectors not in the live list, else high; ``field``/``baseline``/
``live`` unset; ``reason`` names the NDR senders get and that unblocking takes up to an hour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from driftguard.investigate.auditlog import AuditRecordError, parse_time
from driftguard.investigation import BlockedEntry
from driftguard.model import Connector, Finding, FindingKind, Severity

NDR = "550 5.7.711 Access denied, bad inbound connector. AS(2204)"


class Invoker(Protocol):
    def invoke(self, cmdlet: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class BlockedConnector:
    connector_id: str | None
    name: str | None
    tenant_id: str | None
    reason: str | None
    created: datetime | None
    expires: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name or self.connector_id or "(unnamed)"


def _pick(record: Mapping[str, Any], *names: str) -> Any:
    lowered = {k.lower(): v for k, v in record.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value not in (None, ""):
            return value
    return None


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except AuditRecordError:
        return None  # an unreadable date is shown as unknown, the block itself still counts


def parse_blocked(record: Mapping[str, Any]) -> BlockedConnector:
    connector_id = _pick(record, "ConnectorId", "Guid", "Id")
    name = _pick(record, "ConnectorName", "Name", "Identity")
    return BlockedConnector(
        connector_id=str(connector_id) if connector_id is not None else None,
        name=str(name) if name is not None else None,
        tenant_id=_str(_pick(record, "TenantId", "OrganizationId")),
        reason=_str(_pick(record, "Reason", "BlockReason")),
        created=_time(_pick(record, "CreatedTime", "CreatedDateTime", "WhenCreatedUTC")),
        expires=_time(_pick(record, "ExpirationTime", "ExpirationDateTime")),
        raw=dict(record),
    )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def get_blocked(client: Invoker) -> list[BlockedConnector]:
    """The tenant's blocked inbound connectors (the client fails closed on partial reads)."""
    return [parse_blocked(r) for r in client.invoke("Get-BlockedConnector", {})]


def match_live(block: BlockedConnector, live: Sequence[Connector]) -> Connector | None:
    """The live connector a block is about: by Guid first, then by name."""
    keys = {k.lower() for k in (block.connector_id, block.name) if k}
    for connector in live:
        if connector.guid and connector.guid.lower() in keys:
            return connector
    for connector in live:
        if connector.name.lower() in keys:
            return connector
    return None


def blocked_findings(
    blocked: Sequence[BlockedConnector], live: Sequence[Connector]
) -> list[Finding]:
    out: list[Finding] = []
    for block in blocked:
        connector = match_live(block, live)
        name = connector.name if connector else block.label
        guid = (connector.guid if connector else None) or block.connector_id
        on_premises = connector is not None and connector.connector_type == "OnPremises"
        severity = Severity.CRITICAL if (connector is None or on_premises) else Severity.HIGH
        since = f" since {block.created.isoformat()}" if block.created else ""
        why = f" ({block.reason})" if block.reason else ""
        out.append(
            Finding(
                kind=FindingKind.BLOCKED,
                connector=name,
                guid=guid,
                severity=severity,
                reason=(
                    f"Exchange Online restricted this connector{since}{why}: mail through it is "
                    f"rejected with NDR {NDR}; fix the connector first, then unblock it "
                    "(Remove-BlockedConnector), which takes up to an hour to take effect"
                ),
            )
        )
    return out


def blocked_entries(
    blocked: Sequence[BlockedConnector], live: Sequence[Connector]
) -> tuple[BlockedEntry, ...]:
    """The entries of the investigation's ``blocked`` section."""
    out: list[BlockedEntry] = []
    for block in blocked:
        connector = match_live(block, live)
        out.append(
            BlockedEntry(
                connector=connector.name if connector else block.label,
                connector_id=block.connector_id,
                guid=connector.guid if connector else None,
                reason=block.reason,
                created=block.created,
                expires=block.expires,
                ndr=NDR,
            )
        )
    return tuple(out)
