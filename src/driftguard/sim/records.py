"""Connector records as the admin API returns them, built from the packaged record template.

``inbound_connector.json`` holds a new connector's record in the real key order and value forms
(``@data.type`` sidecars, ``ConnectorSource: AdminUI``, ``TlsSenderCertificateName: null``) with
the bookkeeping properties of the ExchangeOnlineManagement module's property set. Values are
stored as the cmdlet layer (:mod:`driftguard.sim.inbound_rules`) produced them, never in
driftguard's canonical forms. Bookkeeping changes on every write, as the service's does:
``WhenChanged(UTC)``, ``DirectoryObjectVersion`` and ``OriginatingServer``.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

SITE = "EURPR01A001.PROD.OUTLOOK.COM"
HOSTED = f"{SITE}/Microsoft Exchange Hosted Organizations"
TEMPLATE = "inbound_connector.json"
# Values computed per record; everything else in the template is a service default.
COMPUTED = (
    "Name",
    "DistinguishedName",
    "Identity",
    "Id",
    "Guid",
    "ExchangeObjectId",
    "NameHashGuid",
    "OrganizationalUnitRoot",
    "OrganizationalUnitRootInternal",
    "OrganizationId",
    "OriginatingServer",
    "DirectoryObjectVersion",
    "WhenChanged",
    "WhenCreated",
    "WhenChangedUTC",
    "WhenCreatedUTC",
)


def wire_timestamp(moment: datetime) -> str:
    """``2026-07-23T22:55:13.1234560Z``: UTC, 7 fractional digits, ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 10:07d}Z"


def audit_timestamp(moment: datetime) -> str:
    """``CreationTime`` of audit records: UTC without a zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def local_timestamp(moment: datetime) -> str:
    """``WhenChanged``/``WhenCreated``: the same moment with an offset instead of ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


@cache
def _template() -> dict[str, Any]:
    text = resources.files("driftguard.sim").joinpath(TEMPLATE).read_text(encoding="utf-8")
    record: dict[str, Any] = json.loads(text)["record"]
    return record


def template() -> dict[str, Any]:
    """A fresh copy of the template record (service defaults, computed values unset)."""
    return copy.deepcopy(_template())


def new_record(
    values: Mapping[str, Any], *, domain: str, guid: str, created: datetime, changed: datetime
) -> dict[str, Any]:
    """A record for a connector made with ``values`` (stored forms, ``Name`` included) in the
    organisation ``domain``."""
    record = template()
    record.update(values)
    record["ObjectCategory"] = str(record["ObjectCategory"]).format(site=SITE)
    record["Guid"] = record["ExchangeObjectId"] = guid
    record["WhenCreatedUTC"] = wire_timestamp(created)
    record["WhenCreated"] = local_timestamp(created)
    record["DirectoryObjectVersion"] = 0
    stamp_write(record, domain=domain, now=changed)
    return record


def from_wire(wire: Mapping[str, Any], *, domain: str) -> dict[str, Any]:
    """A stored record from a saved wire record (the demo's): the template's keys and
    bookkeeping first, then the record's own values, unknown properties kept."""
    record = template()
    record.update(wire)
    guid = str(wire["Guid"])
    created = _parse(str(wire.get("WhenCreatedUTC") or ""))
    changed = _parse(str(wire.get("WhenChangedUTC") or "")) or created
    record["ObjectCategory"] = str(record["ObjectCategory"]).format(site=SITE)
    record["ExchangeObjectId"] = guid
    record["DirectoryObjectVersion"] = 0
    if created is not None and changed is not None:
        record["WhenCreated"] = local_timestamp(created)
        stamp_write(record, domain=domain, now=changed)
    return record


def stamp_write(record: dict[str, Any], *, domain: str, now: datetime) -> None:
    """The bookkeeping the service rewrites on every change of ``record`` (renames included)."""
    name = str(record["Name"])
    record["Identity"] = record["Id"] = name
    record["DistinguishedName"] = (
        f"CN={name},CN=Transport Settings,CN=Configuration,CN={domain},CN=ConfigurationUnits,"
        "DC=EURPR01A001,DC=PROD,DC=OUTLOOK,DC=COM"
    )
    # A hash of the name's bytes; a hostile name may hold a lone surrogate, which UTF-8 refuses.
    hashed = name.lower().encode("utf-8", "surrogatepass").decode("latin-1")
    record["NameHashGuid"] = str(uuid.uuid5(uuid.NAMESPACE_OID, hashed))
    record["OrganizationalUnitRoot"] = domain
    record["OrganizationalUnitRootInternal"] = f"{HOSTED}/{domain}"
    record["OrganizationId"] = (
        f"{HOSTED}/{domain} - {SITE}/ConfigurationUnits/{domain}/Configuration"
    )
    version = int(record.get("DirectoryObjectVersion") or 0) + 1
    record["DirectoryObjectVersion"] = version
    record["OriginatingServer"] = f"AM0PR01A00{version % 7 + 1}DC0{version % 3 + 1}.{SITE}"
    record["WhenChangedUTC"] = wire_timestamp(now)
    record["WhenChanged"] = local_timestamp(now)


def object_path(domain: str, name: str) -> str:
    """The long ``ObjectId`` form audit records sometimes carry."""
    return f"{HOSTED}/{domain}/{name}"


def _parse(text: str) -> datetime | None:
    if len(text) < 19:
        return None
    return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)
