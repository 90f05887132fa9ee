"""Accepted exceptions from a real .driftguardignore.yaml: valid, no reason, expired, unused."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from driftguard.model import FindingKind, Status, TenantReport
from driftkit import HYBRID, PARTNER, diff_files, wire, write_baseline, write_live

LIVE = [
    wire(HYBRID, Comment="edited in the portal", TreatMessagesAsInternal=True),
    wire(PARTNER),
    wire({"Name": "Scanner 2", "ConnectorType": "Partner", "SenderDomains": ["x.example"]}),
]


def _run(tmp_path: Path, ignores: list[dict[str, Any]], today: date | None = None) -> TenantReport:
    root = write_baseline(tmp_path / "baseline", [HYBRID, PARTNER], ignores=ignores)
    live = write_live(tmp_path / "live.json", LIVE)
    return diff_files(root, live, today=today or date(2026, 11, 29))


def _entry(**over: Any) -> dict[str, Any]:
    entry = {
        "tenant": "contoso",
        "connector": "Hybrid relay",
        "field": "Comment",
        "reason": "the portal rewrites the comment; CHG-1234",
        "owner": "mail-team@contoso.com",
        "expires": "2027-01-31",
    }
    entry.update(over)
    return {k: v for k, v in entry.items() if v is not None}


def test_active_entry_suppresses_and_is_listed(tmp_path: Path) -> None:
    result = _run(tmp_path, [_entry()])
    assert {f.field for f in result.findings} == {"TreatMessagesAsInternal", None}
    [suppressed] = result.suppressed
    assert suppressed.finding.field == "Comment"
    assert suppressed.entry.reason == "the portal rewrites the comment; CHG-1234"
    assert suppressed.entry.location is not None
    assert result.warnings == ()


def test_entry_without_reason_suppresses_nothing_and_is_reported(tmp_path: Path) -> None:
    result = _run(tmp_path, [_entry(reason=None)])
    assert "Comment" in {f.field for f in result.findings}
    assert result.suppressed == ()
    [warning] = result.warnings
    assert "Hybrid relay / Comment" in warning and "has no reason" in warning
    assert ".driftguardignore.yaml:" in warning


def test_expired_entry_suppresses_nothing_and_is_reported(tmp_path: Path) -> None:
    result = _run(tmp_path, [_entry(expires="2026-11-28")])
    assert "Comment" in {f.field for f in result.findings}
    assert result.suppressed == ()
    [warning] = result.warnings
    assert "expired on 2026-11-28" in warning


def test_entry_expiring_today_still_counts(tmp_path: Path) -> None:
    result = _run(tmp_path, [_entry(expires="2026-11-29")])
    assert len(result.suppressed) == 1


def test_whole_connector_entry_and_unknown_connectors(tmp_path: Path) -> None:
    entries = [
        _entry(connector="scanner 2", field=None, expires=None),
        _entry(field="*", reason="hybrid rebuild in progress"),
    ]
    result = _run(tmp_path, entries)
    assert result.status is Status.OK
    assert result.findings == ()
    kinds = sorted((s.finding.kind.value, s.finding.field or "") for s in result.suppressed)
    assert kinds == [
        ("changed", "Comment"),
        ("changed", "TreatMessagesAsInternal"),
        ("unknown", ""),
    ]


def test_field_entry_does_not_hide_a_whole_connector(tmp_path: Path) -> None:
    result = _run(tmp_path, [_entry(connector="Scanner 2", field="Comment")])
    assert any(f.kind is FindingKind.UNKNOWN for f in result.findings)
    assert any("matches no finding" in w for w in result.warnings)


def test_other_tenants_entries_do_not_apply(tmp_path: Path) -> None:
    result = _run(tmp_path, [_entry(tenant="fabrikam")])
    assert result.suppressed == () and result.warnings == ()


def test_text_report_lists_suppressed_and_warnings(tmp_path: Path) -> None:
    from driftguard.model import Report
    from driftguard.report.text_format import render
    from driftkit import NOW

    result = _run(tmp_path, [_entry(), _entry(connector="Scanner 2", field=None, reason=None)])
    text = render(Report(generated_at=NOW, tenants=(result,)))
    lines = text.splitlines()
    assert lines[0] == "contoso  DRIFT  2 findings: 1 critical, 1 high (1 suppressed, 1 warning)"
    assert "  suppressed (accepted exceptions):" in lines
    assert (
        "    Hybrid relay / Comment: the portal rewrites the comment; CHG-1234 "
        "(owner mail-team@contoso.com), expires 2027-01-31"
    ) in lines
    assert any(line.startswith("  warning: ignore entry for contoso / Scanner 2") for line in lines)
    assert lines[-1] == "1 tenant: 1 drift; exit code 2"
