"""Get/New/Set/Remove-InboundConnector with the service's validation rules."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from driftguard.baseline.rules import violations
from driftguard.normalize import NormalizeError, canonical_list, canonical_value
from driftguard.properties import BY_LOWER, SETTABLE, Property, Value
from driftguard.sim import auditlog
from driftguard.sim.cmdlets import (
    BINDING,
    CmdletContext,
    SimCmdletError,
    cmdlet,
    missing_parameters,
    parameter,
)
from driftguard.sim.records import build_record, settings_of, update_record
from driftguard.sim.state import TenantState

DELTA_TYPE = "#Exchange.StringFieldDeltaUpdateData"
_NOT_FOUND = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
_VALIDATION = "Microsoft.Exchange.Data.DataValidationException"
_EXISTS = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException"


@cmdlet("Get-InboundConnector")
def get_inbound(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    _known(parameters, {"identity", "resultsize"}, "Get-InboundConnector")
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
    settings: dict[str, Value] = {p.name: p.default for p in SETTABLE}
    for key, value in parameters.items():
        prop = _prop(key, "New-InboundConnector", allow_new_only=True)
        settings[prop.name] = _value(prop, value, settings[prop.name])
    _validate(settings)
    record = build_record(settings, guid=str(uuid.uuid4()), created=ctx.now, changed=ctx.now)
    tenant.connectors.append(record)
    auditlog.append(
        tenant,
        ctx,
        operation="New-InboundConnector",
        object_id=_object_path(tenant, str(settings["Name"])),
        parameters=parameters,
    )
    ctx.sim.touch()
    return [dict(record)]


@cmdlet("Set-InboundConnector", write=True)
def set_inbound(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    record = _existing(tenant, parameters)
    old_name = str(record["Name"])
    settings = settings_of(record)
    changed: dict[str, Value] = {}
    for key, value in parameters.items():
        if key.lower() == "identity":
            continue
        prop = _prop(key, "Set-InboundConnector", allow_new_only=False)
        changed[prop.name] = _value(prop, value, settings[prop.name])
    new_name = changed.get("Name")
    if isinstance(new_name, str) and new_name.lower() != old_name.lower():
        other = tenant.find_connector(new_name)
        if other is not None and other is not record:
            raise SimCmdletError(
                f"An inbound connector with the name '{new_name}' already exists.",
                exception_type=_EXISTS,
            )
    _validate({**settings, **changed})
    update_record(record, changed, changed=ctx.now)
    auditlog.append(
        tenant, ctx, operation="Set-InboundConnector", object_id=old_name, parameters=parameters
    )
    ctx.sim.touch()
    return []


@cmdlet("Remove-InboundConnector", write=True)
def remove_inbound(
    tenant: TenantState, parameters: Mapping[str, Any], ctx: CmdletContext
) -> list[dict[str, Any]]:
    _known(parameters, {"identity", "confirm"}, "Remove-InboundConnector")
    record = _existing(tenant, parameters)
    tenant.connectors.remove(record)
    auditlog.append(
        tenant,
        ctx,
        operation="Remove-InboundConnector",
        object_id=_object_path(tenant, str(record["Name"])),
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
            f"on 'AM0PR01A001DC01.EURPR01A001.PROD.OUTLOOK.COM'.",
            exception_type=_NOT_FOUND,
        )
    return record


def _known(parameters: Mapping[str, Any], allowed: set[str], cmdlet_name: str) -> None:
    for key in parameters:
        if key.lower() not in allowed:
            raise SimCmdletError(
                f"A parameter cannot be found that matches parameter name '{key}'.",
                exception_type=BINDING,
            )


def _prop(key: str, cmdlet_name: str, *, allow_new_only: bool) -> Property:
    prop = BY_LOWER.get(key.lower())
    if prop is None or (prop.new_only and not allow_new_only):
        raise SimCmdletError(
            f"A parameter cannot be found that matches parameter name '{key}'.",
            exception_type=BINDING,
        )
    return prop


def _value(prop: Property, value: Any, current: Value) -> Value:
    try:
        if isinstance(value, Mapping):
            return _delta(prop, value, current)
        return canonical_value(prop, value)
    except NormalizeError as exc:
        raise SimCmdletError(
            f"Cannot process argument transformation on parameter '{prop.name}'. {exc}",
            exception_type="System.Management.Automation.ParameterBindingArgumentTransformationException",
        ) from None


def _delta(prop: Property, value: Mapping[str, Any], current: Value) -> Value:
    """The delta form ``{"@odata.type": DELTA_TYPE, "Add": [...], "Remove": [...]}``."""
    if not prop.kind.is_list or value.get("@odata.type") != DELTA_TYPE:
        raise NormalizeError(f"{prop.name}: unexpected object value")
    add = canonical_list(prop.kind, _strings(value.get("Add")))
    remove = set(canonical_list(prop.kind, _strings(value.get("Remove"))))
    base = current if isinstance(current, tuple) else ()
    return canonical_list(prop.kind, [i for i in (*base, *add) if i not in remove])


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _validate(settings: Mapping[str, Value]) -> None:
    problems = violations(settings)
    if problems:
        raise SimCmdletError(
            "; ".join(message for _field, message in problems), exception_type=_VALIDATION
        )


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
            exception_type="System.Management.Automation.ParameterBindingArgumentTransformationException",
        ) from None
    return max(size, 0)


def _object_path(tenant: TenantState, name: str) -> str:
    hosted = "EURPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations"
    return f"{hosted}/{tenant.domain}/{name}"
