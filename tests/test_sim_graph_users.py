"""The simulator's Graph user objects: read, revoke sign-in sessions, block sign-in, and the
application permissions each needs (Graph's own 403 and 404 shapes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from driftguard.sim.app import SimApp
from driftguard.sim.demo import INTRUDER
from driftguard.sim.graph_users import user_id
from driftguard.sim.http import Request
from driftguard.sim.scenarios import build, standard_apps
from driftguard.sim.state import GRAPH_RESOURCE, SimState, TenantState
from driftguard.sim.tokens import mint_access_token

MADE = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)


def _setup() -> tuple[SimApp, TenantState, str, str]:
    sim = build(demo=True, sim=SimState(clock=lambda: MADE))
    tenant = sim.tenants["demo"]
    read, write, _public = standard_apps(sim)
    tokens = [
        mint_access_token(
            sim, tenant, app_id=app.client_id, resource=GRAPH_RESOURCE["global"], role=role
        )[0]
        for app, role in ((read, "read"), (write, "write"))
    ]
    return SimApp(sim), tenant, tokens[0], tokens[1]


def _call(
    app: SimApp, method: str, path: str, token: str, body: Any = None, query: str = ""
) -> tuple[int, Any]:
    raw = b"" if body is None else json.dumps(body).encode()
    response = app.handle(
        Request(
            method=method,
            path=path,
            query=query,
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            body=raw,
            host="graph.microsoft.com",
        )
    )
    return response.status, json.loads(response.body) if response.body else None


def test_a_user_is_read_by_upn_or_id_with_the_selected_properties() -> None:
    app, _tenant, reader, _writer = _setup()
    status, by_upn = _call(app, "GET", f"/v1.0/users/{INTRUDER}", reader)
    assert status == 200
    assert by_upn["id"] == user_id(INTRUDER)
    assert by_upn["accountEnabled"] is True
    assert "signInSessionsValidFromDateTime" not in by_upn  # not in the default set
    status, by_id = _call(
        app,
        "GET",
        f"/v1.0/users/{by_upn['id']}",
        reader,
        query="$select=accountEnabled,signInSessionsValidFromDateTime",
    )
    assert status == 200
    assert set(by_id) == {
        "@odata.context",
        "id",
        "accountEnabled",
        "signInSessionsValidFromDateTime",
    }
    status, error = _call(app, "GET", "/v1.0/users/nobody@contoso.com", reader)
    assert (status, error["error"]["code"]) == (404, "Request_ResourceNotFound")
    status, error = _call(app, "GET", f"/v1.0/users/{INTRUDER}", reader, query="$select=password")
    assert status == 400


def test_revoking_sessions_needs_the_write_permission_and_moves_the_valid_from_time() -> None:
    app, tenant, reader, writer = _setup()
    path = f"/v1.0/users/{user_id(INTRUDER)}/revokeSignInSessions"
    status, error = _call(app, "POST", path, reader)
    assert (status, error["error"]["code"]) == (403, "Authorization_RequestDenied")
    before = next(u for u in tenant.users if u["userPrincipalName"] == INTRUDER)
    old = before["signInSessionsValidFromDateTime"]
    status, answer = _call(app, "POST", path, writer)
    assert (status, answer["value"]) == (200, True)
    assert before["signInSessionsValidFromDateTime"] > old


def test_blocking_sign_in_accepts_account_enabled_only() -> None:
    app, tenant, reader, writer = _setup()
    path = f"/v1.0/users/{user_id(INTRUDER)}"
    assert _call(app, "PATCH", path, reader, {"accountEnabled": False})[0] == 403
    assert _call(app, "PATCH", path, writer, {"displayName": "x"})[0] == 400
    assert _call(app, "PATCH", path, writer, {"accountEnabled": "no"})[0] == 400
    assert _call(app, "PATCH", path, writer, {"accountEnabled": False}) == (204, None)
    user = next(u for u in tenant.users if u["userPrincipalName"] == INTRUDER)
    assert user["accountEnabled"] is False
