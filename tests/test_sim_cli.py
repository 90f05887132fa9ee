"""`driftguard sim serve` as a subprocess, `driftguard sim reset`, and the in-process demo."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msal
import pytest
import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from driftguard.cli import main
from driftguard.sim.inprocess import DEMO_HOST, demo_environment, load_demo_state
from simulator import pinned_session, sim_process

SCOPE = ["https://outlook.office365.com/.default"]


def test_serve_prints_one_json_line_and_serves(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline"
    with sim_process(
        "--port", "0", "--tenants", "2", "--write-baseline", str(baseline), "--latency-ms", "1"
    ) as (process, info):
        assert set(info) >= {"url", "ca", "port", "tenants"}
        assert info["tenants"] == 2
        assert info["url"] == f"https://localhost:{info['port']}"
        config = json.loads(json.dumps(info))
        tenant_yaml = (baseline / "tenant-0001" / "tenant.yaml").read_text()
        assert f"localhost:{info['port']}" in tenant_yaml
        assert "secret" not in tenant_yaml
        endpoints = yaml.safe_load(tenant_yaml)["endpoints"]
        host = f"localhost:{info['port']}"  # Entra ID, Exchange and Graph: all the simulator
        assert [endpoints[k] for k in ("authority_host", "exchange_host", "graph_host")] == [
            host
        ] * 3
        tenant_id = tenant_yaml.split("tenant_id: ")[1].split()[0]
        discovery = pinned_session(config["ca"]).get(
            f"{info['url']}/{tenant_id}/v2.0/.well-known/openid-configuration", timeout=10
        )
        assert discovery.status_code == 200
        assert discovery.json()["token_endpoint"].startswith(info["url"])
        # The written CA and credentials work: a certificate token from the baseline's files.
        pem = (baseline / ".credentials" / "read.pem").read_bytes()
        der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
        client_id = tenant_yaml.split("client_id: ")[1].split()[0]
        app = msal.ConfidentialClientApplication(
            client_id,
            client_credential={
                "private_key": pem.decode(),
                "thumbprint": hashlib.sha1(der).hexdigest(),  # noqa: S324 - x5t is SHA-1
            },
            authority=f"{info['url']}/{tenant_id}",
            instance_discovery=False,
            http_client=pinned_session(baseline / "simulator-ca.pem"),
        )
        assert "access_token" in app.acquire_token_for_client(SCOPE)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert main(["validate", "--baseline", str(baseline)]) == 0


@pytest.mark.parametrize("fault", ["nonsense", "throttle=2", "throttle=x"])
def test_serve_refuses_bad_faults(fault: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "serve", "--fault", fault]) == 1
    assert "fault" in capsys.readouterr().err


def _token(env: Any, kind: str) -> str:
    auth = env.tenant.auth if kind == "read" else env.tenant.auth["write"]
    pem = Path(auth["certificate_path"]).read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    app = msal.ConfidentialClientApplication(
        auth["client_id"],
        client_credential={
            "private_key": pem.decode(),
            "thumbprint": hashlib.sha1(der).hexdigest(),  # noqa: S324 - x5t is SHA-1
        },
        authority=f"https://{env.tenant.endpoints.authority_host}/{env.tenant.tenant_id}",
        instance_discovery=False,
        http_client=env.session,
    )
    result = app.acquire_token_for_client(SCOPE)
    assert "access_token" in result, result
    token: str = result["access_token"]
    return token


def _invoke(env: Any, token: str, cmdlet: str, **params: Any) -> requests.Response:
    response: requests.Response = env.session.post(
        f"https://{DEMO_HOST}/adminapi/beta/{env.tenant.tenant_id}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response


def test_demo_in_process_persists_until_reset(capsys: pytest.CaptureFixture[str]) -> None:
    env = demo_environment()
    assert env.tenant.endpoints.exchange_host == DEMO_HOST
    assert "secret" not in json.dumps(dict(env.tenant.auth))
    names = [
        r["Name"] for r in _invoke(env, _token(env, "read"), "Get-InboundConnector").json()["value"]
    ]
    assert "Inbound relay (temp)" in names
    write = _token(env, "write")
    response = _invoke(
        env, write, "Set-InboundConnector", Identity="Inbound relay (temp)", Enabled=False
    )
    assert response.status_code == 200, response.text

    again = demo_environment()  # a later command sees the change
    rogue = again.sim.tenants["demo"].find_connector("Inbound relay (temp)")
    assert rogue is not None and rogue["Enabled"] is False
    assert again.sim.tenants["demo"].audit[-1]["Operation"] == "Set-InboundConnector"

    assert main(["sim", "reset"]) == 0
    assert "reset" in capsys.readouterr().err
    fresh, _path = load_demo_state()
    rogue = fresh.tenants["demo"].find_connector("Inbound relay (temp)")
    assert rogue is not None and rogue["Enabled"] is True


def test_demo_story_evidence() -> None:
    from driftguard.sim.demo import MOVED_FIELDS
    from driftguard.sim.records import template
    from driftguard.sim.scenarios import build
    from driftguard.sim.state import SimState

    made = datetime(2027, 8, 9, 9, 30, tzinfo=UTC)  # a fixed clock, a year after the story
    demo = build(demo=True, sim=SimState(clock=lambda: made)).tenants["demo"]
    live = json.loads((Path(__file__).parents[1] / "src/driftguard/demo/live.json").read_text())[
        "value"
    ]

    def undated(records: list[dict[str, Any]], keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k: r[k] for k in shape if k not in MOVED_FIELDS}
            for r, shape in zip(records, keys, strict=True)
        ]

    # The packaged records' values, as they are, plus the service's bookkeeping properties.
    assert undated(demo.connectors, live) == undated(live, live)
    for record in demo.connectors:
        assert set(template()) <= set(record)
        assert record["ExchangeObjectId"] == record["Guid"]
        assert record["DistinguishedName"].startswith(f"CN={record['Name']},")
    rogue_events = [a for a in demo.audit if a["ObjectId"] == "Inbound relay (temp)"]
    assert rogue_events and rogue_events[0]["Operation"] == "New-InboundConnector"
    assert rogue_events[0]["UserId"] not in demo.admins
    assert rogue_events[0]["ClientIP"].startswith("203.0.113.")
    assert rogue_events[0]["CreationTime"] == "2027-08-08T02:38:12"  # the day before, 02:38
    rogue = demo.find_connector("Inbound relay (temp)")
    assert rogue is not None and rogue["WhenCreatedUTC"].startswith("2027-08-08T02:38:12")
    assert demo.blocked and demo.blocked[0]["ConnectorName"] == "Hybrid relay"
    assert demo.alerts[0]["title"] == "Suspicious connector activity"
    spike = [r for r in demo.message_trace if r["FromIP"].startswith("203.0.113.")]
    assert spike
    widened = [a for a in demo.audit if a["ObjectId"] == "Hybrid relay"][-1]["CreationTime"]
    assert min(r["Received"] for r in spike) > widened
    assert max(r["Received"] for r in demo.message_trace) <= "2027-08-09T09:30:00"


def test_demo_scenario_is_reproducible() -> None:
    from driftguard.sim.scenarios import build
    from driftguard.sim.state import SimState

    def made() -> datetime:
        return datetime(2027, 8, 9, 9, 30, tzinfo=UTC)

    first = build(demo=True, sim=SimState(clock=made)).tenants["demo"]
    second = build(demo=True, sim=SimState(clock=made)).tenants["demo"]
    assert first.audit == second.audit
    assert first.message_trace == second.message_trace
    assert first.blocked == second.blocked
    assert first.connectors == second.connectors


def test_in_process_reset_fault_is_a_connection_error() -> None:
    env = demo_environment()
    token = _token(env, "read")
    env.sim.tenants["demo"].faults = {"reset": 1.0}
    with pytest.raises(requests.ConnectionError):
        _invoke(env, token, "Get-InboundConnector")


def test_serve_control_routes_for_out_of_process_tests(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline"
    with sim_process(
        "--tenants", "1", "--demo", "--fault", "foreign-redirect", "--write-baseline", str(baseline)
    ) as (_process, info):
        assert info["tenants"] == 2
        assert (baseline / "demo" / "inbound").is_dir()
        session = pinned_session(info["ca"])
        url = info["url"]
        demo_id = "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13"
        invoke_url = f"{url}/adminapi/beta/{demo_id}/InvokeCommand"
        body = {"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": {}}}
        redirect = session.post(invoke_url, json=body, allow_redirects=False, timeout=10)
        assert redirect.status_code == 307
        # A well-behaved client follows without the token; the simulator records it.
        session.post(redirect.headers["Location"], json=body, timeout=10)
        log = session.get(f"{url}/_sim/requests?endpoint=foreign", timeout=10).json()["value"]
        assert [(r["authorization"], r["host"]) for r in log] == [
            (False, f"127.0.0.1:{info['port']}")
        ]
        # Faults can be changed while running, per tenant.
        changed = session.post(
            f"{url}/_sim/knobs", json={"tenant": "demo", "faults": {"unavailable": 1}}, timeout=10
        )
        assert changed.status_code == 200
        assert session.post(invoke_url, json=body, timeout=10).status_code == 503
        bad = session.post(f"{url}/_sim/knobs", json={"faults": {"nope": 1}}, timeout=10)
        assert bad.status_code == 400
        state = session.get(f"{url}/_sim/tenants/demo", timeout=10).json()
        assert len(state["connectors"]) == 4
        assert state["blocked"][0]["ConnectorName"] == "Hybrid relay"


def test_serve_reports_unusable_certificates_and_ports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sim_tls: tuple[Path, Path, bytes]
) -> None:
    missing = tmp_path / "missing.pem"
    assert main(["sim", "serve", "--cert", str(missing), "--key", str(missing)]) == 1
    assert "missing.pem" in capsys.readouterr().err
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    assert main(["sim", "serve", "--cert", str(garbage), "--key", str(garbage)]) == 1
    assert "--cert" in capsys.readouterr().err
    assert main(["sim", "serve", "--cert", str(sim_tls[0])]) == 1
    assert "go together" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sim", "serve", "--port", str(port)]) == 1
        assert f"port {port}" in capsys.readouterr().err
