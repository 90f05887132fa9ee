""" "Suspicious connector activity" alerts from Graph ``GET /security/alerts_v2``.

``$filter`` works on ``serviceSource`` and ``createdDateTime`` (not on ``title``), so the server
narrows to Defender for Office 365 in the window and the title is matched here. The evidence shape
of this alert is UNVERIFIED: every string found under the evidence (any nesting, any
``@odata.type``) is searched for connector names and IP addresses; nothing about it is required.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from driftguard.investigate.auditrecords import AuditRecordError, parse_time, wire_time
from driftguard.investigation import AlertEntry

TITLE = "suspicious connector activity"
SERVICE_SOURCE = "microsoftDefenderForOffice365"


class AlertReader(Protocol):
    def pages(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> Iterator[list[dict[str, Any]]]: ...


@dataclass(frozen=True)
class Alert:
    id: str
    title: str
    severity: str
    status: str
    created: datetime | None
    connectors: tuple[str, ...]  # live connector names the alert mentions
    ips: tuple[str, ...]
    url: str | None
    description: str


def fetch_alerts(
    graph: AlertReader, start: datetime, end: datetime, connector_names: Sequence[str]
) -> list[Alert]:
    params = {
        "$filter": (
            f"serviceSource eq '{SERVICE_SOURCE}' and createdDateTime ge {wire_time(start)} "
            f"and createdDateTime le {wire_time(end)}"
        )
    }
    out: list[Alert] = []
    for page in graph.pages("/v1.0/security/alerts_v2", params):
        for item in page:
            alert = alert_from(item, connector_names)
            if alert is not None:
                out.append(alert)
    out.sort(key=lambda a: a.created or datetime.min.replace(tzinfo=UTC))
    return out


def alert_from(item: Mapping[str, Any], connector_names: Sequence[str]) -> Alert | None:
    """The alert if its title is "Suspicious connector activity", else None."""
    title = str(item.get("title") or "")
    if TITLE not in title.lower():
        return None
    texts = list(_strings(item.get("evidence")))
    description = str(item.get("description") or "")
    texts.append(description)
    lowered = [t.lower() for t in texts]
    connectors = tuple(name for name in connector_names if any(name.lower() in t for t in lowered))
    ips: dict[str, None] = {}
    for text in texts:
        for token in text.replace(",", " ").split():
            try:
                ips[str(ipaddress.ip_address(token.strip("[]();")))] = None
            except ValueError:
                continue
    created: datetime | None
    try:
        created = parse_time(item.get("createdDateTime"))
    except AuditRecordError:
        created = None
    return Alert(
        id=str(item.get("id") or ""),
        title=title,
        severity=str(item.get("severity") or "unknown"),
        status=str(item.get("status") or "unknown"),
        created=created,
        connectors=connectors,
        ips=tuple(ips),
        url=str(item["alertWebUrl"]) if item.get("alertWebUrl") else None,
        description=description,
    )


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 8:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not str(key).startswith("@odata"):
                yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def alert_entry(alert: Alert) -> AlertEntry:
    return AlertEntry(
        id=alert.id,
        title=alert.title,
        severity=alert.severity,
        status=alert.status,
        created=alert.created,
        connectors=tuple(alert.connectors),
        ips=tuple(alert.ips),
        url=alert.url,
    )
