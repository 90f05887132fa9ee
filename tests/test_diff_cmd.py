"""`driftguard diff` end to end: the demo, --live files, formats, exit codes, terminal safety."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main
from driftguard.cli._output import emit_report
from driftguard.errors import DriftguardError
from driftguard.model import Report
from driftkit import HYBRID, PARTNER, assert_valid_report, wire, write_baseline, write_live


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder: no ./baseline, so the demo must come from the package."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_demo_runs_with_no_baseline_folder(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not (workdir / "baseline").exists()
    assert main(["diff", "--tenant", "demo"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("demo  DRIFT  3 findings: 3 critical\n")
    assert "Inbound relay (temp)" in out and "+203.0.113.0/24" in out
    assert "TreatMessagesAsInternal  false -> true" in out
    assert "Fabrikam partner TLS" not in out  # its unmodelled property is pinned: no warning
    assert "\x1b" not in out  # not a terminal: no colour
    assert out.rstrip().endswith("exit code 2")


def test_demo_json_validates(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--tenant", "demo", "--format", "json"]) == 2
    data = assert_valid_report(capsys.readouterr().out)
    assert data["summary"]["critical"] == 3 and data["summary"]["warnings"] == 0
    [tenant] = data["tenants"]
    assert tenant["status"] == "drift" and tenant["error"] is None
    ips = next(f for f in tenant["findings"] if f["field"] == "SenderIPAddresses")
    assert ips["added"] == ["203.0.113.0/24"] and ips["baseline"] == ["198.51.100.0/24"]
    assert ips["location"]["path"].endswith("hybrid-relay.yaml") and ips["events"] == []


def test_output_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = workdir / "reports" / "demo.json"
    assert main(["diff", "--tenant", "demo", "--format", "json", "--output", str(target)]) == 2
    assert capsys.readouterr().out == ""
    assert_valid_report(target.read_text("utf-8"))


def test_other_formats_go_through_the_renderer_seam(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", "--tenant", "demo", "--format", "markdown"]) == 2
    out = capsys.readouterr().out
    assert "Hybrid relay" in out and "TreatMessagesAsInternal" in out


def test_unknown_renderer_is_a_clear_error() -> None:
    report = Report(generated_at=datetime.now(UTC), tenants=())
    with pytest.raises(DriftguardError, match="the nosuch report format is not available"):
        emit_report(report, "nosuch", None)


def _contoso(workdir: Path) -> Path:
    return write_baseline(workdir / "baseline", [HYBRID, PARTNER])


def test_clean_live_file_exits_0(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _contoso(workdir)
    live = write_live(workdir / "live.json", [wire(PARTNER), wire(HYBRID)])
    assert main(["diff", "--live", str(live), "--format", "json"]) == 0
    data = assert_valid_report(capsys.readouterr().out)
    assert data["tenants"][0]["status"] == "ok" and data["summary"]["findings"] == 0
    assert main(["diff", "--live", str(live)]) == 0
    assert "contoso  OK" in capsys.readouterr().out


def test_live_with_several_tenants_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _contoso(workdir)
    write_baseline(workdir / "baseline", [HYBRID], tenant="fabrikam")
    live = write_live(workdir / "live.json", [wire(HYBRID)])
    assert main(["diff", "--live", str(live)]) == 1
    assert "--live reads one tenant's state, but 2 tenants" in capsys.readouterr().err
    assert main(["diff", "--live", str(live), "--tenant", "fabrikam"]) == 0


def test_one_tenant_error_still_reports_the_others(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _contoso(workdir)
    code = main(["diff", "--tenant", "contoso", "--tenant", "demo", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 1
    data = assert_valid_report(captured.out)
    statuses = {t["tenant"]: t["status"] for t in data["tenants"]}
    assert statuses == {"contoso": "error", "demo": "drift"}
    assert data["tenants"][0]["error"]  # e.g. no credential configured
    assert "error: contoso:" in captured.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"value": [\n  {"Name": "x",}\n]}', ":2:16: invalid JSON"),
        (json.dumps({"value": [], "@adminapi.warnings": ["More results"]}), "may be incomplete"),
        (json.dumps({"value": [], "@odata.nextLink": "https://x/next"}), "nextLink"),
    ],
)
def test_bad_live_file_is_an_error_never_a_verdict(
    workdir: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    _contoso(workdir)
    live = workdir / "live.json"
    live.write_text(content, "utf-8")
    assert main(["diff", "--live", str(live), "--format", "json"]) == 1
    captured = capsys.readouterr()
    data = assert_valid_report(captured.out)
    [tenant] = data["tenants"]
    assert tenant["status"] == "error" and message in tenant["error"]
    assert str(live) in tenant["error"]
    assert message in captured.err
    assert main(["diff", "--live", str(live)]) == 1
    assert "contoso  ERROR" in capsys.readouterr().out


def test_missing_baseline_folder(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff"]) == 1
    assert "no baseline folder" in capsys.readouterr().err


def test_untrusted_names_are_stripped_on_the_terminal(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _contoso(workdir)
    evil = {"Name": "evil\x1b[2J\x07name\u202e", "SenderDomains": ["x.example"]}
    live = write_live(
        workdir / "live.json",
        [wire(HYBRID, Comment="line1\nline2\x1b[31m"), wire(PARTNER), wire(evil)],
    )
    assert main(["diff", "--live", str(live)]) == 2
    out = capsys.readouterr().out
    assert "evilname" in out  # escape sequences go whole, not leaving a bare "[2J"
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "line1 line2" in out  # one table row, no raw newline from the comment
    assert "[31m" not in out and "[2J" not in out
    assert main(["diff", "--live", str(live), "--format", "json"]) == 2
    raw = capsys.readouterr().out
    assert "\u202e" not in raw and "\x1b" not in raw and "\\u202e" in raw
    names = {f["connector"] for f in assert_valid_report(raw)["tenants"][0]["findings"]}
    assert "evil\x1b[2J\x07name\u202e" in names  # kept exactly, as data


def _run_on_a_terminal(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    master, slave = os.openpty()
    stream = io.TextIOWrapper(os.fdopen(slave, "wb", buffering=0), encoding="utf-8")
    # A nested context undoes only its own patches: the suite's temporary HOME and network guard
    # stay in place.
    try:
        with monkeypatch.context() as patched:
            patched.setattr(sys, "stdout", stream)
            patched.setenv("TERM", "xterm-256color")
            code = main(argv)
        stream.flush()
        chunks = []
        os.set_blocking(master, False)
        while True:
            try:
                chunk = os.read(master, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        stream.close()
        os.close(master)
    assert code == 2
    return b"".join(chunks).decode("utf-8")


def test_colour_only_on_a_terminal_and_never_with_no_color(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    coloured = _run_on_a_terminal(["diff", "--tenant", "demo"], monkeypatch)
    assert "\x1b[1;31mcritical" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _run_on_a_terminal(["diff", "--tenant", "demo"], monkeypatch)
    assert "critical" in plain and "\x1b" not in plain


def _demo_dict(workdir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["diff", "--tenant", "demo", "--format", "json"]) == 2
    return assert_valid_report(capsys.readouterr().out)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d["tenants"][0].update(findings=[]),  # drift without findings
        lambda d: d["tenants"][0].update(status="error"),  # error without a message
        lambda d: d["tenants"][0]["findings"][0].update(severity="urgent"),
        lambda d: d["tenants"][0]["findings"][0].update(extra=1),
        lambda d: d["tenants"][0]["findings"][0].update(field=None),  # changed needs a field
        lambda d: d["tenants"][0]["findings"][0].update(location={"path": "x", "line": 0}),
        lambda d: d.update(generated_at="yesterday"),
        lambda d: d["tenants"][0].pop("warnings"),
    ],
)
def test_schema_rejects_what_the_contract_forbids(
    workdir: Path, capsys: pytest.CaptureFixture[str], breakage: Callable[[dict[str, Any]], None]
) -> None:
    data = _demo_dict(workdir, capsys)
    data["tenants"][0]["findings"].sort(key=lambda f: f["kind"] != "changed")
    breakage(data)
    with pytest.raises(AssertionError):
        assert_valid_report(data)


def test_events_evidence_and_suppressed_round_trip() -> None:
    from datetime import date

    from driftguard.model import (
        AuditEvent,
        Finding,
        FindingKind,
        IgnoreEntry,
        Location,
        Severity,
        Status,
        Suppressed,
        TenantReport,
    )
    from report_samples import drift_tenant

    event = AuditEvent(
        time=datetime(2026, 11, 28, 2, 41, 37, tzinfo=UTC),
        actor="helpdesk-temp@contoso.com",
        client_ip="203.0.113.50:51234",
        operation="Set-InboundConnector",
        connector="Hybrid relay",
        parameters={"SenderIPAddresses": "198.51.100.0/24;203.0.113.0/24"},
    )
    finding = Finding(
        kind=FindingKind.CHANGED,
        connector="Hybrid relay",
        guid=None,
        severity=Severity.CRITICAL,
        reason="why",
        field="SenderIPAddresses",
        baseline=("198.51.100.0/24",),
        live=("198.51.100.0/24", "203.0.113.0/24"),
        added=("203.0.113.0/24",),
        location=Location("baseline/contoso/inbound/hybrid.yaml", 7, 3),
        events=(event,),
    )
    entry = IgnoreEntry("contoso", "Hybrid relay", "Comment", "ok", None, date(2027, 1, 1))
    comment = Finding(
        kind=FindingKind.CHANGED,
        connector="Hybrid relay",
        guid=None,
        severity=Severity.LOW,
        reason="comment",
        field="Comment",
        baseline=None,
        live="x",
    )
    tenant = TenantReport(
        tenant="contoso",
        status=Status.DRIFT,
        findings=(finding,),
        suppressed=(Suppressed(comment, entry),),
        warnings=("w",),
        evidence=drift_tenant().evidence,
    )
    report = Report(generated_at=datetime(2026, 11, 29, 21, 0, tzinfo=UTC), tenants=(tenant,))
    data = assert_valid_report(report)
    [out] = data["tenants"][0]["findings"]
    assert out["events"][0]["client_ip"] == "203.0.113.50:51234"
    assert out["location"] == {"path": "baseline/contoso/inbound/hybrid.yaml", "line": 7}
    assert data["tenants"][0]["evidence"]["window"]["since"] == "2026-11-22T00:00:00Z"
    assert data["tenants"][0]["suppressed"][0]["ignore"]["expires"] == "2027-01-01"
