"""Get-BlockedConnector and Remove-BlockedConnector: connectors the service restricted.

Records carry the fields a third party reads (EXCHANGE.md, UNVERIFIED): ConnectorId (here the
connector's Guid), ConnectorName, TenantId, Reason, CreatedTime, ExpirationTime. ``block`` puts a
connector on the list the way the service does when it sees it relaying spam.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from driftguard.sim import auditlog
from driftguard.sim.cmdlets import (
    CmdletContext,
    SimCmdletError,
    cmdlet,
    missing_parameters,
    parameter,
)
from driftguard.sim.state import TenantState

_NOT_FOUND = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
REASON = "Suspicious connector activity: the connector sent a high volume of spam"


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def block(tenant: TenantState, name: str, when: datetime, reason: str = REASON) -> dict[str, Any]:
    """Restrict connector ``name`` (or Guid) of ``tenant`` as the service would."""
    record = tenant.find_connector(name)
    if record is None:
        raise KeyError(name)
    entry = {
        "ConnectorId": str(record.get("Guid")),
        "ConnectorName": str(record["Name"]),
        "TenantId": tenant.tenant_id,
        "Reason": reason,
        "CreatedTime": _z(when),
        "ExpirationTime": _z(when + timedelta(days=30)),
    }
    with tenant.lock:
        tenant.blocked.append(entry)
    return entry


def _matches(entry: Mapping[str, Any], wanted: str) -> bool:
    key = wanted.strip().lower()
    return key in (
        str(entry.get("ConnectorId", "")).lower(),
        str(entry.get("ConnectorName", "")).lower(),
    )


@cmdlet("Get-BlockedConnector")
def get_blocked(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    wanted = parameter(parameters, "ConnectorId")
    entries = list(tenant.blocked)
    if wanted:
        entries = [e for e in entries if _matches(e, str(wanted))]
    return [dict(e) for e in entries]


@cmdlet("Remove-BlockedConnector", write=True)
def remove_blocked(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    wanted = parameter(parameters, "ConnectorId")
    if not wanted:
        raise missing_parameters(["ConnectorId"])
    kept = [e for e in tenant.blocked if not _matches(e, str(wanted))]
    if len(kept) == len(tenant.blocked):
        raise SimCmdletError(
            f"The blocked connector '{wanted}' couldn't be found.", exception_type=_NOT_FOUND
        )
    tenant.blocked[:] = kept
    auditlog.append(
        tenant,
        ctx,
        operation="Remove-BlockedConnector",
        object_id=str(wanted),
        parameters={"ConnectorId": wanted, "Reason": parameter(parameters, "Reason") or ""},
    )
    ctx.sim.touch()
    return []
