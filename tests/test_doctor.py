"""`driftguard doctor` against the HTTPS simulator: real msal, requests, TLS and InvokeCommand.

Each check has a passing run (a healthy tenant) and a failing one made the way the service fails:
a missing role (403), no Exchange.ManageAsApp (401), the wrong cloud (audience), a regional
redirect (followed) or one to a foreign host (refused), a certificate Entra does not know, Graph
refusing alerts, unreadable audit records.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from driftguard.cli import main
from driftguard.doctor import render
from driftguard.sim import Simulator, graph_alerts
from driftguard.sim.tls import make_app_certificate

TENANT = "tenant-0001"


def _baseline(sim: Simulator, root: Path) -> Path:
    return sim.write_baseline(root / "baseline", [TENANT])


def _doctor(capsys: Any, folder: Path, *extra: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run doctor as JSON; (exit code, checks by name)."""
    capsys.readouterr()
    code = main(
        [
            "doctor",
            "--baseline",
            str(folder),
            "--tenant",
            TENANT,
            "--format",
            "json",
            "--deadline",
            "10",
            *extra,
        ]
    )
    out = capsys.readouterr().out
    doc = json.loads(out)
    jsonschema.validate(doc, render.schema())
    (tenant,) = doc["tenants"]
    checks = {c["check"]: c for c in tenant["checks"]}
    assert tenant["status"] == ("fail" if code else tenant["status"])
    return code, checks


def _status(checks: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: c["status"] for name, c in checks.items()}


def _edit_tenant_yaml(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / TENANT / "tenant.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.fixture
def one(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(tenants=1)


def test_a_healthy_tenant_passes_every_check(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = _doctor(capsys, _baseline(one, tmp_path))
    assert code == 0
    statuses = _status(checks)
    assert all(s == "ok" for s in statuses.values()), statuses
    assert {
        "endpoints",
        "read app credential",
        "read app sign-in",
        "read app audience",
        "read app permission",
        "read app role",
        "read: connectors",
        "read: blocked connectors",
        "read: audit log",
        "read: message trace",
        "read: alerts",
        "wire: records",
        "wire: paging",
        "write app role",
        "write app: admin API",
    } <= set(statuses)
    assert "Global Reader" in checks["read app role"]["detail"]
    assert "Exchange Administrator" in checks["write app role"]["detail"]
    assert "2 connectors" in checks["read: connectors"]["detail"]


def test_text_output_gives_one_line_per_check_and_a_fix_under_failures(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    read_app = one.apps[0]
    one.tenant(TENANT).grants[read_app.client_id].role = "none"
    capsys.readouterr()
    code = main(["doctor", "--baseline", str(folder), "--tenant", TENANT, "--deadline", "10"])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    role = next(i for i, line in enumerate(lines) if "read app role" in line)
    assert lines[role].split()[0] == "fail"
    assert "fix: assign the app the Entra role Global Reader" in lines[role + 1]
    assert lines[-1].strip().startswith("=> ")
    assert "failed" in lines[-1]


def test_missing_role_is_a_403_that_names_the_role(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    one.tenant(TENANT).grants[one.apps[0].client_id].role = "none"
    code, checks = _doctor(capsys, folder)
    assert code == 1
    assert checks["read app permission"]["status"] == "ok"
    role = checks["read app role"]
    assert role["status"] == "fail"
    assert "Global Reader" in role["detail"] and "403" in role["detail"]
    assert "View-Only Organization Management" in role["hint"]
    for source in ("connectors", "blocked connectors", "audit log", "message trace"):
        assert checks[f"read: {source}"]["status"] == "fail", source
        assert "403" in checks[f"read: {source}"]["detail"]
    assert checks["wire: records"]["status"] == "skipped"


def test_write_app_without_exchange_administrator_fails(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    one.tenant(TENANT).grants[one.apps[1].client_id].role = "read"
    code, checks = _doctor(capsys, folder)
    assert code == 1
    assert checks["read app role"]["status"] == "ok"
    write_role = checks["write app role"]
    assert write_role["status"] == "fail"
    assert "Exchange Administrator" in write_role["detail"]
    assert "Exchange Administrator" in write_role["hint"]


def test_no_exchange_manage_as_app_is_a_401(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    one.tenant(TENANT).grants[one.apps[0].client_id].manage_as_app = False
    code, checks = _doctor(capsys, folder)
    assert code == 1
    permission = checks["read app permission"]
    assert permission["status"] == "fail"
    assert "Exchange.ManageAsApp" in permission["detail"] and "401" in permission["detail"]
    assert "admin consent" in permission["hint"]
    assert checks["read: connectors"]["status"] == "fail"
    assert "401" in checks["read: connectors"]["detail"]
    assert checks["write app permission"]["status"] == "ok"


def test_wrong_cloud_asks_for_the_wrong_audience(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    _edit_tenant_yaml(folder, lambda data: data.update(cloud="gcc-high"))
    code, checks = _doctor(capsys, folder)
    assert code == 1
    assert "https://outlook.office365.us" in checks["endpoints"]["detail"]
    sign_in = checks["read app sign-in"]
    assert sign_in["status"] == "fail"
    assert "500011" in sign_in["detail"]
    assert "check the cloud" in sign_in["hint"]
    assert "read: connectors" not in checks  # no token, no read


def test_regional_redirect_is_followed_with_a_note(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    one.tenant(TENANT).faults = {"regional-redirect": 1.0}
    code, checks = _doctor(capsys, folder)
    assert code == 0, _status(checks)
    region = checks["wire: region"]
    assert region["status"] == "ok"
    assert region["detail"] == "the admin API redirected to localhost; followed"


def test_redirect_to_a_foreign_host_fails_and_the_token_stays_home(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    one.tenant(TENANT).faults = {"foreign-redirect": 1.0}
    code, checks = _doctor(capsys, folder)
    assert code == 1
    read = checks["read: connectors"]
    assert read["status"] == "fail"
    assert "redirected to 127.0.0.1" in read["detail"] and "not followed" in read["detail"]
    region = checks["wire: region"]
    assert region["status"] == "fail" and "127.0.0.1" in region["detail"]
    assert all(not r.authorization for r in one.foreign_requests())


def test_certificate_entra_does_not_know_fails_sign_in(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    stranger = make_app_certificate("not registered")
    (tmp_path / "other.pem").write_bytes(stranger.combined_pem)

    def use_other(data: dict[str, Any]) -> None:
        data["auth"]["certificate_path"] = str(tmp_path / "other.pem")

    _edit_tenant_yaml(folder, use_other)
    code, checks = _doctor(capsys, folder)
    assert code == 1
    assert checks["read app credential"]["status"] == "ok"
    sign_in = checks["read app sign-in"]
    assert sign_in["status"] == "fail"
    assert "700027" in sign_in["detail"] + (sign_in["hint"] or "")
    assert checks["write app sign-in"]["status"] == "ok"


def test_unreadable_certificate_file_fails_with_the_path_named(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    (tmp_path / "broken.pem").write_text("not a certificate\n", encoding="utf-8")
    _edit_tenant_yaml(
        folder, lambda data: data["auth"].update(certificate_path=str(tmp_path / "broken.pem"))
    )
    code, checks = _doctor(capsys, folder)
    assert code == 1
    assert checks["read app sign-in"]["status"] == "fail"
    assert "broken.pem" in checks["read app sign-in"]["detail"]


def test_no_credential_configured_fails_the_credential_check(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    _edit_tenant_yaml(folder, lambda data: data.update(auth={"client_id": one.apps[0].client_id}))
    code, checks = _doctor(capsys, folder)
    assert code == 1
    credential = checks["read app credential"]
    assert credential["status"] == "fail"
    assert "certificate_path_env" in credential["hint"]
    assert checks["write app"]["status"] == "skipped"


@contextmanager
def _graph_refuses(tenant_id: str) -> Iterator[None]:
    graph_alerts.REFUSE.add(tenant_id)
    try:
        yield
    finally:
        graph_alerts.REFUSE.discard(tenant_id)


def test_graph_refusing_alerts_names_the_permission(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    with _graph_refuses(one.tenant(TENANT).tenant_id):
        code, checks = _doctor(capsys, folder)
    assert code == 1
    alerts = checks["read: alerts"]
    assert alerts["status"] == "fail" and "403" in alerts["detail"]
    assert "SecurityAlert.Read.All" in alerts["hint"]
    assert checks["read: connectors"]["status"] == "ok"


def test_unreadable_audit_record_fails_the_audit_check(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    when = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    one.tenant(TENANT).audit.append(
        {
            "Id": "5f0c9a3e-1d2b-4c8e-9f7a-2b6d4e8c1a3f",
            "CreationTime": when,
            "UserId": "admin@tenant-0001.onmicrosoft.com",
            "Operation": "Set-InboundConnector",
            "RecordType": 1,
            "ResultStatus": "True",
            "ObjectId": "Hybrid relay",
            "Parameters": 7,
        }
    )
    code, checks = _doctor(capsys, folder)
    audit = checks["read: audit log"]
    assert code == 1
    assert audit["status"] == "fail" and "cannot be read" in audit["detail"]


def test_service_warnings_and_paging_fail_the_read_and_show_on_the_wire(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    one.tenant(TENANT).faults = {"warnings": 1.0}
    code, checks = _doctor(capsys, folder)
    assert code == 1
    assert checks["read: connectors"]["status"] == "fail"
    assert checks["wire: warnings"]["status"] == "warn"
    assert "may be incomplete" in checks["wire: warnings"]["detail"]
    one.tenant(TENANT).faults = {"nextlink": 1.0}
    code, checks = _doctor(capsys, folder)
    assert code == 1
    assert checks["read: connectors"]["status"] == "fail"
    assert checks["wire: paging"]["status"] == "warn"
    assert "@odata.nextLink" in checks["wire: paging"]["detail"]


def test_the_demo_tenant_passes(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(["doctor", "--tenant", "demo", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, render.schema())
    assert code == 0
    (tenant,) = doc["tenants"]
    statuses = {c["check"]: c["status"] for c in tenant["checks"]}
    assert "fail" not in statuses.values()
    assert statuses["read: connectors"] == statuses["read: alerts"] == "ok"
    assert statuses["write app: admin API"] == "ok"


def test_an_unwritable_demo_folder_fails_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    capsys.readouterr()
    code = main(["doctor", "--tenant", "demo"])
    out = capsys.readouterr().out
    assert code == 1
    assert "demo tenant" in out and "fix: set XDG_DATA_HOME to a writable folder" in out


def test_china_cloud_skips_the_sources_it_does_not_have(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one.tenant(TENANT).cloud = "china"
    code, checks = _doctor(capsys, _baseline(one, tmp_path))
    assert code == 0, _status(checks)
    assert "https://partner.outlook.cn" in checks["endpoints"]["detail"]
    assert checks["read: audit log"]["status"] == "skipped"
    assert checks["read: alerts"]["status"] == "skipped"
    assert checks["read: connectors"]["status"] == "ok"


def test_an_unknown_cloud_fails_the_endpoints_check_before_any_request(
    one: Simulator, tmp_path: Path
) -> None:
    from driftguard.baseline.load import load_baseline
    from driftguard.doctor.probe import Options, examine

    config = load_baseline(_baseline(one, tmp_path), [TENANT]).tenants[TENANT].config
    before = len(one.requests_log)

    def no_sessions(_endpoints: Any) -> Any:
        raise AssertionError("no session may be opened")

    result = examine(
        dataclasses.replace(config, cloud="mars"), no_sessions, Options(now=datetime.now(UTC))
    )
    (check,) = result.checks
    assert check.name == "endpoints" and check.status.value == "fail"
    assert "unknown cloud 'mars'" in check.detail and "global" in check.hint
    assert len(one.requests_log) == before


@pytest.mark.parametrize("right", [True, False])
def test_secrets_and_tokens_never_reach_the_output(
    one: Simulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    right: bool,
) -> None:
    folder = _baseline(one, tmp_path)
    read_app = one.apps[0]
    secret = read_app.secret if right else "Wr0ng~secret~value~1234567890"
    assert secret
    monkeypatch.setenv("DG_READ_SECRET", secret)
    _edit_tenant_yaml(
        folder,
        lambda data: data.update(
            auth={"client_id": read_app.client_id, "client_secret_env": "DG_READ_SECRET"}
        ),
    )
    sample = tmp_path / "sample.json"
    capsys.readouterr()
    code = main(
        ["doctor", "--baseline", str(folder), "--tenant", TENANT, "--save-sample", str(sample)]
    )
    captured = capsys.readouterr()
    written = sample.read_text(encoding="utf-8") if sample.exists() else ""
    for text in (captured.out, captured.err, written):
        assert secret not in text
        assert "eyJ" not in text  # no JWT, ours or the service's
    if right:
        assert code == 0 and "secret credential of app" in captured.out
    else:
        assert code == 1 and "7000215" in captured.out and not sample.exists()


def test_graph_permissions_name_each_missing_source_and_its_licence(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)
    grant = one.tenant(TENANT).grants[one.apps[0].client_id]
    code, checks = _doctor(capsys, folder)
    assert checks["read: Graph permissions"]["status"] == "ok"
    assert "ThreatHunting.Read.All" in checks["read: Graph permissions"]["detail"]
    assert "Graph write app" not in checks  # no auth.graph_write: nothing to check
    grant.graph_roles = tuple(
        r
        for r in grant.graph_roles
        if r not in ("ThreatHunting.Read.All", "IdentityRiskyUser.Read.All")
    )
    code, checks = _doctor(capsys, folder)
    graph = checks["read: Graph permissions"]
    assert code == 0 and graph["status"] == "warn"  # diff needs none of them
    assert (
        "hunting needs ThreatHunting.Read.All (and Defender for Office 365 Plan 2)"
        in graph["detail"]
    )
    assert "risky users needs IdentityRiskyUser.Read.All (and Entra ID P2)" in graph["detail"]
    assert "AuditLog.Read.All" not in graph["detail"]
    assert "--skip" in graph["hint"]


def test_a_graph_write_app_without_the_revocation_permission_fails(
    one: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _baseline(one, tmp_path)

    def add_graph_write(data: dict[str, Any]) -> None:
        data["auth"]["graph_write"] = dict(data["auth"]["write"])

    _edit_tenant_yaml(folder, add_graph_write)
    code, checks = _doctor(capsys, folder)
    assert code == 0 and checks["Graph write app"]["status"] == "ok"
    grant = one.tenant(TENANT).grants[one.apps[1].client_id]
    grant.graph_roles = tuple(r for r in grant.graph_roles if r != "User.RevokeSessions.All")
    code, checks = _doctor(capsys, folder)
    assert code == 1
    write = checks["Graph write app"]
    assert write["status"] == "fail"
    assert "revoke sign-in sessions needs User.RevokeSessions.All" in write["detail"]
