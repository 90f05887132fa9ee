"""A revert plan as a function of the baseline and a recorded live state, and the check that a
plan file is exactly that function's value (pure). Containment actions on accounts (``respond``)
follow the connector actions; they come from the audit trail, which a plan does not record, so
apply checks them by their own rules (``containment.malformed``, the users' recorded state).

``plan`` builds every revert plan through :func:`revert_plan` from the diff of the read whose
live state it records in the plan; ``apply`` diffs the baseline it reads against that recorded
state, calls it again, and refuses a plan whose actions or notes differ. So the actions that run
are the ones driftguard derives from the approved baseline, never ones a plan file merely states.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from driftguard.diff import Drift, drift_for
from driftguard.errors import PlanError
from driftguard.ignore import apply_ignores
from driftguard.investigate.blocked import BlockedConnector, blocked_findings
from driftguard.jsontype import Json
from driftguard.model import Connector, IgnoreEntry, TenantBaseline
from driftguard.plan import PlanOptions, plan_for
from driftguard.planmodel import Action, Plan
from driftguard.tenantstate import TenantState


def baseline_digest(tenant: TenantBaseline, ignores: Sequence[IgnoreEntry]) -> str:
    """``sha256:<hex>`` of what a revert plan depends on in the baseline: the tenant's connectors
    in canonical form and its accepted exceptions (file layout, comments and order aside)."""
    connectors = sorted(
        (
            {
                "name": bc.connector.name,
                "guid": bc.connector.guid,
                "settings": dict(bc.connector.settings),
                "other": dict(bc.connector.other),
            }
            for bc in tenant.connectors
        ),
        key=lambda c: json.dumps(c, sort_keys=True, default=_plain),
    )
    name = tenant.config.name.lower()
    exceptions = sorted(
        (
            [e.connector, e.field, e.reason, e.owner, e.expires]
            for e in ignores
            if e.tenant.lower() == name
        ),
        key=lambda e: json.dumps(e, default=_plain),
    )
    body = {"connectors": connectors, "ignores": exceptions}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=_plain)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def kept_drift(
    tenant: TenantBaseline, live: Sequence[Connector], ignores: Sequence[IgnoreEntry], today: date
) -> Drift:
    """The diff less accepted exceptions: what a revert plan acts on, besides the blocks."""
    drift = drift_for(tenant, live)
    return drift.keeping(apply_ignores(tenant.config.name, drift.findings, ignores, today).kept)


def revert_plan(
    drift: Drift,
    state: TenantState,
    ignores: Sequence[IgnoreEntry],
    *,
    created_at: datetime,
    expires_at: datetime,
    snapshot_digest: str | None,
    baseline_commit: str | None,
    options: PlanOptions,
    mail_counts: Mapping[str, int] | None = None,
) -> Plan:
    """The revert plan for ``drift`` (the diff of ``state``'s connectors, accepted exceptions
    left out), unblocking what ``state`` records as blocked; the plan records ``state``."""
    if state.blocked:
        rows = [
            BlockedConnector(b.connector_id, b.name, None, None, None, None) for b in state.blocked
        ]
        drift = drift.with_blocked(blocked_findings(rows, drift.live))
    return plan_for(
        drift,
        created_at=created_at,
        expires_at=expires_at,
        snapshot_digest=snapshot_digest,
        baseline_commit=baseline_commit,
        options=options,
        mail_counts=mail_counts,
        baseline_digest=baseline_digest(drift.tenant, ignores),
        live_state=state,
    )


def check_derivation(plan: Plan, tenant: TenantBaseline, ignores: Sequence[IgnoreEntry]) -> None:
    """Refuse a revert plan that is not what the baseline gives against its recorded state."""
    if plan.purpose != "revert":
        raise PlanError(
            f"this is a {plan.purpose} plan, not a revert plan",
            hint="a rollback is applied with 'driftguard rollback JOURNAL'",
        )
    if plan.live is None or plan.baseline_digest is None:
        raise PlanError("the plan does not record the live state and baseline it was made from")
    if plan.baseline_digest != baseline_digest(tenant, ignores):
        raise PlanError(
            f"the baseline of tenant {plan.tenant!r} changed since the plan was made "
            "(its connector files or accepted exceptions differ)",
            hint="make a new plan from the current baseline and review it",
        )
    # The safety limits were checked when the plan was made; here only the actions count.
    live = [c.connector() for c in plan.live.connectors]
    again = revert_plan(
        kept_drift(tenant, live, ignores, plan.created_at.date()),
        plan.live,
        ignores,
        created_at=plan.created_at,
        expires_at=plan.expires_at,
        snapshot_digest=plan.snapshot_digest,
        baseline_commit=plan.baseline_commit,
        options=PlanOptions(remove_unknown=plan.remove_unknown, force=True),
    )
    connectors = tuple(a for a in plan.actions if not a.kind.on_account)
    problems = _differences(connectors, again.actions)
    if plan.actions[: len(connectors)] != connectors:
        problems.append("an account action stands before a connector action")
    ids = [a.id for a in plan.actions]
    if len(set(ids)) != len(ids):
        problems.append("two actions share an id")
    if plan.notes != again.notes:
        problems.append("its notes differ")
    if problems:
        raise PlanError(
            "the plan's actions are not what the baseline gives against the live state the plan "
            "recorded: " + "; ".join(problems),
            hint="make a new plan with 'driftguard plan --out PLAN' and review it",
        )


def _differences(stated: Sequence[Action], derived: Sequence[Action]) -> list[str]:
    out: list[str] = []
    by_id = {a.id: a for a in derived}
    for a in stated:
        b = by_id.pop(a.id, None)
        if b is None:
            out.append(f"action {a.id} ({a.cmdlet} {a.connector!r}) is not derived")
        elif _fields(a) != _fields(b):
            out.append(f"action {a.id} differs: the baseline gives {b.powershell}")
    out += [f"action {b.id} ({b.powershell}) is missing" for b in by_id.values()]
    return out


def _fields(a: Action) -> tuple[object, ...]:
    return (
        a.kind,
        a.tenant,
        a.connector,
        a.guid,
        a.cmdlet,
        dict(a.parameters),
        a.precondition if isinstance(a.precondition, str) else dict(a.precondition),
    )


def _plain(value: object) -> Json:
    return list(value) if isinstance(value, tuple) else str(value)
