"""From findings to an ordered, deterministic revert plan (pure: values in, values out).

Order (ARCHITECTURE.md, issue 5):
1. stop the bleeding: disable every unknown connector (remove it only with ``remove_unknown``,
   since a disabled connector keeps the evidence);
2. revert changed properties: one ``Set-InboundConnector`` per connector carrying every drifted
   property at once, so the service validates the final state, never a half-reverted one;
3. recreate missing connectors with every non-default property of the baseline;
4. unblock connectors the service restricted, last, once their settings are safe again.

Every action carries its precondition (the live values it expects to find, or ``"absent"``), and
a revert plan records the whole live state it was made from and the baseline's digest, so apply
can re-derive the actions and refuse a stale plan before the first write. Safety limits make mass
disabling or touching a connector that carries mail right now need an explicit ``force``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import assert_never

from driftguard.diff import Drift
from driftguard.errors import PlanError
from driftguard.jsontype import Json
from driftguard.model import Connector, Finding, FindingKind
from driftguard.planmodel import ABSENT, Action, ActionKind, Plan, json_value
from driftguard.properties import BY_NAME, COMPARED
from driftguard.safety import SafetyLimits, unsafe_reasons
from driftguard.tenantstate import TenantState


@dataclass(frozen=True)
class PlanOptions:
    remove_unknown: bool = False
    force: bool = False
    limits: SafetyLimits = field(default_factory=SafetyLimits)


# --------------------------------------------------------------------------- planning


def plan_for(
    drift: Drift,
    *,
    created_at: datetime,
    expires_at: datetime,
    snapshot_digest: str | None = None,
    baseline_commit: str | None = None,
    options: PlanOptions | None = None,
    mail_counts: Mapping[str, int] | None = None,
    baseline_digest: str | None = None,
    live_state: TenantState | None = None,
) -> Plan:
    """The revert plan for the drift of one tenant (every finding it holds is acted on: leave
    accepted exceptions out with ``Drift.keeping``); raises PlanError when it is unsafe without
    ``force``."""
    opts = options or PlanOptions()
    tenant = drift.tenant
    name = tenant.config.name
    notes: list[str] = []

    unknown: dict[int, Connector] = {}
    changed: dict[int, tuple[Connector, Connector, set[str]]] = {}
    missing: dict[int, Connector] = {}
    blocked: dict[str, tuple[str, str | None]] = {}
    for j in drift.judged:
        f = j.finding
        match f.kind:
            case FindingKind.UNKNOWN:
                lc = _require(j.live, f)
                unknown[id(lc)] = lc
            case FindingKind.CHANGED:
                base, lc = _require(j.baseline, f), _require(j.live, f)
                entry = changed.setdefault(id(lc), (base, lc, set()))
                if f.field:
                    entry[2].add(f.field)
            case FindingKind.MISSING:
                base = _require(j.baseline, f)
                missing[id(base)] = base
            case FindingKind.BLOCKED:
                hit = j.live
                guid = (hit.guid if hit else None) or (f.guid.lower() if f.guid else None)
                blocked[guid or f.connector.casefold()] = (hit.name if hit else f.connector, guid)
            case _ as unreachable:
                assert_never(unreachable)

    actions: list[_Draft] = []
    for lc in sorted(unknown.values(), key=_order):
        actions.append(_stop_bleeding(lc, opts.remove_unknown))
    for base, lc, fields in sorted(changed.values(), key=lambda e: _order(e[1])):
        draft = _revert(base, lc, fields, notes)
        if draft is not None:
            actions.append(draft)
    for base in sorted(missing.values(), key=_order):
        actions.append(_create(base, notes))
    for key in sorted(blocked):
        cname, guid = blocked[key]
        actions.append(_unblock(cname, guid))

    built = tuple(d.build(f"{n:03d}-{d.kind.value}", name) for n, d in enumerate(actions, start=1))
    plan = Plan(
        tenant=name,
        tenant_id=tenant.config.tenant_id,
        baseline_commit=baseline_commit,
        snapshot_digest=snapshot_digest,
        created_at=created_at,
        expires_at=expires_at,
        actions=built,
        force=opts.force,
        remove_unknown=opts.remove_unknown,
        notes=tuple(notes),
        baseline_digest=baseline_digest,
        live=live_state,
    )
    reasons = unsafe_reasons(plan.actions, drift.live, opts.limits, mail_counts)
    if reasons and not opts.force:
        raise PlanError(
            "the plan is unsafe: " + "; ".join(reasons),
            hint="review it, then run again with --force to accept it",
        )
    return plan


# --------------------------------------------------------------------------- drafts


@dataclass(frozen=True)
class _Draft:
    kind: ActionKind
    connector: str
    guid: str | None
    cmdlet: str
    parameters: dict[str, Json]
    precondition: dict[str, Json] | str

    def build(self, action_id: str, tenant: str) -> Action:
        return Action(
            id=action_id,
            kind=self.kind,
            tenant=tenant,
            connector=self.connector,
            guid=self.guid,
            cmdlet=self.cmdlet,
            parameters=self.parameters,
            precondition=self.precondition,
        )


def _order(c: Connector) -> tuple[str, str]:
    return (c.name.casefold(), c.guid or "")


def _identity(c: Connector) -> str:
    return c.guid or c.name


def _unmatched(f: Finding) -> PlanError:
    return PlanError(
        f"finding {f.kind.value} for connector {f.connector!r} matches no connector",
        hint="a plan acts on the findings of one diff, joined to their connectors",
    )


def _require(conn: Connector | None, f: Finding) -> Connector:
    if conn is None:
        raise _unmatched(f)
    return conn


def _stop_bleeding(lc: Connector, remove: bool) -> _Draft:
    if remove:
        pre = {p: json_value(lc.settings.get(p)) for p in COMPARED}
        return _Draft(
            ActionKind.REMOVE,
            lc.name,
            lc.guid,
            "Remove-InboundConnector",
            {"Identity": _identity(lc)},
            pre,
        )
    return _Draft(
        ActionKind.DISABLE,
        lc.name,
        lc.guid,
        "Set-InboundConnector",
        {"Identity": _identity(lc), "Enabled": False},
        {"Enabled": json_value(lc.settings.get("Enabled"))},
    )


def _revert(base: Connector, lc: Connector, fields: set[str], notes: list[str]) -> _Draft | None:
    params: dict[str, Json] = {"Identity": _identity(lc)}
    pre: dict[str, Json] = {}
    for prop_name in COMPARED:  # table order: deterministic, Name first
        if prop_name not in fields:
            continue
        prop = BY_NAME[prop_name]
        if prop.new_only:
            notes.append(
                f"{lc.name!r}: {prop_name} can only be set by New-InboundConnector; "
                "recreate the connector to revert it"
            )
            continue
        target, current = base.settings.get(prop_name), lc.settings.get(prop_name)
        params[prop_name] = json_value(target)
        pre[prop_name] = json_value(current)
    for extra in sorted(fields - set(COMPARED)):
        notes.append(f"{lc.name!r}: {extra} is not a settable property; review it by hand")
    if len(params) == 1:
        return None
    return _Draft(
        ActionKind.REVERT,
        lc.name,
        lc.guid,
        "Set-InboundConnector",
        params,
        pre,
    )


def _create(base: Connector, notes: list[str]) -> _Draft:
    params = create_parameters(base)
    if base.guid:
        notes.append(
            f"{base.name!r}: the baseline pins Guid {base.guid}; the recreated connector gets a "
            "new Guid, so update the pin (driftguard adopt) after apply"
        )
    return _Draft(ActionKind.CREATE, base.name, None, "New-InboundConnector", params, ABSENT)


def _unblock(cname: str, guid: str | None) -> _Draft:
    return _Draft(
        ActionKind.UNBLOCK,
        cname,
        guid,
        "Remove-BlockedConnector",
        {"ConnectorId": guid or cname, "Reason": "Restored to the approved baseline by driftguard"},
        {"Blocked": True},
    )


def make_action(
    action_id: str,
    kind: ActionKind,
    tenant: str,
    connector: str,
    guid: str | None,
    cmdlet: str,
    parameters: dict[str, Json],
    precondition: dict[str, Json] | str,
) -> Action:
    """An action (for plans built elsewhere, e.g. rollback)."""
    draft = _Draft(kind, connector, guid, cmdlet, parameters, precondition)
    return draft.build(action_id, tenant)


def create_parameters(base: Connector) -> dict[str, Json]:
    """New-InboundConnector parameters: Name, SenderDomains and every non-default property."""
    params: dict[str, Json] = {}
    for prop_name in COMPARED:
        prop = BY_NAME[prop_name]
        value = base.settings.get(prop_name)
        if prop_name in ("Name", "SenderDomains") or value != prop.default:
            params[prop_name] = json_value(value)
    return params
