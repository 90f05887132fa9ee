"""Properties driftguard does not model: an actionable warning, pinned under ``Unmodelled:``,
compared generically (deepdiff), written by adopt and init, refused when modelled or read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftguard.cli import main
from driftguard.model import FindingKind, Status
from driftkit import (
    HYBRID,
    PARTNER,
    TENANT_ID,
    diff_files,
    wire,
    write_baseline,
    write_live,
)

ISSUER = "CN=Fabrikam Issuing CA 02, O=Fabrikam Inc"
POLICY = {"Mode": "Strict", "Hosts": ["a.fabrikam.com", "b.fabrikam.com"], "Level": 2}


def _pinned(**pins: Any) -> dict[str, Any]:
    return {**PARTNER, "Unmodelled": pins}


def _run(tmp_path: Path, baseline: dict[str, Any], **live: Any) -> Any:
    root = write_baseline(tmp_path / "baseline", [HYBRID, baseline])
    records = [wire(HYBRID), wire(PARTNER, **live)]
    return diff_files(root, write_live(tmp_path / "live.json", records))


def test_an_unpinned_property_warns_and_says_how_to_accept_it(tmp_path: Path) -> None:
    result = _run(tmp_path, PARTNER, SenderCertificateIssuer=ISSUER)
    assert result.status is Status.OK and result.findings == ()
    [warning] = result.warnings
    assert "SenderCertificateIssuer" in warning and ISSUER in warning
    assert "c01.yaml" in warning and "Unmodelled:" in warning
    assert "driftguard adopt --tenant contoso --connector 'Fabrikam partner TLS'" in warning


def test_empty_unpinned_values_need_no_warning(tmp_path: Path) -> None:
    result = _run(tmp_path, PARTNER, NewList=[], NewFlag=False, NewText="", NewNull=None)
    assert result.warnings == ()


def test_a_pinned_equal_value_is_silent_and_list_order_does_not_matter(tmp_path: Path) -> None:
    baseline = _pinned(SenderCertificateIssuer=ISSUER, PartnerPolicy=POLICY)
    reordered = {**POLICY, "Hosts": list(reversed(POLICY["Hosts"]))}
    result = _run(tmp_path, baseline, sendercertificateissuer=ISSUER, PartnerPolicy=reordered)
    assert (result.status, result.findings, result.warnings) == (Status.OK, (), ())


def test_a_pinned_value_that_changed_is_a_finding(tmp_path: Path) -> None:
    other = "CN=Someone Else CA, O=Elsewhere"
    result = _run(tmp_path, _pinned(SenderCertificateIssuer=ISSUER), SenderCertificateIssuer=other)
    assert result.status is Status.DRIFT
    [finding] = result.findings
    assert finding.kind is FindingKind.CHANGED
    assert finding.field == "Unmodelled.SenderCertificateIssuer"
    assert (finding.baseline, finding.live) == (ISSUER, other)
    assert finding.location is not None and finding.location.path.endswith("c01.yaml")
    assert "pinned under Unmodelled" in finding.reason


def test_a_type_change_is_named(tmp_path: Path) -> None:
    result = _run(tmp_path, _pinned(PartnerPolicy=POLICY), PartnerPolicy={**POLICY, "Level": "2"})
    [finding] = result.findings
    assert "Level: type changed from number to text" in finding.reason
    assert isinstance(finding.live, str) and json.loads(finding.live)["Level"] == "2"


def test_list_members_added_and_removed_are_listed(tmp_path: Path) -> None:
    result = _run(tmp_path, _pinned(Relays=["x", "y"]), Relays=["y", "z"])
    [finding] = result.findings
    assert (finding.added, finding.removed) == (("z",), ("x",))
    assert (finding.baseline, finding.live) == (("x", "y"), ("y", "z"))


def test_a_pinned_property_gone_from_the_live_record_is_a_finding(tmp_path: Path) -> None:
    result = _run(tmp_path, _pinned(SenderCertificateIssuer=ISSUER))
    [finding] = result.findings
    assert finding.field == "Unmodelled.SenderCertificateIssuer" and finding.live is None
    assert "no longer has it" in finding.reason


def test_an_ignore_entry_can_accept_an_unmodelled_finding(tmp_path: Path) -> None:
    root = write_baseline(
        tmp_path / "baseline",
        [HYBRID, _pinned(SenderCertificateIssuer=ISSUER)],
        ignores=[
            {
                "tenant": "contoso",
                "connector": "Fabrikam partner TLS",
                "field": "unmodelled.SenderCertificateIssuer",
                "reason": "CA rotation under way",
                "owner": "mail team",
            }
        ],
    )
    records = [wire(HYBRID), wire(PARTNER, SenderCertificateIssuer="CN=New CA")]
    result = diff_files(root, write_live(tmp_path / "live.json", records))
    assert result.status is Status.OK and len(result.suppressed) == 1


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("SenderDomains", "Unmodelled.SenderDomains: SenderDomains is modelled by driftguard"),
        ("requiretls", "move it out of Unmodelled to the top level as RequireTls"),
        ("WhenChangedUTC", "Unmodelled.WhenChangedUTC: WhenChangedUTC is read-only"),
        ("NameHashGuid", "NameHashGuid is read-only"),
        ("Guid", "Guid is read-only"),
        ("Size@data.type", "is not a property name"),
    ],
)
def test_validate_refuses_modelled_or_read_only_keys_under_unmodelled(
    tmp_path: Path, key: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_baseline(tmp_path / "baseline", [{**PARTNER, "Unmodelled": {key: "x"}}])
    assert main(["validate", "--baseline", str(root)]) == 1
    err = capsys.readouterr().err
    assert fragment in err
    lines = (root / "contoso" / "inbound" / "c00.yaml").read_text("utf-8").splitlines()
    line = lines.index("Unmodelled:") + 2  # the nested key, on the line after `Unmodelled:`
    assert f"c00.yaml:{line}:3:" in err


def test_unmodelled_must_be_a_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_baseline(tmp_path / "baseline", [{**PARTNER, "Unmodelled": ["x"]}])
    assert main(["validate", "--baseline", str(root)]) == 1
    assert "Unmodelled: expected a mapping of keys, got a list" in capsys.readouterr().err


def test_adopt_pins_the_property_and_the_next_diff_is_silent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_baseline(tmp_path / "baseline", [HYBRID, PARTNER])
    live = write_live(
        tmp_path / "live.json",
        [wire(HYBRID), wire(PARTNER, SenderCertificateIssuer=ISSUER, PartnerPolicy=POLICY)],
    )
    common = ["--baseline", str(root), "--tenant", "contoso", "--live", str(live)]
    assert main(["adopt", *common]) == 0
    written = yaml.safe_load((root / "contoso" / "inbound" / "c01.yaml").read_text("utf-8"))
    assert written["Unmodelled"] == {"PartnerPolicy": POLICY, "SenderCertificateIssuer": ISSUER}
    capsys.readouterr()
    assert main(["diff", *common, "--format", "json"]) == 0
    [tenant] = json.loads(capsys.readouterr().out)["tenants"]
    assert tenant["warnings"] == [] and tenant["findings"] == []
    before = (root / "contoso" / "inbound" / "c01.yaml").read_bytes()
    assert main(["adopt", *common]) == 0  # nothing left to adopt: no byte changes
    assert (root / "contoso" / "inbound" / "c01.yaml").read_bytes() == before


def test_adopt_drops_a_pin_the_live_connector_no_longer_has(tmp_path: Path) -> None:
    root = write_baseline(tmp_path / "baseline", [HYBRID, _pinned(SenderCertificateIssuer=ISSUER)])
    live = write_live(tmp_path / "live.json", [wire(HYBRID), wire(PARTNER)])
    common = ["--baseline", str(root), "--tenant", "contoso", "--live", str(live)]
    assert main(["diff", *common]) == 2
    assert main(["adopt", *common]) == 0
    written = yaml.safe_load((root / "contoso" / "inbound" / "c01.yaml").read_text("utf-8"))
    assert "Unmodelled" not in written
    assert main(["diff", *common]) == 0


def test_init_pins_unmodelled_properties(tmp_path: Path) -> None:
    live = write_live(tmp_path / "live.json", [wire(PARTNER, SenderCertificateIssuer=ISSUER)])
    root = tmp_path / "baseline"
    argv = ["init", "--baseline", str(root), "--name", "contoso", "--tenant-id", TENANT_ID]
    assert main([*argv, "--live", str(live)]) == 0
    [file] = (root / "contoso" / "inbound").glob("*.yaml")
    assert yaml.safe_load(file.read_text("utf-8"))["Unmodelled"] == {
        "SenderCertificateIssuer": ISSUER
    }
    common = ["--baseline", str(root), "--tenant", "contoso", "--live", str(live)]
    assert main(["validate", "--baseline", str(root)]) == 0
    assert main(["diff", *common]) == 0


def test_an_unknown_connector_with_an_unmodelled_property_says_adopt_pins_it(
    tmp_path: Path,
) -> None:
    root = write_baseline(tmp_path / "baseline", [HYBRID])
    records = [wire(HYBRID), wire(PARTNER, SenderCertificateIssuer=ISSUER)]
    result = diff_files(root, write_live(tmp_path / "live.json", records))
    assert [f.kind for f in result.findings] == [FindingKind.UNKNOWN]
    [warning] = result.warnings
    assert "SenderCertificateIssuer" in warning and "driftguard adopt" in warning


def test_bookkeeping_at_the_top_level_of_a_file_is_refused_as_read_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_baseline(tmp_path / "baseline", [{**PARTNER, "ExchangeObjectId": "x"}])
    assert main(["validate", "--baseline", str(root)]) == 1
    assert "ExchangeObjectId is read-only" in capsys.readouterr().err


def test_plan_does_not_call_unmodelled_drift_a_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_baseline(tmp_path / "baseline", [HYBRID, _pinned(SenderCertificateIssuer=ISSUER)])
    live = write_live(
        tmp_path / "live.json", [wire(HYBRID), wire(PARTNER, SenderCertificateIssuer="CN=New")]
    )
    argv = ["plan", "--baseline", str(root), "--tenant", "contoso", "--live", str(live)]
    assert main([*argv, "--out", str(tmp_path / "plan.json")]) == 0
    out = capsys.readouterr().out
    assert "match the baseline" not in out and "No action driftguard can take" in out
    assert "Unmodelled.SenderCertificateIssuer is not a settable property" in out
