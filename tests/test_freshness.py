"""The whole-tenant comparison apply makes before its first write (pure)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from driftguard.freshness import tenant_changes
from driftguard.plan import make_action
from driftguard.planmodel import ABSENT, Action, ActionKind, json_value
from driftguard.properties import BY_NAME, COMPARED
from driftguard.tenantstate import BlockedEntry, ConnectorState, TenantState

GUID = "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9"
OTHER = "e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08"


def state(name: str, guid: str | None, **settings: Any) -> ConnectorState:
    values = {p: json_value(BY_NAME[p].default) for p in COMPARED}
    values.update({"Name": name, "SenderDomains": ["contoso.com"], **settings})
    return ConnectorState(name, guid, values, {})


HYBRID = state("Hybrid relay", GUID, TreatMessagesAsInternal=True)
ROGUE = state("Inbound relay (temp)", OTHER, SenderDomains=["*"])
REVERT = make_action(
    "001-revert",
    ActionKind.REVERT,
    "contoso",
    "Hybrid relay",
    GUID,
    "Set-InboundConnector",
    {"Identity": GUID, "TreatMessagesAsInternal": False},
    {"TreatMessagesAsInternal": True},
)
REMOVE = make_action(
    "002-remove",
    ActionKind.REMOVE,
    "contoso",
    ROGUE.name,
    OTHER,
    "Remove-InboundConnector",
    {"Identity": OTHER},
    {},
)
CREATE = make_action(
    "003-create",
    ActionKind.CREATE,
    "contoso",
    "Scanner relay",
    None,
    "New-InboundConnector",
    {"Name": "Scanner relay", "SenderDomains": ["contoso.com"], "Enabled": False},
    ABSENT,
)
UNBLOCK = make_action(
    "004-unblock",
    ActionKind.UNBLOCK,
    "contoso",
    "Hybrid relay",
    GUID,
    "Remove-BlockedConnector",
    {"ConnectorId": GUID, "Reason": "restored"},
    {"Blocked": True},
)
ACTIONS: tuple[Action, ...] = (REVERT, REMOVE, CREATE, UNBLOCK)
BLOCK = BlockedEntry(GUID, "Hybrid relay")
RECORDED = TenantState((HYBRID, ROGUE), (BLOCK,))
SCANNER = state("Scanner relay", "0b9c1d2e-0000-4000-8000-000000000003", Enabled=False)
ALL_DONE = TenantState((HYBRID.with_settings(REVERT.parameters), SCANNER), ())


def changes(live: TenantState, done: tuple[str, ...] = ()) -> list[str]:
    return tenant_changes(RECORDED, live, ACTIONS, set(done))


def test_as_the_plan_saw_it_or_each_action_at_its_target_is_no_change() -> None:
    assert changes(RECORDED) == []
    assert changes(ALL_DONE) == []
    assert changes(ALL_DONE, done=tuple(a.id for a in ACTIONS)) == []
    half = TenantState((HYBRID.with_settings(REVERT.parameters), ROGUE), (BLOCK,))
    assert changes(half, done=("001-revert",)) == []


def test_a_property_no_action_names_is_a_change_on_a_touched_connector() -> None:
    widened = replace(HYBRID, settings={**HYBRID.settings, "SenderDomains": ["*"]})
    assert changes(TenantState((widened, ROGUE), (BLOCK,))) == [
        "connector 'Hybrid relay': SenderDomains is now [*], the plan saw [contoso.com]"
    ]


def test_an_unknown_property_is_compared_too() -> None:
    odd = replace(ROGUE, unknown={"FutureProperty": "on"})
    assert changes(TenantState((HYBRID, odd), (BLOCK,))) == [
        "connector 'Inbound relay (temp)': FutureProperty is now 'on', the plan saw (empty)"
    ]


@pytest.mark.parametrize(
    ("live", "done", "expected"),
    [
        (RECORDED, ("001-revert",), "'Hybrid relay': 001-revert is journalled as done, but"),
        (RECORDED, ("002-remove",), "002-remove is journalled as done, but it still exists"),
        (RECORDED, ("003-create",), "003-create is journalled as done, but it does not exist"),
        (RECORDED, ("004-unblock",), "004-unblock is journalled as done, but it is blocked"),
    ],
)
def test_a_done_action_not_at_its_target_is_refused(
    live: TenantState, done: tuple[str, ...], expected: str
) -> None:
    (problem,) = changes(live, done)
    assert expected in problem and "the journal is not genuine" in problem


def test_new_removed_and_impostor_connectors_and_blocks() -> None:
    impostor = state("Scanner relay", "11111111-0000-4000-8000-000000000000", SenderDomains=["*"])
    stranger = state("Stranger", "22222222-0000-4000-8000-000000000000")
    other_block = BlockedEntry(OTHER, ROGUE.name)
    found = changes(TenantState((impostor, stranger), (BLOCK, other_block)))
    assert found == [
        "connector 'Hybrid relay' (ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9) was removed since the "
        "plan was made",
        "connector 'Scanner relay' exists now; the plan expected it absent (Enabled is now true, "
        "the plan creates false; SenderDomains is now [*], the plan creates [contoso.com])",
        "connector 'Stranger' (22222222-0000-4000-8000-000000000000) is new since the plan was "
        "made",
        "connector 'Inbound relay (temp)' was blocked since the plan was made",
    ]


def test_a_block_lifted_by_someone_else_is_a_change_unless_the_plan_lifts_it() -> None:
    other = BlockedEntry(OTHER, ROGUE.name)
    recorded = TenantState((HYBRID, ROGUE), (BLOCK, other))
    assert tenant_changes(recorded, RECORDED, ACTIONS, set()) == [
        "connector 'Inbound relay (temp)' was unblocked since the plan was made"
    ]
    assert tenant_changes(recorded, TenantState((HYBRID, ROGUE), (other,)), ACTIONS, set()) == []
