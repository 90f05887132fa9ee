"""The simulated Exchange admin API: cmdlets, the service's rules, audit records, delta updates."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from driftguard.sim import Simulator
from driftguard.sim.scenarios import approved_connectors
from simulator import invoke, sim_token

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")
ROGUE = {
    "Name": "Rogue",
    "ConnectorType": "OnPremises",
    "SenderDomains": ["*"],
    "SenderIPAddresses": ["203.0.113.0/24"],
}


def detail(response: Any) -> str:
    body = response.json()
    assert body["error"]["message"] == "Invalid Operation"
    message: str = body["error"]["details"][0]["message"]
    return message


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["Name"] for r in response.json()["value"]]


def test_get_returns_wire_records(sim: Simulator) -> None:
    token = sim_token(sim, "tenant-0001")
    response = invoke(sim, "tenant-0001", token, "Get-InboundConnector")
    body = response.json()
    assert body["@adminapi.warnings"] == []
    assert "@odata.nextLink" not in body
    hybrid = body["value"][0]
    assert hybrid["Name"] == hybrid["Identity"] == "Hybrid relay"
    assert TIMESTAMP.match(hybrid["WhenChangedUTC"])
    assert TIMESTAMP.match(hybrid["WhenCreatedUTC"])
    assert hybrid["SenderDomains"] == ["smtp:tenant-0001.example.com;1"]
    assert hybrid["Guid@data.type"] == "System.Guid"
    assert hybrid["IsValid"] is True
    assert hybrid["ConnectorSource"] == "AdminUI"


def test_get_by_name_guid_or_unknown_identity(sim: Simulator) -> None:
    token = sim_token(sim, "tenant-0001")
    guid = sim.tenant("tenant-0001").connectors[1]["Guid"]
    assert names(
        invoke(sim, "tenant-0001", token, "Get-InboundConnector", Identity="hybrid RELAY")
    ) == ["Hybrid relay"]
    assert names(invoke(sim, "tenant-0001", token, "Get-InboundConnector", Identity=guid)) == [
        "Partner TLS"
    ]
    # A null or unknown Identity returns every connector, like the real service.
    everything = names(invoke(sim, "tenant-0001", token, "Get-InboundConnector", Identity="nope"))
    assert everything == ["Hybrid relay", "Partner TLS"]


def test_result_size_default_truncates_with_warning(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0002")
    template = tenant.connectors[0]
    for n in range(1001):
        record = dict(template)
        record["Name"] = record["Identity"] = f"bulk-{n:04d}"
        record["Guid"] = f"00000000-0000-4000-8000-{n:012d}"
        tenant.connectors.append(record)
    token = sim_token(sim, "tenant-0002")
    partial = invoke(sim, "tenant-0002", token, "Get-InboundConnector").json()
    assert len(partial["value"]) == 1000
    assert "more results available" in partial["@adminapi.warnings"][0]
    assert "@odata.nextLink" in partial
    full = invoke(sim, "tenant-0002", token, "Get-InboundConnector", ResultSize="Unlimited").json()
    assert len(full["value"]) == 1003
    assert full["@adminapi.warnings"] == []
    five = invoke(sim, "tenant-0002", token, "Get-InboundConnector", ResultSize=5).json()
    assert len(five["value"]) == 5


def test_select_limits_properties(sim: Simulator) -> None:
    token = sim_token(sim, "tenant-0001")
    session_response = invoke(sim, "tenant-0001", token, "Get-InboundConnector")
    assert "Comment" in session_response.json()["value"][0]
    from simulator import pinned_session

    response = pinned_session(sim.ca_path).post(
        f"{sim.url}/adminapi/beta/{sim.tenant('tenant-0001').tenant_id}/InvokeCommand"
        "?$select=Name,Guid",
        json={"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": {}}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    record = response.json()["value"][0]
    assert set(record) == {"Name", "Guid", "Guid@data.type"}


def test_new_set_remove_with_audit(sim: Simulator) -> None:
    sim.tenant("tenant-0001").audit.clear()
    token = sim_token(sim, "tenant-0001", "write")
    created = invoke(sim, "tenant-0001", token, "New-InboundConnector", **ROGUE)
    assert created.status_code == 200, created.text
    record = created.json()["value"][0]
    assert record["SenderDomains"] == ["smtp:*;1"]
    assert record["ConnectorType"] == "OnPremises"
    assert TIMESTAMP.match(record["WhenCreatedUTC"])

    renamed = invoke(
        sim,
        "tenant-0001",
        token,
        "Set-InboundConnector",
        Identity=record["Guid"],
        Name="Renamed",
        Enabled=False,
    )
    assert renamed.status_code == 200, renamed.text
    live = sim.tenant("tenant-0001").find_connector(record["Guid"])
    assert live is not None
    assert live["Name"] == live["Identity"] == "Renamed"
    assert live["Enabled"] is False

    removed = invoke(sim, "tenant-0001", token, "Remove-InboundConnector", Identity="Renamed")
    assert removed.status_code == 200, removed.text
    assert sim.tenant("tenant-0001").find_connector("Renamed") is None

    audit = sim.tenant("tenant-0001").audit
    assert [a["Operation"] for a in audit] == [
        "New-InboundConnector",
        "Set-InboundConnector",
        "Remove-InboundConnector",
    ]
    new = audit[0]
    assert new["UserId"] == "driftguard-writer"
    assert new["AppId"] == sim.apps[1].client_id
    assert new["ResultStatus"] == "True"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", new["CreationTime"])
    assert new["ObjectId"].endswith("/Rogue")
    params = {p["Name"]: p["Value"] for p in new["Parameters"]}
    assert params["SenderIPAddresses"] == "203.0.113.0/24"
    assert params["SenderDomains"] == "*"
    assert audit[1]["ObjectId"] == "Rogue"
    assert audit[1]["ClientIP"].startswith("127.0.0.1")
    json.dumps(audit)  # serialisable as the service's AuditData


def test_delta_and_replace_of_lists(sim: Simulator) -> None:
    token = sim_token(sim, "tenant-0001", "write")
    delta = {
        "@odata.type": "#Exchange.StringFieldDeltaUpdateData",
        "Add": ["203.0.113.7", "192.0.2.0/24"],
        "Remove": ["10.0.1.0/24"],
    }
    response = invoke(
        sim,
        "tenant-0001",
        token,
        "Set-InboundConnector",
        Identity="Hybrid relay",
        SenderIPAddresses=delta,
    )
    assert response.status_code == 200, response.text
    live = sim.tenant("tenant-0001").find_connector("Hybrid relay")
    assert live is not None
    # Kept as typed and in the order written: no /32 added, no sorting.
    assert live["SenderIPAddresses"] == ["203.0.113.7", "192.0.2.0/24"]
    params = sim.tenant("tenant-0001").audit[-1]["Parameters"]
    assert {
        "Name": "SenderIPAddresses",
        "Value": "Add=203.0.113.7,192.0.2.0/24;Remove=10.0.1.0/24",
    } in params
    replaced = invoke(
        sim,
        "tenant-0001",
        token,
        "Set-InboundConnector",
        Identity="Hybrid relay",
        SenderIPAddresses=["10.0.1.0/24"],
        SenderDomains=["smtp:a.example;1", "b.example"],
    )
    assert replaced.status_code == 200, replaced.text
    assert live["SenderIPAddresses"] == ["10.0.1.0/24"]
    assert live["SenderDomains"] == ["smtp:a.example;1", "smtp:b.example;1"]


@pytest.mark.parametrize(
    ("cmdlet", "parameters", "text"),
    [
        (
            "New-InboundConnector",
            {"Name": "X", "ConnectorType": "OnPremises", "SenderDomains": ["*"]},
            "DataValidationException|An OnPremises inbound connector must have SenderIPAddresses",
        ),
        (
            "New-InboundConnector",
            {"Name": "Hybrid relay", "SenderDomains": ["*"]},
            "already exists",
        ),
        ("New-InboundConnector", {"Name": "X"}, "missing mandatory parameters: SenderDomains"),
        (
            "New-InboundConnector",
            {"Name": "X", "SenderDomains": ["*"], "SenderIPAddresses": ["10.0.0.0/16"]},
            "CIDR range from /24 to /32",
        ),
        (
            "Set-InboundConnector",
            {"Identity": "Hybrid relay", "RestrictDomainsToCertificate": True},
            "can't both be $true",
        ),
        (
            "Set-InboundConnector",
            {"Identity": "Partner TLS", "TreatMessagesAsInternal": True},
            "TreatMessagesAsInternal can be $true only on an OnPremises connector",
        ),
        (
            "Set-InboundConnector",
            {"Identity": "Nobody", "Enabled": False},
            "ManagementObjectNotFoundException|The operation couldn't be performed because object "
            "'Nobody' couldn't be found",
        ),
        (
            "Set-InboundConnector",
            {"Identity": "Hybrid relay", "ClientHostNames": ["a"]},
            "ParameterBindingException|A parameter cannot be found that matches parameter name "
            "'ClientHostNames'",
        ),
        (
            "Set-InboundConnector",
            {"Identity": "Hybrid relay", "Name": "Partner TLS"},
            "already exists",
        ),
        ("Set-InboundConnector", {"Identity": "Hybrid relay", "Enabled": "maybe"}, "Enabled"),
        ("Remove-InboundConnector", {"Identity": "Nobody"}, "couldn't be found"),
        ("Get-InboundConnector", {"Bogus": 1}, "matches parameter name 'Bogus'"),
        ("Get-InboundConnector", {"ResultSize": "lots"}, "ResultSize"),
        ("Get-Mailbox", {}, "CommandNotFoundException"),
    ],
)
def test_service_errors_in_real_shape(
    sim: Simulator, cmdlet: str, parameters: dict[str, Any], text: str
) -> None:
    tenant = sim.tenant("tenant-0001")
    before = json.dumps(tenant.connectors, sort_keys=True)
    audit_before = len(tenant.audit)
    token = sim_token(sim, "tenant-0001", "write")
    response = invoke(sim, "tenant-0001", token, cmdlet, **parameters)
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "BadRequest"
    assert text in detail(response)
    assert body["innererror"]["internalexception"]["message"]
    assert json.dumps(tenant.connectors, sort_keys=True) == before
    if cmdlet.startswith(("New-", "Set-", "Remove-")):
        # Refused changes are audited too, as failures.
        assert len(tenant.audit) == audit_before + 1
        assert tenant.audit[-1]["ResultStatus"] == "False"
        assert tenant.audit[-1]["Operation"] == cmdlet
    else:
        assert len(tenant.audit) == audit_before


def test_authorization(sim: Simulator) -> None:
    read = sim_token(sim, "tenant-0001")
    assert invoke(sim, "tenant-0001", None, "Get-InboundConnector").status_code == 401
    assert invoke(sim, "tenant-0001", "garbage", "Get-InboundConnector").status_code == 401
    assert invoke(sim, "tenant-0002", read, "Get-InboundConnector").status_code == 401
    for cmdlet, params in (
        ("New-InboundConnector", ROGUE),
        ("Set-InboundConnector", {"Identity": "Hybrid relay", "Enabled": False}),
        ("Remove-InboundConnector", {"Identity": "Hybrid relay"}),
    ):
        response = invoke(sim, "tenant-0001", read, cmdlet, **params)
        assert response.status_code == 403, cmdlet
    assert len(sim.tenant("tenant-0001").connectors) == 2


def test_tenant_addressed_by_domain(sim: Simulator) -> None:
    from simulator import pinned_session

    token = sim_token(sim, "tenant-0003")
    response = pinned_session(sim.ca_path).post(
        f"{sim.url}/adminapi/beta/tenant-0003.onmicrosoft.com/InvokeCommand",
        json={"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": {}}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200
    assert len(response.json()["value"]) == 3  # tenant 3 also has the disabled scanner relay


def test_generated_tenants_are_deterministic_and_some_drifted(
    sim_factory: Callable[..., Simulator],
) -> None:
    from driftguard.normalize import connector_from_baseline, connector_from_record

    one = sim_factory(tenants=20, seed=7)
    two = sim_factory(tenants=20, seed=7)
    assert [t.tenant_id for t in one.state.tenants.values()] == [
        t.tenant_id for t in two.state.tenants.values()
    ]
    drifted = []
    for tenant in one.state.tenants.values():
        approved = {c["Name"]: connector_from_baseline(c).settings for c in tenant.approved}
        live = {r["Name"]: connector_from_record(r).settings for r in tenant.connectors}
        if approved != live:
            drifted.append(tenant.name)
            assert tenant.audit, tenant.name  # every drift is explained by an audit record
    assert 4 <= len(drifted) < 20
    assert "tenant-0005" in drifted
    i, domain, trusted = 4, "tenant-0004.example.com", "10.0.4.0/24"
    files = approved_connectors(i, domain, trusted)
    assert [f["Name"] for f in files] == [c["Name"] for c in one.tenant("tenant-0004").approved]


def test_graph_routes_authorize_by_token_tenant(sim: Simulator) -> None:
    from driftguard.sim.exchange import authorize_graph
    from driftguard.sim.http import ROUTES, Request, Response, route
    from simulator import pinned_session

    @route("GET", r"/_test/graph-echo", name="graph-echo")
    def echo(request: Request, state: Any) -> Response:
        tenant, principal = authorize_graph(request, state)
        return Response.json(200, {"tenant": tenant.name, "app": principal.app_id})

    try:
        read = sim.apps[0]
        tenant_id = sim.tenant("tenant-0002").tenant_id
        session = pinned_session(sim.ca_path)
        token = session.post(
            f"{sim.url}/{tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": read.client_id,
                "client_secret": read.secret,
                "scope": "https://graph.microsoft.com/.default",
            },
            timeout=10,
        ).json()["access_token"]
        ok = session.get(
            f"{sim.url}/_test/graph-echo", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert ok.json() == {"tenant": "tenant-0002", "app": read.client_id}
        exchange_token = sim_token(sim, "tenant-0002")  # wrong audience for Graph
        refused = session.get(
            f"{sim.url}/_test/graph-echo",
            headers={"Authorization": f"Bearer {exchange_token}"},
            timeout=10,
        )
        assert refused.status_code == 401
        assert session.get(f"{sim.url}/_test/graph-echo", timeout=10).status_code == 401
    finally:
        ROUTES[:] = [r for r in ROUTES if r.name != "graph-echo"]


def test_prefer_max_page_size_pages_with_an_unfollowable_link(sim: Simulator) -> None:
    from simulator import pinned_session

    token = sim_token(sim, "tenant-0003")
    response = pinned_session(sim.ca_path).post(
        f"{sim.url}/adminapi/beta/{sim.tenant('tenant-0003').tenant_id}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": {}}},
        headers={"Authorization": f"Bearer {token}", "Prefer": "odata.maxpagesize=2"},
        timeout=10,
    )
    body = response.json()
    assert len(body["value"]) == 2
    link = body["@odata.nextLink"]
    followed = pinned_session(sim.ca_path).get(
        link, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert followed.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"CmdletInput": null}',
        b'{"CmdletInput": {"CmdletName": 5}}',
        b'{"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": "x"}}',
        b'{"CmdletInput": {"CmdletName": "Set-InboundConnector", "Parameters": '
        b'{"Identity": "Hybrid relay", "SenderIPAddresses": {"Add": 5}}}}',
        b'{"CmdletInput": {"CmdletName": "Set-InboundConnector", "Parameters": '
        b'{"Identity": ["a"], "Comment": {"x": 1}}}}',
        b'{"CmdletInput": {"CmdletName": "New-InboundConnector", "Parameters": '
        b'{"Name": {"a": 1}, "SenderDomains": 7}}}',
    ],
)
def test_malformed_requests_get_a_400_not_a_crash(sim: Simulator, body: bytes) -> None:
    from simulator import pinned_session

    token = sim_token(sim, "tenant-0001", "write")
    response = pinned_session(sim.ca_path).post(
        f"{sim.url}/adminapi/beta/{sim.tenant('tenant-0001').tenant_id}/InvokeCommand",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BadRequest"


def test_a_failing_handler_is_a_server_error(sim: Simulator) -> None:
    from driftguard.sim.cmdlets import CMDLETS, cmdlet

    @cmdlet("Get-Broken")
    def broken(tenant: Any, parameters: Any, ctx: Any) -> list[dict[str, Any]]:
        raise RuntimeError("simulator bug")

    try:
        response = invoke(sim, "tenant-0001", sim_token(sim, "tenant-0001"), "Get-Broken")
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "InternalServerError"
        assert "simulator bug" not in response.text
    finally:
        CMDLETS.pop("get-broken", None)


def test_changes_are_stamped_with_the_given_clock(sim_factory: Callable[..., Simulator]) -> None:
    from datetime import UTC, datetime

    sim = sim_factory(tenants=1, clock=lambda: datetime(2026, 11, 30, 8, 0, 1, 250000, tzinfo=UTC))
    token = sim_token(sim, "tenant-0001", "write")
    invoke(sim, "tenant-0001", token, "Set-InboundConnector", Identity="Partner TLS", Enabled=False)
    tenant = sim.tenant("tenant-0001")
    assert tenant.audit[-1]["CreationTime"] == "2026-11-30T08:00:01"
    record = tenant.find_connector("Partner TLS")
    assert record is not None
    assert record["WhenChangedUTC"] == "2026-11-30T08:00:01.2500000Z"
