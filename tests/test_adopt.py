"""`driftguard adopt` and `driftguard init` on real baseline folders in tmp_path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from driftguard.adopt import connector_yaml, slug, unique_file_name
from driftguard.cli import main
from driftguard.normalize import connector_from_record

TENANT = "contoso"


@pytest.fixture
def demo_live(repo_root: Path) -> Path:
    return repo_root / "src" / "driftguard" / "demo" / "live.json"


@pytest.fixture
def base(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the demo tenant's approved baseline, as tenant 'contoso'."""
    root = tmp_path / "baseline"
    shutil.copytree(repo_root / "baseline" / "demo", root / TENANT)
    return root


def _files(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _diff(base: Path, live: Path) -> int:
    return main(["diff", "--baseline", str(base), "--tenant", TENANT, "--live", str(live)])


def _adopt(base: Path, live: Path, *extra: str) -> int:
    argv = ["adopt", "--baseline", str(base), "--tenant", TENANT, "--live", str(live), *extra]
    return main(argv)


def _live_matching_baseline(base: Path, path: Path) -> Path:
    """A live state (PowerShell JSON) equal to the baseline files, as the service would list it."""
    records = []
    for file in sorted((base / TENANT / "inbound").glob("*.yaml")):
        record = yaml.safe_load(file.read_text(encoding="utf-8"))
        record.update(record.pop("Unmodelled", {}))  # the service lists them like any other
        record["Identity"] = record["Name"]
        records.append(record)
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_adopt_then_diff_is_clean(base: Path, demo_live: Path) -> None:
    assert _diff(base, demo_live) == 2
    before = _files(base)
    assert _adopt(base, demo_live) == 0
    after = _files(base)
    inbound = f"{TENANT}/inbound"
    assert after[f"{inbound}/hybrid-relay.yaml"][0] != before[f"{inbound}/hybrid-relay.yaml"][0]
    assert f"{inbound}/inbound-relay-temp.yaml" in after  # the unknown connector, new file
    for unchanged in ("fabrikam-partner.yaml", "legacy-scanner.yaml", "../tenant.yaml"):
        key = str(Path(inbound, unchanged)).replace("inbound/../", "")
        assert after[key] == before[key], key
    assert _diff(base, demo_live) == 0
    assert main(["validate", "--baseline", str(base)]) == 0


def test_rewritten_file_is_canonical_with_comments_kept(base: Path, demo_live: Path) -> None:
    assert _adopt(base, demo_live) == 0
    text = (base / TENANT / "inbound" / "hybrid-relay.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("# Mail from the on-premises Exchange 2019 servers")
    keys = [line.split(":", 1)[0] for line in lines[1:]]
    assert keys[:2] == ["Name", "Guid"]
    assert "Enabled" not in keys  # the service default is not written
    assert "SenderIPAddresses: [198.51.100.0/24, 203.0.113.0/24]" in lines
    assert "TreatMessagesAsInternal: true" in lines
    assert "Guid: ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9" in lines
    new = (base / TENANT / "inbound" / "inbound-relay-temp.yaml").read_text(encoding="utf-8")
    assert new.startswith("Name: Inbound relay (temp)\nGuid: ")
    assert "SenderDomains: ['*']" in new


def test_adopt_edits_in_place_keeping_reviewers_comments_and_key_order(
    base: Path, demo_live: Path
) -> None:
    path = base / TENANT / "inbound" / "hybrid-relay.yaml"
    path.write_text(
        "# Mail from the on-premises Exchange 2019 servers.\n"
        "Name: Hybrid relay\n"
        "Guid: ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9\n"
        "Comment: Exchange 2019 hybrid relay  # wording agreed with the mail team\n"
        "# CHG-1234 approved by CAB: only our own range\n"
        "SenderIPAddresses: [198.51.100.0/24]  # CHG-1234 approved by CAB\n"
        "ConnectorType: OnPremises\n"
        "SenderDomains: [contoso.com]\n"
        "RestrictDomainsToIPAddresses: true\n"
        "RequireTls: true\n"
        "TlsSenderCertificateName: mail.contoso.com\n",
        encoding="utf-8",
    )
    assert _adopt(base, demo_live) == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    keys = [line.split(":", 1)[0] for line in lines if not line.startswith("#")]
    assert keys == [  # the reviewer's order; the new key at the end
        "Name",
        "Guid",
        "Comment",
        "SenderIPAddresses",
        "ConnectorType",
        "SenderDomains",
        "RestrictDomainsToIPAddresses",
        "RequireTls",
        "TlsSenderCertificateName",
        "TreatMessagesAsInternal",
    ]
    assert lines[0] == "# Mail from the on-premises Exchange 2019 servers."
    assert "# CHG-1234 approved by CAB: only our own range" in lines
    assert any(
        line.startswith("SenderIPAddresses: [198.51.100.0/24, 203.0.113.0/24]")
        and line.endswith("# CHG-1234 approved by CAB")
        for line in lines
    )
    assert any(line.endswith("# wording agreed with the mail team") for line in lines)
    assert "TreatMessagesAsInternal: true" in lines
    assert _diff(base, demo_live) == 0
    assert main(["validate", "--baseline", str(base)]) == 0


def test_adopt_on_a_clean_tenant_changes_no_byte(base: Path, tmp_path: Path) -> None:
    live = _live_matching_baseline(base, tmp_path / "live.json")
    assert _diff(base, live) == 0
    before = _files(base)
    assert _adopt(base, live) == 0
    assert _files(base) == before  # same bytes, and not even rewritten (same mtimes)


def test_second_adopt_changes_no_byte(base: Path, demo_live: Path) -> None:
    assert _adopt(base, demo_live) == 0
    before = _files(base)
    assert _adopt(base, demo_live) == 0
    assert _files(base) == before


def test_adopt_one_connector(base: Path, demo_live: Path) -> None:
    before = _files(base)
    assert _adopt(base, demo_live, "--connector", "inbound relay (TEMP)") == 0
    after = _files(base)
    assert set(after) - set(before) == {f"{TENANT}/inbound/inbound-relay-temp.yaml"}
    assert (
        after[f"{TENANT}/inbound/hybrid-relay.yaml"]
        == before[f"{TENANT}/inbound/hybrid-relay.yaml"]
    )
    assert _diff(base, demo_live) == 2  # the hybrid relay still drifts


def test_unknown_connector_name_is_an_error(
    base: Path, demo_live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(base)
    assert _adopt(base, demo_live, "--connector", "No such relay") == 1
    assert "'no such relay'" in capsys.readouterr().err
    assert _files(base) == before


def test_missing_connector_removed_only_when_asked(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = _live_matching_baseline(base, tmp_path / "live.json")
    records = [r for r in json.loads(live.read_text()) if r["Name"] != "Legacy scanner"]
    live.write_text(json.dumps(records), encoding="utf-8")
    scanner = base / TENANT / "inbound" / "legacy-scanner.yaml"

    assert _adopt(base, live) == 0
    assert scanner.exists()
    assert "--remove-missing" in capsys.readouterr().err
    assert _adopt(base, live, "--connector", "Legacy scanner") == 1
    assert scanner.exists()

    assert _adopt(base, live, "--connector", "Legacy scanner", "--remove-missing") == 0
    assert not scanner.exists()
    assert _diff(base, live) == 0


def test_dry_run_writes_nothing(
    base: Path, demo_live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(base)
    assert _adopt(base, demo_live, "--dry-run") == 0
    assert _files(base) == before
    assert "would create" in capsys.readouterr().err


def test_unreadable_live_state_writes_nothing(base: Path, tmp_path: Path) -> None:
    broken = tmp_path / "live.json"
    broken.write_text('[{"Name": "x", "SenderIPAddresses": ["not an ip"]}]', encoding="utf-8")
    before = _files(base)
    assert _adopt(base, broken) == 1
    assert _files(base) == before


def test_hostile_connector_names_make_safe_file_names() -> None:
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("Relay <script>\n\u202e") == "relay-script"
    assert slug("....") == "connector"
    assert slug("x" * 300) == "x" * 60
    taken = {"relay.yaml", "relay-2.yaml"}
    assert unique_file_name("Relay", taken) == "relay-3.yaml"


def test_connector_yaml_round_trips_awkward_values() -> None:
    record = {
        "Name": "true",
        "Guid": "E7D54C3B-2A19-4F08-B6E5-D4C3B2A19F08",
        "Comment": "line one\nline: two # not a comment",
        "SenderDomains": ["*", "smtp:Contoso.com;1"],
        "EFSkipIPs": ["2001:db8::1"],
        "Enabled": False,
    }
    conn = connector_from_record(record)
    text = connector_yaml(conn)
    data = yaml.safe_load(text)
    assert list(data)[:2] == ["Name", "Guid"]
    assert data["Name"] == "true" and data["Guid"] == "e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08"
    again = connector_from_record({**data})
    assert again.settings == conn.settings


# --------------------------------------------------------------------------- init


def test_init_scaffolds_a_tenant_whose_diff_is_clean(
    tmp_path: Path, demo_live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "baseline"
    argv = [
        "init",
        "--baseline",
        str(root),
        "--name",
        "fabrikam",
        "--tenant-id",
        "5B1F6C2E-3D4A-4E8B-9C71-0A2F4D6E8B13",
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
        "--live",
        str(demo_live),
    ]
    assert main(argv) == 0
    folder = root / "fabrikam"
    names = sorted(p.name for p in (folder / "inbound").iterdir())
    assert names == [
        "fabrikam-partner-tls.yaml",
        "hybrid-relay.yaml",
        "inbound-relay-temp.yaml",
        "legacy-scanner.yaml",
    ]
    config = yaml.safe_load((folder / "tenant.yaml").read_text(encoding="utf-8"))
    assert config["tenant_id"] == "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13"
    assert config["auth"] == {"client_id": "11111111-2222-3333-4444-555555555555"}
    assert main(["validate", "--baseline", str(root)]) == 0
    diff = ["diff", "--baseline", str(root), "--tenant", "fabrikam", "--live", str(demo_live)]
    assert main(diff) == 0
    # never over an existing tenant
    assert main(argv) == 1
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--tenant-id", "not-a-guid", "not a GUID"), ("--name", "../up", "not a usable folder")],
)
def test_init_refuses_bad_arguments(
    tmp_path: Path,
    demo_live: Path,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    message: str,
) -> None:
    args = {"--name": "t", "--tenant-id": "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13", option: value}
    argv = ["init", "--baseline", str(tmp_path / "b"), "--live", str(demo_live)]
    for key, val in args.items():
        argv += [key, val]
    assert main(argv) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


ACTION = "contoso/driftguard@" + "0123456789abcdef" * 2 + "01234567"


def test_init_writes_the_workflows_once(tmp_path: Path, demo_live: Path, repo_root: Path) -> None:
    from driftguard import __version__
    from driftguard.workflows import NAMES, workflow_for, workflow_text

    for name in NAMES:  # the packaged copies are the project's own workflows
        own = (repo_root / ".github" / "workflows" / f"{name}.yml").read_text(encoding="utf-8")
        assert workflow_text(name) == own, name
    root = tmp_path / "repo" / "baseline"
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "nightly.yml").write_text("# mine\n", encoding="utf-8")
    argv = ["init", "--baseline", str(root), "--name", "t", "--live", str(demo_live)]
    argv += ["--tenant-id", "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13", "--workflows"]
    assert main([*argv, "--action", ACTION]) == 0
    assert (workflows / "nightly.yml").read_text(encoding="utf-8") == "# mine\n"
    plan_apply = (workflows / "plan-apply.yml").read_text(encoding="utf-8")
    assert plan_apply == workflow_for("plan-apply", ACTION, __version__)
    assert f"uses: {ACTION} # v{__version__}\n" in plan_apply
    assert "uses: ./" not in plan_apply
    assert (workflows / "baseline-pr.yml").exists()


@pytest.mark.parametrize(
    "action",
    [None, "contoso/driftguard@v0.2.0", "contoso/driftguard@main", "driftguard@" + "0" * 40],
)
def test_init_workflows_need_an_action_pinned_by_sha(
    tmp_path: Path, demo_live: Path, capsys: pytest.CaptureFixture[str], action: str | None
) -> None:
    root = tmp_path / "repo" / "baseline"
    argv = ["init", "--baseline", str(root), "--name", "t", "--live", str(demo_live)]
    argv += ["--tenant-id", "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13", "--workflows"]
    assert main(argv if action is None else [*argv, "--action", action]) == 1
    assert "--workflows needs --action OWNER/REPO@SHA" in capsys.readouterr().err
    assert not root.exists() and not (tmp_path / "repo" / ".github").exists()


def test_init_without_client_id_says_so_before_any_sign_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_CLIENT_ID", raising=False)
    root = tmp_path / "baseline"
    argv = ["init", "--baseline", str(root), "--name", "fabrikam"]
    assert main([*argv, "--tenant-id", "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13"]) == 1
    err = capsys.readouterr().err
    assert "--client-id is missing" in err
    assert "does not exist yet" in err and "set auth." not in err
    assert not root.exists()


def test_a_file_that_cannot_be_edited_in_place_is_not_merged() -> None:
    from driftguard.baseline.roundtrip import merged

    assert merged("- a list\n", "Name: x\n") is None  # not a mapping
    assert merged("Name: [unclosed\n", "Name: x\n") is None  # not YAML
    assert merged("Name: x  # kept\nRequireTls: true\n", "Name: x\n") == "Name: x  # kept\n"


def test_adopting_a_critical_pattern_says_so(
    base: Path, demo_live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _adopt(base, demo_live, "--connector", "Inbound relay (temp)") == 0
    err = capsys.readouterr().err
    assert "inbound-relay-temp.yaml: warning: adopting approves a critical pattern" in err
    assert (
        "accepts any sender domain (*) from 203.0.113.0/24 and treats the mail as internal" in err
    )
    assert main(["validate", "--baseline", str(base)]) == 0  # still valid, still said
    assert "warning: the baseline approves a critical pattern" in capsys.readouterr().err
