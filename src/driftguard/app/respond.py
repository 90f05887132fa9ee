"""``respond`` as a function: one tenant's investigation, its revert plan, its flagged accounts
looked up in Microsoft Graph, containment added to the plan, the playbook's four steps out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from driftguard.app.investigate import ClientOpener, Options, investigate
from driftguard.app.plan import PlanRequest, diff_for_plan, plan_for_tenant
from driftguard.containment import (
    AccountFinding,
    assess,
    drafts,
    is_user_principal,
    with_containment,
)
from driftguard.errors import LiveReadError
from driftguard.investigation import Investigation
from driftguard.model import Baseline, Snapshot, TenantConfig
from driftguard.planfile import plan_digest
from driftguard.planmodel import Plan
from driftguard.response import Response, steps

Warn = Callable[[str], None]


@dataclass(frozen=True)
class RespondRequest:
    plan: PlanRequest
    since: datetime
    until: datetime
    block_sign_in: bool = False
    out: str | None = None  # where the plan file goes (the CLI writes it)


def respond(
    baseline: Baseline,
    name: str,
    live: Snapshot,
    request: RespondRequest,
    open_clients: ClientOpener,
    *,
    now: datetime,
    warn: Warn,
) -> tuple[Response, Plan]:
    """The playbook for tenant ``name`` and the plan holding every action it needs; any read
    that fails is an error for the tenant, never a step shown as done."""
    from driftguard.app.clients import effective_config
    from driftguard.live.credentials import has_graph_write

    tenant = baseline.tenants[name]
    diff = diff_for_plan(tenant, live, baseline.ignores, now)
    config = effective_config(tenant.config)
    reached = replace(baseline, tenants={**baseline.tenants, name: replace(tenant, config=config)})
    inv = _investigation(reached, name, live, request, open_clients, now)
    findings = accounts(config, inv)
    plan = plan_for_tenant(diff, baseline.ignores, request.plan, now=now, warn=warn)
    can_write = has_graph_write(config)
    actions = drafts(findings, block_sign_in=request.block_sign_in, can_write=can_write)
    plan = with_containment(plan, actions, block_sign_in=request.block_sign_in)
    response = Response(
        tenant=name,
        tenant_id=config.tenant_id,
        generated_at=now,
        since=request.since,
        until=request.until,
        steps=steps(plan, inv, findings),
        plan_digest=plan_digest(plan),
        plan_path=request.out,
    )
    return response, plan


def _investigation(
    baseline: Baseline,
    name: str,
    live: Snapshot,
    request: RespondRequest,
    open_clients: ClientOpener,
    now: datetime,
) -> Investigation:
    options = Options(since=request.since, until=request.until)
    report = investigate(baseline, [name], {name: live}, options, open_clients, now)
    (tenant,) = report.tenants
    if tenant.error or tenant.evidence is None:
        raise LiveReadError(f"tenant {name}: {tenant.error or 'not investigated'}", tenant=name)
    return tenant.evidence


def accounts(config: TenantConfig, inv: Investigation) -> list[AccountFinding]:
    """Every actor the investigation flags, its user account looked up (read credential)."""
    from driftguard.app.clients import graph_users
    from driftguard.live.credentials import has_graph_write

    flagged = inv.actors or ()
    can_write = has_graph_write(config)
    principals = [a for a in flagged if is_user_principal(a.actor)]
    found = {}
    if principals:
        with graph_users(config) as users:
            found = {a.actor: users.user(a.actor) for a in principals}
    return [
        assess(
            a,
            found.get(a.actor),
            config,
            looked_up=a.actor in found,
            can_write=can_write,
        )
        for a in flagged
    ]
