"""Matching and diffing on real baseline folders and live files: every finding kind."""

from __future__ import annotations

import json
from pathlib import Path

from driftguard.diff import findings_for, match
from driftguard.model import FindingKind, Severity, Status, TenantReport
from driftguard.normalize import connector_from_record
from driftkit import (
    HYBRID,
    PARTNER,
    SCANNER,
    diff_files,
    wire,
    write_baseline,
    write_live,
)


def _run(
    tmp_path: Path, baseline: list[dict[str, object]], live: list[dict[str, object]]
) -> TenantReport:
    root = write_baseline(tmp_path / "baseline", baseline)
    return diff_files(root, write_live(tmp_path / "live.json", live))


def test_identical_state_is_ok(tmp_path: Path) -> None:
    result = _run(
        tmp_path, [HYBRID, PARTNER, SCANNER], [wire(SCANNER), wire(HYBRID), wire(PARTNER)]
    )
    assert result.status is Status.OK
    assert result.findings == () and result.warnings == ()


def test_unknown_connector(tmp_path: Path) -> None:
    rogue = wire(
        {"Name": "Inbound relay (temp)", "ConnectorType": "OnPremises", "SenderDomains": ["*"]},
        SenderIPAddresses=["203.0.113.0/24"],
        Guid="e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08",
    )
    result = _run(tmp_path, [HYBRID], [wire(HYBRID), rogue])
    assert result.status is Status.DRIFT
    [finding] = result.findings
    assert finding.kind is FindingKind.UNKNOWN
    assert finding.connector == "Inbound relay (temp)"
    assert finding.guid == "e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08"
    assert finding.location is None
    assert "203.0.113.0/24" in finding.reason


def test_missing_connector_points_at_its_file(tmp_path: Path) -> None:
    result = _run(tmp_path, [HYBRID, PARTNER], [wire(HYBRID)])
    [finding] = result.findings
    assert finding.kind is FindingKind.MISSING
    assert finding.connector == "Fabrikam partner TLS"
    assert finding.location is not None and finding.location.path.endswith("c01.yaml")


def test_changed_scalar_has_baseline_live_and_the_line(tmp_path: Path) -> None:
    result = _run(
        tmp_path, [HYBRID], [wire(HYBRID, RequireTls=False, TlsSenderCertificateName=None)]
    )
    by_field = {f.field: f for f in result.findings}
    assert set(by_field) == {"RequireTls", "TlsSenderCertificateName"}
    tls = by_field["RequireTls"]
    assert (tls.kind, tls.baseline, tls.live) == (FindingKind.CHANGED, True, False)
    assert tls.location is not None
    line = Path(tls.location.path).read_text().splitlines()[tls.location.line - 1]
    assert line.startswith("RequireTls:")
    assert by_field["TlsSenderCertificateName"].live is None


def test_changed_list_has_added_and_removed(tmp_path: Path) -> None:
    live = wire(HYBRID, SenderIPAddresses=["198.51.100.7", "192.0.2.0/24", "203.0.113.9"])
    result = _run(tmp_path, [HYBRID], [live])
    [finding] = result.findings
    assert finding.field == "SenderIPAddresses"
    assert finding.added == ("192.0.2.0/24", "198.51.100.7/32", "203.0.113.9/32")
    assert finding.removed == ("198.51.100.0/24",)
    assert finding.baseline == ("198.51.100.0/24",)
    assert finding.live == ("192.0.2.0/24", "198.51.100.7/32", "203.0.113.9/32")


def test_property_left_out_means_the_service_default(tmp_path: Path) -> None:
    """PARTNER does not mention EFSkipLastIP or TrustedOrganizations: live values are drift."""
    live = wire(PARTNER, EFSkipLastIP=True, TrustedOrganizations=["evil.example"])
    result = _run(tmp_path, [PARTNER], [live])
    assert {f.field for f in result.findings} == {"TrustedOrganizations", "EFSkipLastIP"}
    efs = next(f for f in result.findings if f.field == "EFSkipLastIP")
    assert efs.location is not None and efs.location.path.endswith("c00.yaml")


def test_rename_of_a_pinned_connector(tmp_path: Path) -> None:
    result = _run(tmp_path, [HYBRID], [wire(HYBRID, Name="Hybrid relay OLD", Identity="x")])
    [finding] = result.findings
    assert (finding.kind, finding.field) == (FindingKind.CHANGED, "Name")
    assert (finding.baseline, finding.live) == ("Hybrid relay", "Hybrid relay OLD")
    assert finding.connector == "Hybrid relay"


def test_name_case_is_not_a_rename(tmp_path: Path) -> None:
    result = _run(tmp_path, [HYBRID, PARTNER], [wire(HYBRID, Name="HYBRID RELAY"), wire(PARTNER)])
    assert result.status is Status.OK


def test_unpinned_matches_name_case_insensitively(tmp_path: Path) -> None:
    result = _run(tmp_path, [PARTNER], [wire(PARTNER, Name="fabrikam PARTNER tls")])
    assert result.status is Status.OK


def test_pinned_connector_matches_by_guid_only(tmp_path: Path) -> None:
    """Same Name, another Guid: an impostor (or a re-created object), never the approved one."""
    impostor = wire(HYBRID, Guid="00000000-1111-4222-8333-444444444444")
    result = _run(tmp_path, [HYBRID], [impostor])
    kinds = sorted(f.kind.value for f in result.findings)
    assert kinds == ["missing", "unknown"]
    unknown = next(f for f in result.findings if f.kind is FindingKind.UNKNOWN)
    assert unknown.guid == "00000000-1111-4222-8333-444444444444"
    assert unknown.severity is Severity.CRITICAL


def test_guid_match_is_case_insensitive(tmp_path: Path) -> None:
    live = wire(HYBRID, Guid=str(HYBRID["Guid"]).upper())
    assert _run(tmp_path, [HYBRID], [live]).status is Status.OK


def test_findings_are_in_a_deterministic_order(tmp_path: Path) -> None:
    live = [
        wire(HYBRID, Comment="x", TreatMessagesAsInternal=True, RequireTls=False),
        wire(PARTNER, SenderDomains=["smtp:*;1", "smtp:fabrikam.com;1"]),
        wire({"Name": "B rogue", "ConnectorType": "Partner", "SenderDomains": ["x.example"]}),
        wire({"Name": "a rogue", "ConnectorType": "Partner", "SenderDomains": ["x.example"]}),
    ]
    root = write_baseline(tmp_path / "baseline", [HYBRID, PARTNER, SCANNER])
    first = diff_files(root, write_live(tmp_path / "a.json", live)).findings
    second = diff_files(root, write_live(tmp_path / "b.json", live[::-1])).findings
    assert first == second
    keys = [(f.severity.value, f.connector, f.field) for f in first]
    assert keys == [
        ("critical", "Fabrikam partner TLS", "SenderDomains"),
        ("critical", "Hybrid relay", "TreatMessagesAsInternal"),
        ("high", "a rogue", None),
        ("high", "B rogue", None),
        ("high", "Hybrid relay", "RequireTls"),
        ("medium", "Legacy scanner", None),
        ("low", "Hybrid relay", "Comment"),
    ]


def test_match_pairs_each_live_connector_once() -> None:
    from driftguard.model import BaselineConnector, TenantBaseline, TenantConfig
    from driftguard.normalize import connector_from_baseline

    def bc(data: dict[str, object]) -> BaselineConnector:
        return BaselineConnector("f.yaml", data, {}, connector_from_baseline(data))

    base = [bc(dict(HYBRID)), bc({**PARTNER, "Name": "hybrid RELAY"})]
    live = [connector_from_record(wire(HYBRID))]
    matching = match(base, live)
    assert len(matching.pairs) == 1 and len(matching.missing) == 1 and not matching.unknown
    tenant = TenantBaseline(TenantConfig("t", "x"), tuple(base))
    assert [f.kind for f in findings_for(tenant, live)] == [FindingKind.MISSING]


def test_same_named_impostor_is_the_same_verdict_in_any_read_order(tmp_path: Path) -> None:
    """An unpinned baseline connector and two live ones of its name: which one is paired and
    which is unknown does not depend on the order the service lists them in."""
    unpinned = {k: v for k, v in HYBRID.items() if k != "Guid"}
    genuine = wire(HYBRID, Guid="bbbbbbbb-0000-4000-8000-000000000002")
    impostor = wire(
        HYBRID, Guid="aaaaaaaa-0000-4000-8000-000000000001", SenderIPAddresses=["203.0.113.0/24"]
    )
    root = write_baseline(tmp_path / "baseline", [unpinned])
    first = diff_files(root, write_live(tmp_path / "a.json", [genuine, impostor]))
    second = diff_files(root, write_live(tmp_path / "b.json", [impostor, genuine]))
    assert first.findings == second.findings
    assert {(f.kind, f.guid) for f in first.findings} >= {
        (FindingKind.UNKNOWN, "bbbbbbbb-0000-4000-8000-000000000002"),
        (FindingKind.CHANGED, "aaaaaaaa-0000-4000-8000-000000000001"),
    }


def test_demo_live_state_tells_the_story(tmp_path: Path, repo_root: Path) -> None:
    live = tmp_path / "demo.json"
    live.write_text((repo_root / "src/driftguard/demo/live.json").read_text("utf-8"), "utf-8")
    result = diff_files(repo_root / "baseline", live, tenant="demo")
    found = {(f.kind.value, f.connector, f.field, f.severity.value) for f in result.findings}
    assert found == {
        ("unknown", "Inbound relay (temp)", None, "critical"),
        ("changed", "Hybrid relay", "SenderIPAddresses", "critical"),
        ("changed", "Hybrid relay", "TreatMessagesAsInternal", "critical"),
    }
    # SenderCertificateIssuer is not modelled: the demo baseline pins it under Unmodelled.
    assert result.warnings == ()
    assert json.loads(live.read_text())["@adminapi.warnings"] == []


def test_a_record_without_guid_matches_a_pinned_connector_by_name_with_a_warning(
    tmp_path: Path,
) -> None:
    record = wire(HYBRID, RequireTls=False)
    del record["Guid"]
    result = _run(tmp_path, [HYBRID], [record])
    [finding] = result.findings
    assert (finding.kind, finding.field) == (FindingKind.CHANGED, "RequireTls")
    assert finding.guid == HYBRID["Guid"]
    [warning] = result.warnings
    assert "'Hybrid relay' has no Guid" in warning
