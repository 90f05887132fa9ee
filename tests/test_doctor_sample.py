"""`driftguard doctor --save-sample`: a redacted sample of every read, which `diff --live` reads.

The tenant carries everything a sample can leak: connector names and comments, domains,
certificate names, IP addresses in each documented form, an audit record by a person from an
address with a port, message trace rows, a blocked connector and an alert.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main
from driftguard.sim import Simulator
from driftguard.sim import auditlog as sim_auditlog
from driftguard.sim.cmdlets import CmdletContext
from driftguard.sim.cmdlets.blocked import block
from driftguard.sim.graph_alerts import raise_alert

TENANT = "tenant-0001"
PERSON = "j.doe@tenant-0001.onmicrosoft.com"
PERSON_IP = "81.2.69.160"
SENDER_IP = "145.40.1.7"
HOST_BITS = "81.2.69.1/25"


def _prepared(sim: Simulator) -> dict[str, Any]:
    """Fill tenant-0001 with every kind of sensitive value; returns what must not survive."""
    tenant = sim.tenant(TENANT)
    now = datetime.now(UTC)
    relay = tenant.find_connector("Hybrid relay")
    assert relay is not None
    relay["SenderIPAddresses"] = ["10.0.1.0/24", "81.2.69.128/25", SENDER_IP]
    relay["Comment"] = "Relay for Fabrikam's on-prem Exchange in Lyon"
    ctx = CmdletContext(
        sim=sim.state, now=now - timedelta(minutes=10), user=PERSON, client_ip=f"{PERSON_IP}:50912"
    )
    sim_auditlog.append(
        tenant,
        ctx,
        operation="Set-InboundConnector",
        object_id="Hybrid relay",
        parameters={"Identity": "Hybrid relay", "SenderIPAddresses": [HOST_BITS, SENDER_IP]},
    )
    received = (now - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    tenant.message_trace.append(
        {
            "MessageTraceId": "0c6f3e52-8a4b-4d3c-9e1f-5a7b9c2d4e6f",
            "MessageId": "<quarterly-1234@tenant-0001.example.com>",
            "Received": received,
            "SenderAddress": "ceo@tenant-0001.example.com",
            "RecipientAddress": "finance@tenant-0001.onmicrosoft.com",
            "FromIP": SENDER_IP,
            "ToIP": None,
            "Subject": "Quarterly results, confidential",
            "Status": "Delivered",
            "Size": 48213,
        }
    )
    block(tenant, "Hybrid relay", now - timedelta(minutes=30))
    raise_alert(tenant, "Hybrid relay", now - timedelta(minutes=20), (PERSON_IP,))
    return {
        "tenant_id": tenant.tenant_id,
        "guids": [str(r["Guid"]) for r in tenant.connectors],
        "names": [str(r["Name"]) for r in tenant.connectors],
        "texts": ["Fabrikam", "Lyon", "Quarterly results", "ceo@", "finance@", "j.doe"],
        "domains": [
            "tenant-0001.example.com",
            "partner-0001.example.net",
            "tenant-0001.onmicrosoft.com",
        ],
        "ips": ["10.0.1.", "81.2.69.", SENDER_IP],
    }


@pytest.fixture
def prepared(sim_factory: Callable[..., Simulator], tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    sim = sim_factory(tenants=1)
    secrets = _prepared(sim)
    folder = sim.write_baseline(tmp_path / "baseline", [TENANT])
    secrets["key"] = (folder / ".credentials" / "read.pem").read_text(encoding="utf-8")
    return folder, secrets


def _save(folder: Path, target: Path, capsys: Any) -> tuple[int, str]:
    capsys.readouterr()
    code = main(
        ["doctor", "--baseline", str(folder), "--tenant", TENANT, "--save-sample", str(target)]
    )
    return code, capsys.readouterr().out


def test_sample_keeps_forms_and_replaces_every_original(
    prepared: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, secrets = prepared
    target = tmp_path / "sample.json"
    code, out = _save(folder, target, capsys)
    assert code == 0, out
    text = target.read_text(encoding="utf-8")
    lowered = text.lower()
    for value in [
        secrets["tenant_id"],
        *secrets["guids"],
        *secrets["names"],
        *secrets["texts"],
        *secrets["domains"],
        *secrets["ips"],
    ]:
        assert value.lower() not in lowered, value
    assert "PRIVATE KEY" not in text and "eyJ" not in text  # no key, no token
    key_body = secrets["key"].split("-----")[2].strip().splitlines()[0]
    assert key_body not in text

    doc = json.loads(text)
    connectors = doc["value"]
    assert len(connectors) == 2
    relay = next(c for c in connectors if len(c["SenderIPAddresses"]) == 3)
    # Property names, types and value forms survive.
    assert relay["Name"] == relay["Identity"] and re.fullmatch(r"connector-\d+", relay["Name"])
    assert re.fullmatch(r"comment-\d+", relay["Comment"])
    assert isinstance(relay["Enabled"], bool) and relay["ConnectorType"] == "OnPremises"
    assert relay["WhenChangedUTC"].endswith("0000000Z")  # timestamps kept as written
    single, aligned, upper_half = sorted(relay["SenderIPAddresses"], key=len)
    assert re.fullmatch(r"\d+\.\d+\.\d+\.7", single)
    assert aligned.endswith(".0/24")
    assert upper_half.endswith(".128/25")
    for domain in relay["SenderDomains"]:
        assert re.fullmatch(r"smtp:domain-\d+\.example;1", domain)
    assert re.fullmatch(r"mail\.domain-\d+\.example", relay["TlsSenderCertificateName"]) or (
        re.fullmatch(r"domain-\d+\.example", relay["TlsSenderCertificateName"])
    )

    (blocked,) = doc["@driftguard.blocked"]
    assert blocked["ConnectorName"] == relay["Name"]
    assert blocked["ConnectorId"] == relay["Guid"]
    assert blocked["TenantId"] == doc["@driftguard.sample"]["tenant_id"]

    (row,) = doc["@driftguard.audit"]
    audit = json.loads(row["AuditData"])  # still a JSON string, redacted inside
    assert audit["ObjectId"] == relay["Name"]
    assert re.fullmatch(r"user-\d+@domain-\d+\.example", audit["UserId"])
    assert re.fullmatch(r"\d+\.\d+\.\d+\.160:50912", audit["ClientIP"])
    assert row["UserIds"] == audit["UserId"]
    values = {p["Name"]: p["Value"] for p in audit["Parameters"]}
    assert set(values) == {"Identity", "SenderIPAddresses"}
    assert values["Identity"] == relay["Name"]
    assert re.fullmatch(r"\d+\.\d+\.\d+\.1/25,\d+\.\d+\.\d+\.7", values["SenderIPAddresses"])

    (trace,) = doc["@driftguard.message_trace"]
    assert trace["FromIP"] == single
    assert trace["Size"] == 48213 and trace["Status"] == "Delivered"
    assert re.fullmatch(r"text-\d+", trace["Subject"])

    (alert,) = doc["@driftguard.alerts"]
    assert alert["title"] == "Suspicious connector activity"


def test_diff_reads_the_sample_back(
    prepared: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _secrets = prepared
    target = tmp_path / "sample.json"
    assert _save(folder, target, capsys)[0] == 0
    capsys.readouterr()
    code = main(
        [
            "diff",
            "--baseline",
            str(folder),
            "--tenant",
            TENANT,
            "--live",
            str(target),
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    (tenant,) = report["tenants"]
    assert tenant["status"] == "drift" and code == 2
    # Renamed by the redaction: the baseline's connectors are missing, the sample's unknown.
    assert {f["kind"] for f in tenant["findings"]} == {"missing", "unknown"}
    assert len([f for f in tenant["findings"] if f["kind"] == "unknown"]) == 2


def test_same_sample_twice_is_identical_but_for_nothing(
    prepared: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _secrets = prepared
    first, second = tmp_path / "one.json", tmp_path / "two.json"
    assert _save(folder, first, capsys)[0] == 0
    assert _save(folder, second, capsys)[0] == 0
    one, two = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    assert one["value"] == two["value"]


def test_no_sample_when_the_connectors_could_not_be_read(
    prepared: tuple[Path, dict[str, Any]],
    sim_factory: Callable[..., Simulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, _secrets = prepared
    tenant_yaml = folder / TENANT / "tenant.yaml"
    tenant_yaml.write_text(
        tenant_yaml.read_text(encoding="utf-8").replace("cloud: global", "cloud: gcc-high"),
        encoding="utf-8",
    )
    target = tmp_path / "sample.json"
    capsys.readouterr()
    code = main(
        ["doctor", "--baseline", str(folder), "--tenant", TENANT, "--save-sample", str(target)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert not target.exists()
    assert "no sample written" in err


def test_save_sample_needs_one_tenant(
    sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_factory(tenants=2)
    folder = sim.write_baseline(tmp_path / "baseline")
    code = main(["doctor", "--baseline", str(folder), "--save-sample", str(tmp_path / "s.json")])
    assert code == 1
    assert "--save-sample writes one tenant's sample" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()
