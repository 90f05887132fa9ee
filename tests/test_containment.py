"""The containment rules (pure): who is proposed, when an account counts as contained, what a
plan's account action may be, and which user states apply accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from driftguard import containment
from driftguard.containment import Standing
from driftguard.errors import ServiceError
from driftguard.investigation import ActorEntry
from driftguard.live.graphusers import UserState, user_from
from driftguard.model import TenantConfig
from driftguard.planmodel import ActionKind
from driftguard.sim.graph_users import user_id

ADMIN = "exadmin@contoso.com"
LAST = datetime(2026, 11, 28, 2, 41, 37, tzinfo=UTC)
BEFORE = "2026-10-20T14:05:00Z"
AFTER = "2026-11-29T09:00:00Z"
TENANT = TenantConfig(name="t", tenant_id="00000000-0000-0000-0000-000000000001", admins=(ADMIN,))


def _actor(name: str = ADMIN) -> ActorEntry:
    return ActorEntry(name, "possibly compromised admin account", ("unusual IP",), (), 1, LAST)


def _user(upn: str = ADMIN, *, enabled: bool = True, since: str | None = BEFORE) -> UserState:
    return UserState(user_id(upn), upn, enabled, since)


def test_a_listed_admin_the_verdict_flags_is_still_proposed() -> None:
    found = containment.assess(_actor(), _user(), TENANT, looked_up=True, can_write=True)
    assert found.listed_admin
    assert found.standing is Standing.TO_CONTAIN
    (draft,) = containment.drafts([found], block_sign_in=False, can_write=True)
    assert draft.kind is ActionKind.REVOKE
    assert draft.parameters == {"UserId": user_id(ADMIN)}
    assert draft.precondition == {
        "accountEnabled": True,
        "signInSessionsValidFromDateTime": BEFORE,
    }


@pytest.mark.parametrize(
    ("user", "how"),
    [
        (_user(enabled=False), "sign-in is blocked"),
        (_user(since=AFTER), "sessions revoked at 2026-11-29T09:00:00Z"),
    ],
)
def test_an_account_blocked_or_revoked_after_the_change_is_contained(
    user: UserState, how: str
) -> None:
    found = containment.assess(_actor(), user, TENANT, looked_up=True, can_write=True)
    assert found.standing is Standing.CONTAINED and found.why.startswith(how)
    assert containment.drafts([found], block_sign_in=False, can_write=True) == []


def test_sessions_revoked_before_the_last_change_do_not_contain() -> None:
    user = _user(since="2026-11-28T02:41:36Z")  # a second before the change
    assert containment.contained_by(user, LAST) is None


@pytest.mark.parametrize(
    "actor",
    [
        "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)",
        "ServicePrincipal_3f1c2a9e-0000-4000-8000-000000000001",
        "a b@contoso.com",
        "evil\x1b[31m@contoso.com",
        "x@y@contoso.com",
        "nobody@localhost",
    ],
)
def test_only_user_principals_are_looked_up(actor: str) -> None:
    assert not containment.is_user_principal(actor)
    found = containment.assess(_actor(actor), None, TENANT, looked_up=False, can_write=True)
    assert found.standing is Standing.NOT_POSSIBLE and "not a user principal" in found.why


def test_without_the_graph_write_credential_containment_is_not_possible() -> None:
    found = containment.assess(_actor(), _user(), TENANT, looked_up=True, can_write=False)
    assert found.standing is Standing.NOT_POSSIBLE and "auth.graph_write" in found.why
    assert containment.drafts([found], block_sign_in=True, can_write=False) == []


def test_block_sign_in_also_blocks_an_account_whose_sessions_were_revoked() -> None:
    found = containment.assess(_actor(), _user(since=AFTER), TENANT, looked_up=True, can_write=True)
    (draft,) = containment.drafts([found], block_sign_in=True, can_write=True)
    assert draft.kind is ActionKind.BLOCK
    assert draft.parameters == {"UserId": user_id(ADMIN), "accountEnabled": False}


def _plan_actions(block: bool = False) -> list[containment.Action]:
    from driftguard.plan import make_action

    found = containment.assess(_actor(), _user(), TENANT, looked_up=True, can_write=True)
    drafts = containment.drafts([found], block_sign_in=block, can_write=True)
    return [
        make_action(
            f"{n:03d}-{d.kind.value}",
            d.kind,
            "t",
            d.upn,
            d.user_id,
            containment.operation(d.kind),
            d.parameters,
            d.precondition,
        )
        for n, d in enumerate(drafts, start=1)
    ]


def test_apply_accepts_only_the_recorded_state_on_a_fresh_run() -> None:
    revoke, block = _plan_actions(block=True)
    uid = user_id(ADMIN)
    assert containment.account_changes([revoke, block], {uid: _user()}, set(), set()) == []
    moved = containment.account_changes([revoke, block], {uid: _user(since=AFTER)}, set(), set())
    expected = f"is now {AFTER}, the plan expected {BEFORE}"
    assert moved == [f"user {ADMIN!r}: signInSessionsValidFromDateTime {expected}"]
    gone = containment.account_changes([revoke], {uid: None}, set(), set())
    assert gone == [f"user {ADMIN!r} ({uid}) no longer exists"]


def test_on_resume_a_started_action_may_be_at_its_target_and_a_done_one_must_be() -> None:
    revoke, block = _plan_actions(block=True)
    uid = user_id(ADMIN)
    after_revoke = {uid: _user(since=AFTER)}
    assert containment.account_changes([revoke, block], after_revoke, set(), {revoke.id}) == []
    assert containment.account_changes([revoke, block], after_revoke, {revoke.id}, set()) == []
    undone = containment.account_changes([revoke, block], {uid: _user()}, {revoke.id}, set())
    assert len(undone) == 1 and "001-revoke is journalled as done, but" in undone[0]
    both = {uid: _user(since=AFTER, enabled=False)}
    assert containment.account_changes([revoke, block], both, {revoke.id}, {block.id}) == []
    # a block the journal does not mention is someone else's change
    assert containment.account_changes([revoke, block], both, {revoke.id}, set()) == [
        f"user {ADMIN!r}: accountEnabled is now false, the plan expected true"
    ]


def test_an_account_action_not_made_by_driftguard_is_named() -> None:
    from dataclasses import replace

    revoke, block = _plan_actions(block=True)
    assert containment.malformed(revoke, block_sign_in=True, rollback=False) == []
    odd = replace(revoke, cmdlet="updateUser", parameters={**revoke.parameters, "x": 1})
    problems = containment.malformed(odd, block_sign_in=True, rollback=False)
    assert problems == [
        "action 001-revoke: revoke is not done by updateUser",
        "action 001-revoke: its parameters are not those of a revoke",
    ]
    assert containment.malformed(block, block_sign_in=False, rollback=False) == [
        "action 002-block: blocks sign-in, but the plan was made without --block-sign-in"
    ]
    enable = replace(
        block, kind=ActionKind.ENABLE, parameters={**block.parameters, "accountEnabled": True}
    )
    assert containment.malformed(enable, block_sign_in=True, rollback=False) == [
        "action 002-block: enable does not belong in this plan"
    ]
    assert containment.malformed(enable, block_sign_in=False, rollback=True) == []


def test_the_graph_request_is_rendered_from_the_parameters() -> None:
    revoke, block = _plan_actions(block=True)
    uid = user_id(ADMIN)
    assert revoke.command == f"POST /v1.0/users/{uid}/revokeSignInSessions"
    assert block.command == f'PATCH /v1.0/users/{uid} {{"accountEnabled": false}}'
    assert revoke.credential == block.credential == "graph_write"


FIXTURES = Path(__file__).parent / "fixtures" / "graph"


def test_a_graph_user_answer_in_the_documented_shape_is_read() -> None:
    payload = json.loads((FIXTURES / "user_select.json").read_text("utf-8"))
    user = user_from(payload, "fixture")
    assert user == UserState(
        "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
        "helpdesk.temp@contoso.onmicrosoft.com",
        True,
        "2026-10-20T14:05:00Z",
    )
    assert json.loads((FIXTURES / "revoke_sessions.json").read_text("utf-8"))["value"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "not-a-guid"}, "no user object id"),
        ({"accountEnabled": "true"}, "no accountEnabled"),
        ({"accountEnabled": None}, "no accountEnabled"),
        ({"signInSessionsValidFromDateTime": "yesterday"}, "is not a UTC time"),
        ({"userPrincipalName": ""}, "no userPrincipalName"),
    ],
)
def test_a_graph_user_answer_in_another_shape_is_an_error(
    change: dict[str, object], message: str
) -> None:
    payload = {**json.loads((FIXTURES / "user_select.json").read_text("utf-8")), **change}
    with pytest.raises(ServiceError, match=message):
        user_from(payload, "fixture")
