"""Get/New/Set/Remove-InboundConnector with the service's validation rules (its own, in
:mod:`driftguard.sim.inbound_rules`) and values stored as typed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from driftguard.sim import auditlog
from driftguard.sim.cmdlets import (
    BINDING,
    TRANSFORMATION,
    CmdletContext,
    SimCmdletError,
    cmdlet,
    missing_parameters,
    parameter,
    unknown_parameter,
)
from driftguard.sim.inbound_rules import check_record, parameter_named, stored_value
from driftguard.sim.records import new_record, object_path, stamp_write, template
from driftguard.sim.state import TenantState

_NOT_FOUND = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
_EXISTS = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException"
DOMAIN_CONTROLLER = "AM0PR01A001DC01.EURPR01A001.PROD.OUTLOOK.COM"


@cmdlet("Get-InboundConnector")
def get_inbound(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    _known(parameters, {"identity", "resultsize"})
    identity = parameter(parameters, "Identity")
    records = list(tenant.connectors)
    if identity:
        # An unknown Identity returns every connector, as the real service does.
        found = tenant.find_connector(str(identity))
        if found is not None:
            records = [found]
    limit = _result_size(parameter(parameters, "ResultSize"), ctx.result_size_default)
    if limit is not None and len(records) > limit:
        records = records[:limit]
        ctx.warnings.append(
            "There are more results available than are currently displayed. To view them, "
            "increase the value for the ResultSize parameter."
        )
        ctx.extras["more"] = True
    return [dict(r) for r in records]


@cmdlet("New-InboundConnector", write=True)
def new_inbound(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    name = parameter(parameters, "Name")
    missing = [p for p in ("Name", "SenderDomains") if parameter(parameters, p) in (None, "", [])]
    if missing:
        raise missing_parameters(missing)
    if tenant.find_connector(str(name)) is not None:
        raise SimCmdletError(
            f"An inbound connector with the name '{name}' already exists.", exception_type=_EXISTS
        )
    record = create(tenant, parameters, guid=str(uuid.uuid4()), ctx=ctx)
    tenant.connectors.append(record)
    auditlog.append(
        tenant,
        ctx,
        operation="New-InboundConnector",
        object_id=object_path(tenant.domain, str(record["Name"])),
        parameters=parameters,
    )
    ctx.sim.touch()
    return [dict(record)]


def create(
    tenant: TenantState, parameters: Mapping[str, Any], *, guid: str, ctx: CmdletContext
) -> dict[str, Any]:
    """The record New-InboundConnector makes from ``parameters`` (validated, not yet stored)."""
    values = template()
    for key, value in parameters.items():
        param = parameter_named(key, new=True)
        values[param.name] = stored_value(param, value, values[param.name])
    _accepted_only(tenant, values["AssociatedAcceptedDomains"])
    check_record(values)
    return new_record(values, domain=tenant.domain, guid=guid, created=ctx.now, changed=ctx.now)


@cmdlet("Set-InboundConnector", write=True)
def set_inbound(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    record = _existing(tenant, parameters)
    old_name = str(record["Name"])
    changed: dict[str, Any] = {}
    for key, value in parameters.items():
        if key.lower() == "identity":
            continue
        param = parameter_named(key, new=False)
        changed[param.name] = stored_value(param, value, record.get(param.name))
    new_name = changed.get("Name")
    if isinstance(new_name, str) and new_name.lower() != old_name.lower():
        other = tenant.find_connector(new_name)
        if other is not None and other is not record:
            raise SimCmdletError(
                f"An inbound connector with the name '{new_name}' already exists.",
                exception_type=_EXISTS,
            )
    _accepted_only(tenant, changed.get("AssociatedAcceptedDomains", []))
    check_record({**record, **changed})
    record.update(changed)
    stamp_write(record, domain=tenant.domain, now=ctx.now)
    auditlog.append(
        tenant, ctx, operation="Set-InboundConnector", object_id=old_name, parameters=parameters
    )
    ctx.sim.touch()
    return []


@cmdlet("Remove-InboundConnector", write=True)
def remove_inbound(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    _known(parameters, {"identity", "confirm"})
    record = _existing(tenant, parameters)
    tenant.connectors.remove(record)
    auditlog.append(
        tenant,
        ctx,
        operation="Remove-InboundConnector",
        object_id=object_path(tenant.domain, str(record["Name"])),
        parameters=parameters,
    )
    ctx.sim.touch()
    return []


# --------------------------------------------------------------------------- helpers


def _existing(tenant: TenantState, parameters: Mapping[str, Any]) -> dict[str, Any]:
    identity = parameter(parameters, "Identity")
    if not identity:
        raise SimCmdletError(
            "Cannot bind argument to parameter 'Identity' because it is null.",
            exception_type=BINDING,
        )
    record = tenant.find_connector(str(identity))
    if record is None:
        raise SimCmdletError(
            f"The operation couldn't be performed because object '{identity}' couldn't be found "
            f"on '{DOMAIN_CONTROLLER}'.",
            exception_type=_NOT_FOUND,
        )
    return record


def _accepted_only(tenant: TenantState, domains: list[str]) -> None:
    """AssociatedAcceptedDomains names accepted domains of the organisation, nothing else."""
    accepted = {d.lower() for d in tenant.accepted_domains}
    for domain in domains:
        if domain.lower() not in accepted:
            raise SimCmdletError(
                f"The operation couldn't be performed because object '{domain}' couldn't be "
                f"found on '{DOMAIN_CONTROLLER}'.",
                exception_type=_NOT_FOUND,
            )


def _known(parameters: Mapping[str, Any], allowed: set[str]) -> None:
    for key in parameters:
        if key.lower() not in allowed:
            raise unknown_parameter(key)


def _result_size(value: Any, default: int) -> int | None:
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lower() == "unlimited":
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise SimCmdletError(
            f"Cannot process argument transformation on parameter 'ResultSize'. Cannot convert "
            f'value "{value}" to type "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]".',
            exception_type=TRANSFORMATION,
        ) from None
    return max(size, 0)
