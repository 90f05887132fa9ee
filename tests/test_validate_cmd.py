"""`driftguard validate`: exit codes, path:line:col lines on stderr, a one-line summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from driftguard.cli import main

TENANT_YAML = "tenant_id: 5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13\n"
GOOD = "Name: Partner\nSenderDomains: [fabrikam.com]\n"
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def tenant(root: Path, name: str, files: dict[str, str], tenant_yaml: str = TENANT_YAML) -> None:
    (root / name / "inbound").mkdir(parents=True)
    (root / name / "tenant.yaml").write_text(tenant_yaml, encoding="utf-8")
    for filename, body in files.items():
        (root / name / "inbound" / filename).write_text(body, encoding="utf-8")


def test_repo_baseline_is_valid(repo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--baseline", str(repo_root / "baseline")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == "1 tenant, 3 connectors: valid"
    assert err == ""


def test_demo_tenant_without_a_baseline_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # ./baseline does not exist here
    assert main(["validate", "--tenant", "demo"]) == 0
    assert capsys.readouterr().out.strip() == "1 tenant, 3 connectors: valid"


def test_demo_and_a_real_tenant_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant(tmp_path, "contoso", {"p.yaml": GOOD})
    code = main(
        ["validate", "--baseline", str(tmp_path), "--tenant", "demo", "--tenant", "contoso"]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == "2 tenants, 4 connectors: valid"


def test_problems_are_path_line_col_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant(
        tmp_path,
        "contoso",
        {
            "a.yaml": GOOD + "SenderIpAddresses: [198.51.100.7]\n",
            "b.yaml": "Name: B\nSenderDomains: [x.com]\nSenderIPAddresses: [10.0.0.0/16]\n",
            "c.yaml": GOOD.replace("Partner", "PARTNER"),
        },
    )
    (tmp_path / "other").mkdir()
    code = main(["validate", "--baseline", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    summary = lines.pop()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    found = [(Path(m["path"]).name, int(m["line"]), int(m["col"])) for m in parsed if m]
    assert found == [
        ("a.yaml", 3, 1),
        ("b.yaml", 3, 21),
        ("c.yaml", 1, 1),
        ("tenant.yaml", 1, 1),
    ]
    messages = [m["message"] for m in parsed if m]
    assert "did you mean SenderIPAddresses?" in messages[0]
    assert "wider than /24" in messages[1]
    assert "also used by" in messages[2]
    assert "has no tenant.yaml" in messages[3]
    assert summary == "2 tenants, 3 connectors: 4 problems in 4 files"


def test_ignore_entries_without_reason_or_expired_fail_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant(tmp_path, "contoso", {"p.yaml": GOOD})
    ignore = tmp_path / ".driftguardignore.yaml"
    ignore.write_text(
        "- {tenant: contoso, connector: Partner, field: Comment, reason: CAB-1, "
        "expires: 2999-01-01}\n",
        encoding="utf-8",
    )
    assert main(["validate", "--baseline", str(tmp_path)]) == 0
    capsys.readouterr()
    ignore.write_text(
        "- {tenant: contoso, connector: Partner, field: Comment}\n"
        "- {tenant: contoso, connector: Partner, reason: old, expires: 2001-01-01}\n",
        encoding="utf-8",
    )
    assert main(["validate", "--baseline", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert ".driftguardignore.yaml:1:3: ignore entry for contoso/Partner has no reason" in err
    assert (
        ".driftguardignore.yaml:2:3: ignore entry for contoso/Partner expired on 2001-01-01" in err
    )


def test_unknown_tenant_lists_the_ones_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant(tmp_path, "contoso", {"p.yaml": GOOD})
    tenant(tmp_path, "fabrikam", {"p.yaml": GOOD})
    assert main(["validate", "--baseline", str(tmp_path), "--tenant", "northwind"]) == 1
    err = capsys.readouterr().err
    assert "no tenant 'northwind'" in err
    assert "contoso, fabrikam" in err


def test_only_the_tenants_asked_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tenant(tmp_path, "good", {"p.yaml": GOOD})
    tenant(tmp_path, "bad", {"p.yaml": "Name: x\n"})
    assert main(["validate", "--baseline", str(tmp_path), "--tenant", "good"]) == 0
    assert capsys.readouterr().out.strip() == "1 tenant, 1 connector: valid"
    assert main(["validate", "--baseline", str(tmp_path)]) == 1


def test_missing_baseline_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--baseline", str(tmp_path / "absent")]) == 1
    err = capsys.readouterr().err
    assert "no baseline folder" in err
    assert "Traceback" not in err


def test_control_characters_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = 'Name: "evil\\e[31m\\u202e"\nSenderDomains: [x.com]\n'
    tenant(tmp_path, "contoso", {"a.yaml": hostile, "b.yaml": hostile})
    assert main(["validate", "--baseline", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "also used by" in err
    assert "\x1b" not in err
    assert "\u202e" not in err


def test_a_baseline_approving_a_critical_pattern_is_valid_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_relay = (
        "Name: Open relay\n"
        "ConnectorType: OnPremises\n"
        "SenderDomains: ['*']\n"
        "SenderIPAddresses: [203.0.113.7]\n"
        "TreatMessagesAsInternal: true\n"
    )
    disabled = open_relay.replace("Open relay", "Parked relay") + "Enabled: false\n"
    hybrid = "Name: Hybrid\nConnectorType: OnPremises\nSenderDomains: ['*']\n"
    hybrid += "SenderIPAddresses: [198.51.100.0/24]\n"
    tenant_yaml = TENANT_YAML + "trusted_ip_ranges: [198.51.100.0/24]\n"
    files = {"open.yaml": open_relay, "parked.yaml": disabled, "hybrid.yaml": hybrid}
    tenant(tmp_path, "contoso", files, tenant_yaml)
    assert main(["validate", "--baseline", str(tmp_path)]) == 0  # a warning, not a problem
    out, err = capsys.readouterr()
    assert out.strip() == "1 tenant, 3 connectors: valid"
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert len(warnings) == 2, err  # the disabled and the trusted-range hybrid pass quietly
    by_line = {}
    for line in warnings:
        match = LINE.match(line)
        assert match is not None and match["path"].endswith("open.yaml"), line
        by_line[int(match["line"])] = match["message"]
    assert "treats the mail as internal" in by_line[5]  # TreatMessagesAsInternal's line
    assert "from 203.0.113.7/32, outside the tenant's trusted_ip_ranges" in by_line[4]
