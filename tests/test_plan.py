"""The pure planner, the plan document (digest, schema) and PowerShell quoting."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from driftguard import planfile, pwsh
from driftguard.diff import Drift, Judged, drift_for
from driftguard.errors import PlanError
from driftguard.model import (
    BaselineConnector,
    Connector,
    Finding,
    FindingKind,
    Severity,
    TenantBaseline,
    TenantConfig,
)
from driftguard.normalize import connector_from_baseline, connector_from_record
from driftguard.plan import PlanOptions, plan_for
from driftguard.planmodel import ABSENT, Action, ActionKind, Plan
from driftguard.safety import SafetyLimits
from driftguard.tenantstate import BlockedEntry, ConnectorState, TenantState

NOW = datetime(2026, 11, 29, 21, 0, 0, tzinfo=UTC)
TENANT_ID = "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13"


def baseline(files: dict[str, dict[str, Any]], name: str = "demo") -> TenantBaseline:
    conns = tuple(
        BaselineConnector(path=p, raw=d, key_locations={}, connector=connector_from_baseline(d))
        for p, d in sorted(files.items())
    )
    return TenantBaseline(TenantConfig(name=name, tenant_id=TENANT_ID), conns)


def demo_files(repo_root: Path) -> dict[str, dict[str, Any]]:
    folder = repo_root / "baseline" / "demo" / "inbound"
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))}


def demo_live(repo_root: Path) -> list[Connector]:
    body = json.loads((repo_root / "src/driftguard/demo/live.json").read_text())
    return [connector_from_record(r) for r in body["value"]]


def changed(c: Connector, field: str, base: Any, live: Any) -> Finding:
    return Finding(
        FindingKind.CHANGED,
        c.name,
        c.guid,
        Severity.HIGH,
        "r",
        field=field,
        baseline=base,
        live=live,
    )


def unknown(c: Connector) -> Finding:
    return Finding(FindingKind.UNKNOWN, c.name, c.guid, Severity.CRITICAL, "r")


def demo_findings(live: list[Connector]) -> list[Finding]:
    hybrid = next(c for c in live if c.name == "Hybrid relay")
    temp = next(c for c in live if c.name == "Inbound relay (temp)")
    return [
        changed(hybrid, "TreatMessagesAsInternal", False, True),
        changed(hybrid, "SenderIPAddresses", ("198.51.100.0/24",), ("198.51.100.0/24",)),
        unknown(temp),
    ]


def joined(tenant: TenantBaseline, live: list[Connector], findings: list[Finding]) -> Drift:
    """The tenant's drift holding exactly ``findings`` (made by hand), each joined to the
    connectors the diff paired: by Guid, else by Name; a finding nothing pairs joins nothing."""
    drift = drift_for(tenant, live)

    def named(f: Finding, c: Connector) -> bool:
        return bool(f.guid and f.guid == c.guid) or f.connector.casefold() == c.name.casefold()

    out: list[Judged] = []
    for f in findings:
        match f.kind:
            case FindingKind.UNKNOWN:
                out.append(Judged(f, None, next((c for c in drift.unknown if named(f, c)), None)))
            case FindingKind.CHANGED:
                pair = next(
                    ((b, lv) for b, lv in drift.pairs if named(f, lv) or named(f, b.connector)),
                    None,
                )
                out.append(Judged(f, pair[0].connector, pair[1]) if pair else Judged(f))
            case FindingKind.MISSING:
                hit = next((b.connector for b in drift.missing if named(f, b.connector)), None)
                out.append(Judged(f, hit))
            case FindingKind.BLOCKED:
                out += drift.keeping([]).with_blocked([f]).judged
    return replace(drift, judged=tuple(out))


def make(tenant: TenantBaseline, live: list[Connector], findings: list[Finding], **kw: Any):  # type: ignore[no-untyped-def]
    return plan_for(
        joined(tenant, live, findings),
        created_at=NOW,
        expires_at=NOW + timedelta(hours=24),
        snapshot_digest="sha256:" + "0" * 64,
        **kw,
    )


def test_demo_plan_disables_unknown_first_then_reverts_in_one_set(repo_root: Path) -> None:
    live = demo_live(repo_root)
    plan = make(baseline(demo_files(repo_root)), live, demo_findings(live))
    assert [a.id for a in plan.actions] == ["001-disable", "002-revert"]
    disable, revert = plan.actions
    assert disable.cmdlet == "Set-InboundConnector"
    assert disable.parameters == {
        "Identity": "e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08",
        "Enabled": False,
    }
    assert disable.precondition == {"Enabled": True}
    assert disable.powershell == (
        "Set-InboundConnector -Identity 'e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08' -Enabled $false"
    )
    assert revert.guid == "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9"
    assert revert.parameters == {
        "Identity": "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9",
        "SenderIPAddresses": ["198.51.100.0/24"],
        "TreatMessagesAsInternal": False,
    }
    assert revert.precondition == {
        "SenderIPAddresses": ["198.51.100.0/24", "203.0.113.0/24"],
        "TreatMessagesAsInternal": True,
    }
    assert "remove 203.0.113.0/24" in revert.summary
    assert revert.powershell.endswith(
        "-SenderIPAddresses '198.51.100.0/24' -TreatMessagesAsInternal $false"
    )


def test_remove_unknown_removes_and_expects_every_setting(repo_root: Path) -> None:
    live = demo_live(repo_root)
    plan = make(
        baseline(demo_files(repo_root)),
        live,
        demo_findings(live),
        options=PlanOptions(remove_unknown=True),
    )
    first = plan.actions[0]
    assert first.kind is ActionKind.REMOVE
    assert first.cmdlet == "Remove-InboundConnector"
    assert first.parameters == {"Identity": "e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08"}
    assert isinstance(first.precondition, dict)
    assert first.precondition["SenderDomains"] == ["*"]
    assert plan.remove_unknown


def test_missing_connector_recreated_with_non_default_properties(repo_root: Path) -> None:
    files = demo_files(repo_root)
    files["new.yaml"] = {
        "Name": "Scanner 2",
        "ConnectorType": "OnPremises",
        "SenderDomains": ["contoso.com"],
        "SenderIPAddresses": ["198.51.100.30"],
        "ClientHostNames": ["scan2.contoso.com"],
    }
    live = demo_live(repo_root)
    missing = Finding(FindingKind.MISSING, "Scanner 2", None, Severity.HIGH, "r")
    plan = make(baseline(files), live, [*demo_findings(live), missing])
    create = plan.actions[-1]
    assert create.kind is ActionKind.CREATE
    assert create.precondition == ABSENT
    assert create.parameters == {
        "Name": "Scanner 2",
        "ConnectorType": "OnPremises",
        "SenderDomains": ["contoso.com"],
        "SenderIPAddresses": ["198.51.100.30/32"],
        "ClientHostNames": ["scan2.contoso.com"],
    }
    assert create.guid is None


def test_pinned_missing_connector_notes_the_new_guid(repo_root: Path) -> None:
    files = demo_files(repo_root)
    live = [c for c in demo_live(repo_root) if c.name != "Legacy scanner"]
    missing = Finding(
        FindingKind.MISSING,
        "Legacy scanner",
        "9c8b7a65-4d3e-4f21-9a0b-c1d2e3f4a5b7",
        Severity.HIGH,
        "r",
    )
    plan = make(baseline(files), live, [missing])
    assert plan.actions[0].parameters["Enabled"] is False
    assert any("new Guid" in n for n in plan.notes)


def test_rename_sets_name_and_expects_the_live_name(repo_root: Path) -> None:
    live = demo_live(repo_root)
    hybrid = next(c for c in live if c.name == "Hybrid relay")
    renamed = replace(
        hybrid, name="Hybrid relay v2", settings={**hybrid.settings, "Name": "Hybrid relay v2"}
    )
    live = [renamed if c is hybrid else c for c in live]
    plan = make(
        baseline(demo_files(repo_root)),
        live,
        [changed(renamed, "Name", "Hybrid relay", "Hybrid relay v2")],
    )
    (action,) = plan.actions
    assert action.parameters == {"Identity": hybrid.guid, "Name": "Hybrid relay"}
    assert action.precondition == {"Name": "Hybrid relay v2"}


def test_client_host_names_cannot_be_set_and_is_noted(repo_root: Path) -> None:
    live = demo_live(repo_root)
    hybrid = next(c for c in live if c.name == "Hybrid relay")
    plan = make(
        baseline(demo_files(repo_root)), live, [changed(hybrid, "ClientHostNames", (), ("x.evil",))]
    )
    assert plan.actions == ()
    assert any("ClientHostNames" in n for n in plan.notes)


def test_blocked_connector_unblocked_last(repo_root: Path) -> None:
    live = demo_live(repo_root)
    hybrid = next(c for c in live if c.name == "Hybrid relay")
    blocked = Finding(FindingKind.BLOCKED, hybrid.name, hybrid.guid, Severity.HIGH, "r")
    plan = make(baseline(demo_files(repo_root)), live, [blocked, *demo_findings(live)])
    last = plan.actions[-1]
    assert last.kind is ActionKind.UNBLOCK
    assert last.cmdlet == "Remove-BlockedConnector"
    assert last.parameters["ConnectorId"] == hybrid.guid
    assert [a.kind for a in plan.actions] == [
        ActionKind.DISABLE,
        ActionKind.REVERT,
        ActionKind.UNBLOCK,
    ]


def test_finding_without_live_connector_is_an_error(repo_root: Path) -> None:
    live = demo_live(repo_root)
    ghost = Finding(FindingKind.UNKNOWN, "Ghost", None, Severity.HIGH, "r")
    with pytest.raises(PlanError, match="Ghost"):
        make(baseline(demo_files(repo_root)), live, [ghost])


# --------------------------------------------------------------------------- safety


def _many_unknown(n: int, total_known: int = 0) -> tuple[TenantBaseline, list[Connector]]:
    live = []
    files = {}
    for i in range(total_known):
        files[f"k{i}.yaml"] = {"Name": f"known {i}", "SenderDomains": ["contoso.com"]}
        live.append(
            connector_from_record(
                {
                    "Name": f"known {i}",
                    "SenderDomains": ["contoso.com"],
                    "Guid": f"00000000-0000-0000-0000-{i:012d}",
                }
            )
        )
    for i in range(n):
        live.append(
            connector_from_record(
                {
                    "Name": f"evil {i}",
                    "SenderDomains": ["*"],
                    "Guid": f"11111111-0000-0000-0000-{i:012d}",
                }
            )
        )
    return baseline(files), live


def test_more_than_three_disables_need_force() -> None:
    tenant, live = _many_unknown(4, total_known=10)
    findings = [unknown(c) for c in live if c.name.startswith("evil")]
    with pytest.raises(PlanError, match="disables or removes 4 connectors"):
        make(tenant, live, findings)
    plan = make(tenant, live, findings, options=PlanOptions(force=True))
    assert plan.force and len(plan.actions) == 4


def test_threshold_is_configurable_and_fraction_counts() -> None:
    tenant, live = _many_unknown(2, total_known=1)
    findings = [unknown(c) for c in live if c.name.startswith("evil")]
    with pytest.raises(PlanError, match="2 of the tenant's 3 connectors"):
        make(tenant, live, findings)
    loose = PlanOptions(limits=SafetyLimits(max_disabled=5, max_fraction=0.9))
    assert len(make(tenant, live, findings, options=loose).actions) == 2
    strict = PlanOptions(limits=SafetyLimits(max_disabled=1, max_fraction=1.0))
    with pytest.raises(PlanError, match="limit 1"):
        make(tenant, live, findings, options=strict)


def test_connector_carrying_mail_needs_force(repo_root: Path) -> None:
    live = demo_live(repo_root)
    tenant = baseline(demo_files(repo_root))
    with pytest.raises(PlanError, match="'Hybrid relay' carried 12 messages"):
        make(tenant, live, demo_findings(live), mail_counts={"hybrid relay": 12})
    by_guid = {"E7D54C3B-2A19-4F08-B6E5-D4C3B2A19F08": 3}
    with pytest.raises(PlanError, match="Inbound relay"):
        make(tenant, live, demo_findings(live), mail_counts=by_guid)
    quiet = make(tenant, live, demo_findings(live), mail_counts={"Hybrid relay": 0})
    assert len(quiet.actions) == 2
    forced = make(
        tenant,
        live,
        demo_findings(live),
        mail_counts={"Hybrid relay": 12},
        options=PlanOptions(force=True),
    )
    assert forced.force


# --------------------------------------------------------------------------- document


def test_digest_is_stable_and_covers_content(repo_root: Path) -> None:
    live = demo_live(repo_root)
    tenant = baseline(demo_files(repo_root))
    a = make(tenant, live, demo_findings(live))
    b = make(tenant, list(reversed(live)), list(reversed(demo_findings(live))))
    assert planfile.plan_digest(a) == planfile.plan_digest(b)
    later = replace(a, expires_at=a.expires_at + timedelta(seconds=1))
    assert planfile.plan_digest(later) != planfile.plan_digest(a)


def fixed_plan() -> Plan:
    """A plan written out by hand, independent of the demo files."""
    action = Action(
        id="001-disable",
        kind=ActionKind.DISABLE,
        tenant="contoso",
        connector="Relais für Zürich",
        guid="e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08",
        cmdlet="Set-InboundConnector",
        parameters={"Identity": "e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08", "Enabled": False},
        precondition={"Enabled": True},
    )
    return Plan(
        tenant="contoso",
        tenant_id=TENANT_ID,
        baseline_commit="0123456789abcdef0123456789abcdef01234567",
        snapshot_digest="sha256:" + "ab" * 32,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=24),
        actions=(action,),
        baseline_digest="sha256:" + "cd" * 32,
        live=TenantState(
            connectors=(
                ConnectorState(
                    name="Relais für Zürich",
                    guid="e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08",
                    settings={"Name": "Relais für Zürich", "Enabled": True, "SenderDomains": ["*"]},
                    unknown={"FutureProperty": 7},
                ),
            ),
            blocked=(BlockedEntry("e7d54c3b-2a19-4f08-b6e5-d4c3b2a19f08", None),),
        ),
    )


def test_golden_digest_of_a_fixed_plan() -> None:
    doc = planfile.to_document(fixed_plan())
    canonical = planfile.canonical_json({k: v for k, v in doc.items() if k != "digest"})
    assert canonical.startswith(b'{"actions":[{"cmdlet":"Set-InboundConnector","connector":')
    assert "Relais für Zürich".encode() in canonical  # UTF-8, not \\u escapes
    assert doc["digest"] == "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert doc["digest"] == GOLDEN


GOLDEN = "sha256:d4fa2b6f64ea53402842344de73795fd44b96f336be70961784caf334a1e8379"


def test_non_ascii_is_hashed_as_utf8(repo_root: Path) -> None:
    doc = {"b": "Zürich", "a": 1}
    assert planfile.canonical_json(doc) == '{"a":1,"b":"Zürich"}'.encode()


def test_written_plan_validates_and_round_trips(tmp_path: Path, repo_root: Path) -> None:
    live = demo_live(repo_root)
    plan = make(baseline(demo_files(repo_root)), live, demo_findings(live))
    path = tmp_path / "plan.json"
    digest = planfile.write_plan(path, plan)
    doc = json.loads(path.read_text())
    schema = json.loads((repo_root / "src/driftguard/plan.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema)
    assert doc["digest"] == digest
    assert planfile.read_plan(path) == plan


def test_tampered_plan_is_refused(tmp_path: Path, repo_root: Path) -> None:
    live = demo_live(repo_root)
    plan = make(baseline(demo_files(repo_root)), live, demo_findings(live))
    path = tmp_path / "plan.json"
    planfile.write_plan(path, plan)
    doc = json.loads(path.read_text())
    doc["actions"][0]["parameters"]["Enabled"] = True
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanError, match="digest does not match"):
        planfile.read_plan(path)


def test_schema_violation_is_refused(tmp_path: Path, repo_root: Path) -> None:
    live = demo_live(repo_root)
    plan = make(baseline(demo_files(repo_root)), live, demo_findings(live))
    doc = planfile.to_document(plan)
    doc["actions"][0]["cmdlet"] = "Invoke-Expression"
    doc["digest"] = planfile.digest_of(doc)  # even with a matching digest
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanError, match=r"not a valid driftguard plan.*cmdlet"):
        planfile.read_plan(path)
    path.write_text("{not json")
    with pytest.raises(PlanError, match="invalid JSON"):
        planfile.read_plan(path)


# --------------------------------------------------------------------------- PowerShell


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "'plain'"),
        ("it's", "'it''s'"),
        ("curly\u2019s", "'curly\u2019\u2019s'"),
        ("$(Remove-Item x)", "'$(Remove-Item x)'"),
        ("a\nRemove-InboundConnector b", "('a' + [char]10 + 'Remove-InboundConnector b')"),
        ("", "''"),
        ("\x1b", "('' + [char]27)"),
    ],
)
def test_quote(text: str, expected: str) -> None:
    assert pwsh.quote(text) == expected


def test_command_line_values() -> None:
    line = pwsh.command_line(
        "Set-InboundConnector",
        {
            "Identity": "x",
            "Enabled": True,
            "SenderIPAddresses": [],
            "EFUsers": ["a@b", "c@d"],
            "Comment": None,
        },
    )
    assert line == (
        "Set-InboundConnector -Identity 'x' -Enabled $true -SenderIPAddresses @() "
        "-EFUsers 'a@b','c@d' -Comment $null"
    )


def _evaluate(expr: str) -> str:
    """A tiny evaluator of the PowerShell expressions pwsh.quote emits ('...', [char]N, +)."""
    quotes = "'\u2018\u2019\u201a\u201b"
    inner = expr[1:-1] if expr.startswith("(") else expr
    out, i = [], 0
    while i < len(inner):
        if inner[i] in quotes:
            i += 1
            while True:
                if inner[i] in quotes:
                    if i + 1 < len(inner) and inner[i + 1] in quotes:
                        out.append(inner[i])
                        i += 2
                        continue
                    i += 1
                    break
                assert not pwsh._CONTROL.match(inner[i])  # no raw control char inside quotes
                out.append(inner[i])
                i += 1
        elif inner.startswith("[char]", i):
            j = i + 6
            while j < len(inner) and inner[j].isdigit():
                j += 1
            out.append(chr(int(inner[i + 6 : j])))
            i = j
        else:
            assert inner.startswith(" + ", i), inner[i:]
            i += 3
    return "".join(out)


@given(st.text())
def test_quote_round_trips(text: str) -> None:
    expr = pwsh.quote(text)
    assert "\n" not in expr and "\x1b" not in expr
    assert _evaluate(expr) == text


def test_a_plan_of_the_previous_format_is_refused_with_a_hint(tmp_path: Path) -> None:
    doc = planfile.to_document(fixed_plan())
    doc["plan_version"] = 1
    doc["digest"] = planfile.digest_of(doc)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanError, match="plan format version 1 is not the one") as caught:
        planfile.read_plan(path)
    assert caught.value.hint is not None and "driftguard plan --out PLAN" in caught.value.hint
