"""SARIF results and JUnit cases point at the baseline file and line, whatever --baseline names.

End to end through ``driftguard diff`` with a baseline folder that is not ``./baseline``: a
drifted property points at its line, an unknown connector and a tenant that could not be read
point at the tenant's own ``tenant.yaml``, relative to the working directory (the repository).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main
from driftkit import HYBRID, PARTNER, wire, write_baseline, write_live
from test_report_formats import check_junit_shape, sarif_validator

BASELINE = "config/exchange"
ROGUE = {"Name": "Rogue relay", "ConnectorType": "OnPremises", "SenderDomains": ["*"]}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose baseline lives in config/exchange, the working directory of the run."""
    monkeypatch.chdir(tmp_path)
    write_baseline(tmp_path / BASELINE, [HYBRID, PARTNER])
    return tmp_path


def _run(repo: Path, fmt: str, records: list[dict[str, Any]] | None) -> str:
    live = repo / "live.json"
    if records is None:
        live.write_text('{"value": [', "utf-8")  # truncated: the tenant is in error
    else:
        write_live(live, records)
    out = repo / f"report.{fmt}"
    argv = ["diff", "--baseline", BASELINE, "--live", str(live), "--format", fmt]
    assert main([*argv, "--output", str(out)]) in (1, 2)
    return out.read_text("utf-8")


def _sarif_places(text: str) -> list[tuple[str, str, int]]:
    document = json.loads(text)
    assert not list(sarif_validator().iter_errors(document))
    places = []
    for result in document["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        uri = physical["artifactLocation"]["uri"]
        places.append((result["ruleId"], uri, physical["region"]["startLine"]))
    return places


def test_sarif_points_at_the_baseline_folder_given(repo: Path) -> None:
    changed = wire(HYBRID, SenderIPAddresses=["198.51.100.0/24", "203.0.113.0/24"])
    places = _sarif_places(_run(repo, "sarif", [changed, wire(PARTNER), wire(ROGUE)]))
    tenant_yaml = f"{BASELINE}/contoso/tenant.yaml"
    unknown = [p for p in places if p[0] == "DG-UNKNOWN"]
    assert unknown == [("DG-UNKNOWN", tenant_yaml, 1)]
    [(_, uri, line)] = [p for p in places if p[0] == "DG-CHANGED"]
    assert uri == f"{BASELINE}/contoso/inbound/c00.yaml"
    text = (repo / uri).read_text("utf-8").splitlines()
    assert text[line - 1].startswith("SenderIPAddresses:")


def test_sarif_unknown_connector_alone_points_at_its_tenant_yaml(repo: Path) -> None:
    # no finding has a baseline file here, so nothing to derive the folder from
    places = _sarif_places(_run(repo, "sarif", [wire(HYBRID), wire(PARTNER), wire(ROGUE)]))
    assert places == [("DG-UNKNOWN", f"{BASELINE}/contoso/tenant.yaml", 1)]


def test_sarif_tenant_error_points_at_its_tenant_yaml(repo: Path) -> None:
    places = _sarif_places(_run(repo, "sarif", None))
    assert places == [("DG-ERROR", f"{BASELINE}/contoso/tenant.yaml", 1)]


def test_junit_cases_carry_file_and_line(repo: Path) -> None:
    changed = wire(HYBRID, SenderIPAddresses=["198.51.100.0/24", "203.0.113.0/24"])
    root = check_junit_shape(_run(repo, "junit", [changed, wire(PARTNER), wire(ROGUE)]))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"(tenant)", "Hybrid relay", "Rogue relay"}
    for case in cases.values():
        file, line = case.get("file"), int(case.get("line") or 0)
        assert file and not Path(file).is_absolute() and (repo / file).is_file(), file
        assert line >= 1
    assert cases["(tenant)"].get("file") == f"{BASELINE}/contoso/tenant.yaml"
    assert cases["Rogue relay"].get("file") == f"{BASELINE}/contoso/tenant.yaml"
    hybrid = cases["Hybrid relay"]
    assert hybrid.get("file") == f"{BASELINE}/contoso/inbound/c00.yaml"
    lines = (repo / str(hybrid.get("file"))).read_text("utf-8").splitlines()
    assert lines[int(hybrid.get("line") or 0) - 1].startswith("SenderIPAddresses:")


def test_junit_tenant_error_points_at_its_tenant_yaml(repo: Path) -> None:
    root = ET.fromstring(_run(repo, "junit", None))  # noqa: S314 - our own output
    [case] = root.iter("testcase")
    assert case.find("error") is not None
    assert (case.get("file"), case.get("line")) == (f"{BASELINE}/contoso/tenant.yaml", "1")


def test_json_report_keeps_the_tenant_file_for_a_later_render(repo: Path) -> None:
    document = json.loads(_run(repo, "json", None))
    assert document["tenants"][0]["location"] == {
        "path": f"{BASELINE}/contoso/tenant.yaml",
        "line": 1,
    }
    (repo / "report.json").write_text(json.dumps(document), "utf-8")
    out = repo / "again.sarif"
    argv = ["report", "render", "report.json", "--format", "sarif", "--output", str(out)]
    assert main(argv) == 1
    places = _sarif_places(out.read_text("utf-8"))
    assert places == [("DG-ERROR", f"{BASELINE}/contoso/tenant.yaml", 1)]
