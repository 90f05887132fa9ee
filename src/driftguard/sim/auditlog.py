"""Unified audit log records the simulated service writes for every change made through it.

Records are ``AuditData`` objects (EXCHANGE.md): ``CreationTime`` without a zone, ``ClientIP``
sometimes with ``:port``, ``Parameters`` as ``[{"Name", "Value"}]`` with multi-values joined.
``Search-UnifiedAuditLog`` wraps them into result rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from driftguard.sim.cmdlets import CmdletContext
from driftguard.sim.records import audit_timestamp
from driftguard.sim.state import TenantState


def parameter_text(value: Any) -> str:
    """How a parameter value shows in an audit record: multi-values joined with commas."""
    if isinstance(value, Mapping):
        parts = []
        for key in ("Add", "Remove"):
            if value.get(key):
                parts.append(f"{key}={parameter_text(value[key])}")
        return ";".join(parts)
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def append(
    tenant: TenantState,
    ctx: CmdletContext,
    *,
    operation: str,
    object_id: str,
    parameters: Mapping[str, Any],
    succeeded: bool = True,
    record_id: str | None = None,
) -> dict[str, Any]:
    """Append one AuditData record to the tenant's log and return it."""
    record: dict[str, Any] = {
        "CreationTime": audit_timestamp(ctx.now),
        "Id": record_id or str(uuid.uuid4()),
        "Operation": operation,
        "OrganizationId": tenant.tenant_id,
        "RecordType": 1,
        "ResultStatus": "True" if succeeded else "False",
        "UserKey": ctx.app_id or ctx.user,
        "UserType": 2 if ctx.app_id and ctx.user != ctx.app_id else 0,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": ctx.client_ip,
        "ObjectId": object_id,
        "UserId": ctx.user,
        "AppId": ctx.app_id or "",
        "ClientAppId": "",
        "ExternalAccess": ctx.external_access,
        "OrganizationName": tenant.domain,
        "OriginatingServer": "AM0PR01MB0001 (15.20.8000.000)",
        "Parameters": [{"Name": k, "Value": parameter_text(v)} for k, v in parameters.items()],
        "SessionId": "",
        "TokenObjectId": ctx.app_id or "",
        "TokenTenantId": tenant.tenant_id,
    }
    with tenant.lock:
        tenant.audit.append(record)
    return record


def search_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A Search-UnifiedAuditLog result row around an AuditData record (AuditData as a string)."""
    return {
        "RecordType": "ExchangeAdmin",
        "CreationDate": record["CreationTime"] + "Z",
        "UserIds": record["UserId"],
        "Operations": record["Operation"],
        "AuditData": json.dumps(record),
        "ResultIndex": 0,
        "ResultCount": 0,
        "Identity": record["Id"],
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
