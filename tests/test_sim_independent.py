"""The simulator is independent of driftguard: its own rules, values as the service writes them,
records in the real shapes (tests/fixtures/sim), and no import of driftguard's normalisation."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftguard.sim import Simulator
from simulator import invoke, sim_token

ROOT = Path(__file__).parents[1]
SIM = ROOT / "src" / "driftguard" / "sim"
FIXTURES = Path(__file__).parent / "fixtures" / "sim"
FORBIDDEN = (
    "driftguard.normalize",
    "driftguard.baseline",
    "driftguard.properties",
    "driftguard.risk",
    "driftguard.diff",
    "driftguard.core",
    "driftguard.plan",
)
UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")
LOCAL_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text("utf-8"))
    return data


def imported_modules(path: Path) -> list[tuple[str, bool]]:
    """(module, at top level) for every import in ``path``."""
    tree = ast.parse(path.read_text("utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in top) for alias in node.names)
    return found


def test_no_sim_module_imports_driftguard_rules() -> None:
    files = sorted(SIM.rglob("*.py"))
    assert len(files) > 20
    for path in files:
        for module, top_level in imported_modules(path):
            assert not module.startswith(FORBIDDEN), f"{path.name} imports {module}"
            if module == "driftguard.model":
                # Only where the demo tenant is handed to driftguard's client, inside a function.
                assert (path.name, top_level) == ("inprocess.py", False)


def test_running_the_simulator_loads_none_of_driftguard_rules() -> None:
    script = """
import sys
from driftguard.sim import serve
from driftguard.sim.app import SimApp
from driftguard.sim.cmdlets import load_all
from driftguard.sim.inprocess import SimAdapter
from driftguard.sim.scenarios import build
load_all()
sim = build(tenants=6, demo=True)
SimApp(sim)
print("\\n".join(sorted(sys.modules)))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = done.stdout.split()
    assert "driftguard.sim.cmdlets.connectors" in loaded
    assert [m for m in loaded if m.startswith(FORBIDDEN) or m == "driftguard.model"] == []


def value_form(value: Any) -> str:
    """The form of a wire value, as a test can compare it across records."""
    match value:
        case None:
            return "null"
        case bool():
            return "bool"
        case int():
            return "int"
        case list():
            return "list[" + ",".join(sorted({value_form(v) for v in value})) + "]"
        case str() if UTC_STAMP.match(value):
            return "utc-timestamp"
        case str() if LOCAL_STAMP.match(value):
            return "offset-timestamp"
        case str() if GUID.match(value):
            return "guid"
        case str():
            return "string"
        case _:
            return type(value).__name__


def properties(record: dict[str, Any]) -> list[str]:
    return [k for k in record if "@" not in k]


def test_new_connector_has_the_real_key_set_and_value_forms(sim: Simulator) -> None:
    expected = fixture("get-inboundconnector-envelope.json")
    real = expected["value"][0]  # an OnPremises connector with one address, no certificate
    token = sim_token(sim, "tenant-0001", "write")
    made = invoke(
        sim,
        "tenant-0001",
        token,
        "New-InboundConnector",
        Name="myorgemail",
        ConnectorType="OnPremises",
        SenderDomains="*",
        SenderIPAddresses=["192.0.2.31"],
    )
    assert made.status_code == 200, made.text
    body = invoke(sim, "tenant-0001", token, "Get-InboundConnector", Identity="myorgemail").json()
    assert set(body) >= {k for k in expected if not k.startswith("_")}
    (record,) = body["value"]
    assert properties(record) == properties(real)  # same keys, same order
    forms = {k: value_form(record[k]) for k in properties(record)}
    assert forms == {k: value_form(real[k]) for k in properties(real)}
    assert record["SenderIPAddresses"] == ["192.0.2.31"]  # as typed: no /32
    assert record["SenderDomains"] == ["smtp:*;1"]
    assert record["TlsSenderCertificateName"] is None
    assert record["ConnectorSource"] == "AdminUI"
    assert record["ExchangeObjectId"] == record["Guid"]
    assert record["Identity"] == record["Id"] == "myorgemail"


@pytest.mark.parametrize(
    "example", fixture("new-inboundconnector-examples.json")["examples"], ids=lambda e: e["title"]
)
def test_microsofts_examples_are_stored_as_typed(sim: Simulator, example: dict[str, Any]) -> None:
    token = sim_token(sim, "tenant-0001", "write")
    made = invoke(sim, "tenant-0001", token, "New-InboundConnector", **example["parameters"])
    assert made.status_code == 200, made.text
    name = example["parameters"]["Name"]
    (record,) = invoke(sim, "tenant-0001", token, "Get-InboundConnector", Identity=name).json()[
        "value"
    ]
    assert {k: record[k] for k in example["stored"]} == example["stored"]


def new(sim: Simulator, **parameters: Any) -> Any:
    token = sim_token(sim, "tenant-0001", "write")
    base: dict[str, Any] = {"Name": "Probe", "SenderDomains": ["*"]}
    return invoke(sim, "tenant-0001", token, "New-InboundConnector", **{**base, **parameters})


@pytest.mark.parametrize(
    ("parameters", "stored"),
    [
        ({"SenderIPAddresses": ["203.0.113.7"]}, {"SenderIPAddresses": ["203.0.113.7"]}),
        ({"SenderIPAddresses": ["203.0.113.7/32"]}, {"SenderIPAddresses": ["203.0.113.7/32"]}),
        ({"SenderIPAddresses": ["198.51.100.9/24"]}, {"SenderIPAddresses": ["198.51.100.9/24"]}),
        (
            {"SenderIPAddresses": ["203.0.113.7", "203.0.113.7/32", "192.0.2.0/24"]},
            {"SenderIPAddresses": ["203.0.113.7", "192.0.2.0/24"]},  # one range, said twice
        ),
        ({"SenderDomains": "Contoso.com"}, {"SenderDomains": ["smtp:Contoso.com;1"]}),
        ({"SenderDomains": ["smtp:contoso.com;5"]}, {"SenderDomains": ["smtp:contoso.com;5"]}),
        (
            {"RequireTls": True, "TlsSenderCertificateName": "Mail.Contoso.com"},
            {"TlsSenderCertificateName": "Mail.Contoso.com"},
        ),
        ({"TlsSenderCertificateName": ""}, {"TlsSenderCertificateName": None}),
        ({"EFSkipIPs": ["192.0.2.1-192.0.2.9", "2001:db8::/64"]}, {}),
        ({"ConnectorType": "onpremises", "SenderIPAddresses": "192.0.2.1"}, {}),
        ({"ConnectorSource": "Default", "Enabled": "False"}, {"Enabled": False}),
        (
            {"AssociatedAcceptedDomains": ["Tenant-0001.example.com"]},
            {"AssociatedAcceptedDomains": ["Tenant-0001.example.com"]},
        ),
    ],
)
def test_values_are_stored_as_the_service_writes_them(
    sim: Simulator, parameters: dict[str, Any], stored: dict[str, Any]
) -> None:
    response = new(sim, **parameters)
    assert response.status_code == 200, response.text
    (record,) = response.json()["value"]
    for key in parameters:
        assert key in record
    assert {k: record[k] for k in stored} == stored
    assert record["ConnectorType"] in ("Partner", "OnPremises")
    assert record["ConnectorSource"] == "AdminUI"


@pytest.mark.parametrize(
    ("parameters", "text"),
    [
        ({"SenderIPAddresses": ["10.0.0.0/23"]}, '"10.0.0.0/23" isn\'t valid'),
        ({"SenderIPAddresses": ["10.0.0.1-10.0.0.9"]}, "isn't valid"),
        ({"SenderIPAddresses": ["2001:db8::1"]}, "single IPv4 address"),
        ({"SenderIPAddresses": ["10.0.0.256"]}, "isn't valid"),
        ({"SenderDomains": ["con toso.com"]}, "isn't a valid domain"),
        ({"SenderDomains": ["smtp:contoso.com;0"]}, "cost outside 1 to 100"),
        ({"SenderDomains": ["x400:c=US;1"]}, "isn't a valid domain"),
        ({"EFSkipIPs": ["192.0.2.9-192.0.2.1"]}, "isn't valid"),
        ({"Name": "x" * 65}, "1 to 64 characters"),
        ({"AssociatedAcceptedDomains": ["fabrikam.com"]}, "'fabrikam.com' couldn't be found"),
        ({"ConnectorType": "Internal"}, "TenantConnectorType"),
        ({"Enabled": "maybe"}, "System.Boolean"),
        ({"ConnectorType": "OnPremises"}, "must have SenderIPAddresses or TlsSender"),
        ({"TlsSenderCertificateName": "mail.contoso.com"}, "only when RequireTls is $true"),
        ({"RestrictDomainsToIPAddresses": True}, "RestrictDomainsToIPAddresses requires"),
        (
            {
                "RequireTls": True,
                "TlsSenderCertificateName": "mail.contoso.com",
                "SenderIPAddresses": ["192.0.2.1"],
                "RestrictDomainsToIPAddresses": True,
                "RestrictDomainsToCertificate": True,
            },
            "can't both be $true",
        ),
        ({"RestrictDomainsToCertificate": True}, "RestrictDomainsToCertificate requires"),
        ({"CloudServicesMailEnabled": True}, "only on an OnPremises connector"),
        (
            {
                "ConnectorType": "OnPremises",
                "SenderIPAddresses": ["192.0.2.1"],
                "CloudServicesMailEnabled": True,
                "TreatMessagesAsInternal": True,
            },
            "CloudServicesMailEnabled and TreatMessagesAsInternal can't both be $true",
        ),
    ],
)
def test_input_the_service_refuses(sim: Simulator, parameters: dict[str, Any], text: str) -> None:
    before = len(sim.tenant("tenant-0001").connectors)
    response = new(sim, **parameters)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Invalid Operation"
    assert text in error["details"][0]["message"]
    assert text in error["innererror"]["internalexception"]["message"]
    assert len(sim.tenant("tenant-0001").connectors) == before


def test_delta_removes_by_the_range_a_value_means(sim: Simulator) -> None:
    token = sim_token(sim, "tenant-0001", "write")
    assert new(sim, SenderIPAddresses=["203.0.113.7", "192.0.2.0/24"]).status_code == 200
    delta = {
        "@odata.type": "#Exchange.StringFieldDeltaUpdateData",
        "Add": ["198.51.100.0/24"],
        "Remove": ["203.0.113.7/32"],
    }
    response = invoke(
        sim, "tenant-0001", token, "Set-InboundConnector", Identity="Probe", SenderIPAddresses=delta
    )
    assert response.status_code == 200, response.text
    live = sim.tenant("tenant-0001").find_connector("Probe")
    assert live is not None
    assert live["SenderIPAddresses"] == ["192.0.2.0/24", "198.51.100.0/24"]


def test_bookkeeping_changes_on_every_write(sim_factory: Callable[..., Simulator]) -> None:
    from datetime import UTC, datetime, timedelta

    clock = [datetime(2026, 11, 30, 8, 0, tzinfo=UTC)]
    sim = sim_factory(tenants=1, clock=lambda: clock[0])
    token = sim_token(sim, "tenant-0001", "write")
    tenant = sim.tenant("tenant-0001")
    before = dict(tenant.connectors[1])
    clock[0] += timedelta(minutes=5)
    response = invoke(
        sim, "tenant-0001", token, "Set-InboundConnector", Identity="Partner TLS", Comment="x"
    )
    assert response.status_code == 200, response.text
    after = tenant.connectors[1]
    assert after["WhenChangedUTC"] == "2026-11-30T08:05:00.0000000Z"
    assert after["WhenChanged"] == "2026-11-30T08:05:00+00:00"
    assert after["DirectoryObjectVersion"] == before["DirectoryObjectVersion"] + 1
    assert after["OriginatingServer"] != before["OriginatingServer"]
    assert after["WhenCreatedUTC"] == before["WhenCreatedUTC"]
    assert after["NameHashGuid"] == before["NameHashGuid"]
    renamed = invoke(
        sim, "tenant-0001", token, "Set-InboundConnector", Identity="Partner TLS", Name="Partner"
    )
    assert renamed.status_code == 200, renamed.text
    assert after["Identity"] == after["Id"] == "Partner"
    assert after["DistinguishedName"].startswith("CN=Partner,CN=Transport Settings,")
    assert after["NameHashGuid"] != before["NameHashGuid"]
    assert after["Guid"] == after["ExchangeObjectId"] == before["Guid"]


def test_generated_tenants_keep_values_as_written(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0003")
    scanner = tenant.find_connector("Scanner relay")
    assert scanner is not None
    assert scanner["SenderIPAddresses"] == ["10.0.3.25"]  # the baseline's own spelling
    assert scanner["SenderDomains"] == ["smtp:tenant-0003.example.com;1"]
    approved = {c["Name"]: c for c in tenant.approved}
    assert approved["Scanner relay"]["SenderIPAddresses"] == ["10.0.3.25"]


def test_an_unchanged_tenant_in_the_real_shape_is_clean_with_no_warnings(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    """Records carry every bookkeeping property the module returns, and those move on a write
    that changes no setting: no finding, no warning, exit 0."""
    from driftguard.cli import main

    sim = sim_factory(tenants=4)
    untouched = [t.name for t in sim.state.tenants.values() if not t.audit]
    assert untouched
    base = sim.write_baseline(tmp_path / "baseline")
    for name in untouched:
        tenant = sim.tenant(name)
        token = sim_token(sim, name, "write")
        comment = tenant.connectors[0]["Comment"]
        kept = invoke(
            sim, name, token, "Set-InboundConnector", Identity="Hybrid relay", Comment=comment
        )
        assert kept.status_code == 200, kept.text
        assert tenant.connectors[0]["DirectoryObjectVersion"] > 1
    out = tmp_path / "report.json"
    argv = ["diff", "--baseline", str(base), "--format", "json", "--output", str(out)]
    assert main([*argv, *(a for name in untouched for a in ("--tenant", name))]) == 0
    report = json.loads(out.read_text("utf-8"))
    assert {t["tenant"] for t in report["tenants"]} == set(untouched)
    for entry in report["tenants"]:
        assert (entry["status"], entry["findings"], entry["warnings"]) == ("ok", [], [])
