"""Connector records as the admin API returns them, built from canonical settings.

Wire quirks reproduced: ``SenderDomains`` as address spaces (``smtp:x;1``), 7 fractional digits in
timestamps, ``@data.type`` sidecars, ``Identity`` equal to ``Name``, ``ConnectorSource: AdminUI``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from driftguard.normalize import connector_from_record
from driftguard.properties import BY_NAME, SETTABLE, Kind, Value

_MULTI = (
    "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.{}, "
    "Microsoft.Exchange.Data]]"
)
_SIDECARS = {
    "SenderIPAddresses": _MULTI.format("IPRange"),
    "SenderDomains": _MULTI.format("AddressSpace"),
    "WhenChangedUTC": "System.DateTime",
    "WhenCreatedUTC": "System.DateTime",
    "Guid": "System.Guid",
}


def wire_timestamp(moment: datetime) -> str:
    """``2026-07-23T22:55:13.1234560Z``: UTC, 7 fractional digits, ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 10:07d}Z"


def audit_timestamp(moment: datetime) -> str:
    """``CreationTime`` of audit records: UTC without a zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def wire_value(name: str, value: Value) -> Any:
    prop = BY_NAME[name]
    if prop.kind.is_list:
        items = list(value) if isinstance(value, tuple) else []
        if prop.kind is Kind.DOMAINS and name == "SenderDomains":
            return [f"smtp:{item};1" for item in items]
        return items
    if name == "ConnectorSource" and value == "Default":
        return "AdminUI"
    return value


def settings_of(record: Mapping[str, Any]) -> dict[str, Value]:
    """Canonical settings of a wire record (service defaults filled in)."""
    return dict(connector_from_record(record).settings)


def build_record(
    settings: Mapping[str, Value],
    *,
    guid: str,
    created: datetime,
    changed: datetime,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A full wire record, in the service's key order, from canonical settings."""
    record: dict[str, Any] = {}
    for prop in SETTABLE:
        if prop.name == "Name":
            continue
        if prop.name in _SIDECARS:
            record[f"{prop.name}@data.type"] = _SIDECARS[prop.name]
        record[prop.name] = wire_value(prop.name, settings.get(prop.name, prop.default))
    record.update(extra or {})
    name = settings["Name"]
    record["AdminDisplayName"] = ""
    record["Name"] = name
    record["Identity"] = name
    for key, moment in (("WhenChangedUTC", changed), ("WhenCreatedUTC", created)):
        record[f"{key}@data.type"] = _SIDECARS[key]
        record[key] = wire_timestamp(moment)
    record["Guid@data.type"] = _SIDECARS["Guid"]
    record["Guid"] = guid
    record["IsValid"] = True
    return record


def update_record(
    record: dict[str, Any], settings: Mapping[str, Value], *, changed: datetime
) -> None:
    """Write changed settings into an existing record in place, keeping unknown keys."""
    for prop in SETTABLE:
        if prop.name not in settings:
            continue
        key = _key(record, prop.name)
        record[key] = wire_value(prop.name, settings[prop.name])
    record["Identity"] = record[_key(record, "Name")]
    record["WhenChangedUTC"] = wire_timestamp(changed)


def _key(record: Mapping[str, Any], name: str) -> str:
    """The record's own spelling of ``name`` (records from files may differ in case)."""
    lowered = name.lower()
    for key in record:
        if key.lower() == lowered:
            return key
    return name
