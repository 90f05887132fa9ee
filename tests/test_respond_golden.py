"""Golden files of the containment plan and the respond report (text, Markdown, JSON), from fixed
values with hostile names; the JSON checked against the packaged schema.

After an intended change, rewrite them by calling ``_fixed()`` and the renderers outside pytest
(the test sandbox keeps tests from writing into the repository), then review the diff.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema

from driftguard import containment
from driftguard.containment import Standing
from driftguard.investigation import ActorEntry, EntryKind, Investigation, TimelineEntry
from driftguard.live.graphusers import UserState
from driftguard.model import TenantConfig
from driftguard.planfile import plan_digest, render_text
from driftguard.planmodel import Plan
from driftguard.report import response_format
from driftguard.response import Response, steps
from driftguard.tenantstate import TenantState

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
LAST = datetime(2026, 11, 28, 2, 41, 37, tzinfo=UTC)
HOSTILE = "m*a_l|l[o](http://x.example)\u202e@contoso.com"
INTRUDER = "helpdesk.temp@contoso.onmicrosoft.com"
TENANT = TenantConfig(name="demo", tenant_id="5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13")
GOLDEN_DIGEST = "sha256:f8c2ceed2eb2f310e8ab9ea5c3bc9d594b8549da0d5446a8d772f7540a241f17"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    assert path.exists(), f"golden file {path.name} missing"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs"


def _actor(name: str) -> ActorEntry:
    reasons = ("not a listed admin", "unusual IP 203.0.113.66 (outside trusted_ip_ranges)")
    return ActorEntry(
        name, "possibly compromised admin account", reasons, ("203.0.113.66",), 1, LAST
    )


def _investigation() -> Investigation:
    entry = TimelineEntry(
        time=LAST,
        kind=EntryKind.AUDIT,
        connector="Hybrid relay",
        actor=HOSTILE,
        client_ip="203.0.113.66",
        operation="Set-InboundConnector",
        parameters={},
    )
    return Investigation(
        since=NOW - timedelta(days=30),
        until=NOW,
        timeline=(entry,),
        blocked=(),
        mail_flow=None,
        alerts=(),
        attribution=(),
        actors=(_actor(INTRUDER), _actor(HOSTILE), _actor("NT AUTHORITY\\SYSTEM")),
        audit_events_outside_window=0,
        other_audit_events=0,
        skipped_rows=0,
        skipped=(),
        sources={"message_trace": "not requested"},
        suspicious=True,
    )


def _fixed() -> tuple[Plan, Response]:
    from driftguard.sim.graph_users import user_id

    users = {
        INTRUDER: UserState(user_id(INTRUDER), INTRUDER, True, "2026-10-20T14:05:00Z"),
        HOSTILE: UserState(user_id(HOSTILE), HOSTILE, True, "2026-10-21T08:00:00Z"),
    }
    inv = _investigation()
    findings = [
        containment.assess(
            a, users.get(a.actor), TENANT, looked_up=a.actor in users, can_write=True
        )
        for a in inv.actors or ()
    ]
    assert [f.standing for f in findings] == [
        Standing.TO_CONTAIN,
        Standing.TO_CONTAIN,
        Standing.NOT_POSSIBLE,
    ]
    empty = Plan(
        tenant="demo",
        tenant_id=TENANT.tenant_id,
        baseline_commit=None,
        snapshot_digest=None,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=24),
        actions=(),
        baseline_digest="sha256:" + "cd" * 32,
        live=TenantState(connectors=(), blocked=()),
    )
    drafts = containment.drafts(findings, block_sign_in=True, can_write=True)
    plan = containment.with_containment(empty, drafts, block_sign_in=True)
    response = Response(
        tenant="demo",
        tenant_id=TENANT.tenant_id,
        generated_at=NOW,
        since=inv.since,
        until=inv.until,
        steps=steps(plan, inv, findings),
        plan_digest=plan_digest(plan),
        plan_path="plan.json",
    )
    return plan, response


def test_golden_containment_plan() -> None:
    plan, _response = _fixed()
    assert [a.id for a in plan.actions] == ["001-revoke", "002-block", "003-revoke", "004-block"]
    assert plan_digest(plan) == GOLDEN_DIGEST  # the canonical form of account actions is stable
    _golden("plan.containment.txt", render_text(plan))


def test_golden_respond_text_and_markdown() -> None:
    _plan, response = _fixed()
    text = response_format.render_text(response)
    markdown = response_format.render_markdown(response)
    assert "\u202e" not in text and "\u202e" not in markdown
    _golden("respond.txt", text)
    _golden("respond.md", markdown)


def test_golden_respond_json_follows_its_schema() -> None:
    _plan, response = _fixed()
    doc = json.loads(response_format.render_json(response))
    jsonschema.validate(doc, response_format.schema())
    assert [s["status"] for s in doc["steps"]] == [
        "not possible",  # mail flow not read
        "done",
        "done",
        "needs approval",
    ]
    _golden("respond.json", response_format.render_json(response))
