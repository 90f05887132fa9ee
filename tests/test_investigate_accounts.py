"""The admin account investigation against the HTTPS simulator's demo tenant: real msal, requests
and TLS; Graph's identity evidence (sign-ins, risky users, role assignments, directory audits)
served from the tenant's own records, with its permission and licence refusals."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main
from driftguard.investigate import accountflags
from driftguard.investigate.accountmodel import FlagKind
from driftguard.model import AuditEvent
from driftguard.sim import Simulator, graph_identity
from driftguard.sim.demo import ADMIN, ADMIN_IP, INTRUDER, INTRUDER_IP
from investigate_kit import baseline_for, run_json
from simulator import pinned_session, sim_token

TENANT = "demo"


@pytest.fixture
def demo(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(tenants=0, demo=True)


def _args(folder: Path, *extra: str) -> list[str]:
    return ["investigate", "--baseline", str(folder), "--tenant", TENANT, *extra]


def _accounts(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    section = report["tenants"][0]["evidence"]["accounts"]
    return {a["actor"]: a for a in section["accounts"]}


def _run(capsys: pytest.CaptureFixture[str], folder: Path, *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(_args(folder, *extra))
    return code, capsys.readouterr().err


@contextmanager
def _without_permission(simulator: Simulator, permission: str) -> Iterator[None]:
    """Every app of the tenant loses one Graph application permission for the block."""
    grants = simulator.tenant(TENANT).grants
    saved = {k: g.graph_roles for k, g in grants.items()}
    for grant in grants.values():
        grant.graph_roles = tuple(r for r in grant.graph_roles if r != permission)
    try:
        yield
    finally:
        for key, roles in saved.items():
            grants[key].graph_roles = roles


@contextmanager
def _flagged(flags: set[str], tenant_id: str) -> Iterator[None]:
    flags.add(tenant_id)
    try:
        yield
    finally:
        flags.discard(tenant_id)


def test_the_intruder_raises_every_flag_and_the_admin_none(
    demo: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(demo, tmp_path / "b", [TENANT])
    code, report = run_json(capsys, *_args(folder))
    assert code == 2
    tenant = report["tenants"][0]
    evidence = tenant["evidence"]
    assert evidence["suspicious"] is True
    assert evidence["sources"]["accounts"].startswith("graph:")
    accounts = _accounts(report)
    assert list(accounts) == [INTRUDER, ADMIN]  # the latest to act first
    intruder, admin = accounts[INTRUDER], accounts[ADMIN]

    assert [f["kind"] for f in intruder["flags"]] == [k.value for k in FlagKind]
    assert intruder["change_ips"] == [INTRUDER_IP]
    assert intruder["history_countries"] == ["US"]
    assert intruder["risk"]["level"] == "high" and intruder["risk"]["state"] == "atRisk"
    assert [r["name"] for r in intruder["roles"]] == ["Exchange Administrator"]
    (method,) = intruder["methods"]
    assert "Authenticator App" in method["detail"] and method["ip"] == INTRUDER_IP
    first = datetime.fromisoformat(intruder["first_change"].replace("Z", "+00:00"))
    registered = datetime.fromisoformat(method["time"].replace("Z", "+00:00"))
    assert timedelta(0) < first - registered < timedelta(days=1)
    # The failed password attempt is shown but raises nothing; the successful ones do.
    failed = [s for s in intruder["sign_ins"] if s["error_code"] != 0]
    assert failed and all(s["flags"] == [] for s in failed)
    legacy = [s for s in intruder["sign_ins"] if "legacy-auth" in s["flags"]]
    assert [s["client"] for s in legacy] == ["Authenticated SMTP"]
    minutes = [
        first - datetime.fromisoformat(s["time"].replace("Z", "+00:00"))
        for s in intruder["sign_ins"]
        if "change-ip" in s["flags"]
    ]
    assert min(minutes) < timedelta(minutes=10)  # signed in minutes before the change

    assert admin["flags"] == [] and admin["notes"] == []
    assert admin["change_ips"] == [ADMIN_IP]
    assert admin["sign_ins"] and all(
        s["authentication"] == "multiFactorAuthentication" and s["ip"] == ADMIN_IP
        for s in admin["sign_ins"]
    )
    assert admin["risk"] is None
    assert any("admin account" in w and INTRUDER in w and "no-mfa" in w for w in tenant["warnings"])
    assert not any("admin account" in w and ADMIN in w for w in tenant["warnings"])


def test_the_text_report_names_the_flags(
    demo: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(demo, tmp_path / "b", [TENANT])
    code = main(_args(folder))
    out = capsys.readouterr().out
    assert code == 2
    assert f"FLAGGED ACCOUNT {INTRUDER}" in out
    assert f"account {ADMIN} (Exchange Admin): no flags" in out
    for kind in FlagKind:
        assert f"FLAG {kind.value}: " in out


PERMISSIONS = [
    ("User.Read.All", "directory users"),
    ("AuditLog.Read.All", "sign-ins"),
    ("IdentityRiskyUser.Read.All", "risky users"),
    ("RoleManagement.Read.Directory", "role assignments"),
]


@pytest.mark.parametrize(("permission", "source"), PERMISSIONS)
def test_a_missing_permission_fails_the_tenant_naming_source_and_permission(
    demo: Simulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    permission: str,
    source: str,
) -> None:
    folder = baseline_for(demo, tmp_path / "b", [TENANT])
    with _without_permission(demo, permission):
        code, err = _run(capsys, folder)
        assert code == 1
        assert f"accounts: {source}: " in err and permission in err
        assert "--skip accounts" in err
        code, report = run_json(capsys, *_args(folder, "--skip", "accounts"))
    assert code == 2  # the rest of the evidence still reads
    evidence = report["tenants"][0]["evidence"]
    assert evidence["accounts"] is None
    assert evidence["sources"]["accounts"] == "not requested"


@pytest.mark.parametrize(
    ("switch", "source", "licence"),
    [
        (graph_identity.NO_PREMIUM, "sign-ins", "Microsoft Entra ID P1 or P2"),
        (graph_identity.NO_P2, "risky users", "Microsoft Entra ID P2"),
    ],
    ids=["no-premium", "no-p2"],
)
def test_a_missing_licence_fails_the_tenant_naming_source_and_licence(
    demo: Simulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    switch: set[str],
    source: str,
    licence: str,
) -> None:
    folder = baseline_for(demo, tmp_path / "b", [TENANT])
    with _flagged(switch, demo.tenant(TENANT).tenant_id):
        code, err = _run(capsys, folder)
    assert code == 1
    assert f"accounts: {source}: the tenant has no {licence} licence" in err
    assert "nothing suspicious" not in err


def test_a_record_not_in_the_documented_shape_fails_closed(
    demo: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(demo, tmp_path / "b", [TENANT])
    tenant = demo.tenant(TENANT)
    broken = next(s for s in tenant.sign_ins if s["userPrincipalName"] == INTRUDER)
    broken["status"] = {"errorCode": "0"}  # a string where Graph writes a number
    code, err = _run(capsys, folder)
    assert code == 1
    assert "accounts: sign-ins: record" in err and "status.errorCode" in err
    del broken["authenticationRequirement"]  # what v1.0 answers: MFA unknown is not "no MFA"
    broken["status"] = {"errorCode": 0}
    code, err = _run(capsys, folder)
    assert code == 1
    assert "authenticationRequirement: missing" in err


def test_more_sign_ins_than_the_bound_is_an_error_not_a_shorter_list(
    demo: Simulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from driftguard.investigate import accounts

    folder = baseline_for(demo, tmp_path / "b", [TENANT])
    monkeypatch.setattr(accounts, "MAX_SIGN_INS", 3)
    code, err = _run(capsys, folder)
    assert code == 1
    assert "accounts: sign-ins: more than 3 records for one actor" in err


def test_hostile_identity_values_are_rendered_inert(
    demo: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = baseline_for(demo, tmp_path / "b", [TENANT])
    tenant = demo.tenant(TENANT)
    app = "<script>alert(1)</script>|**bold**|\x1b[31mred\u202e"
    city = "Evil\nCity <img src=x onerror=alert(2)> [link](https://evil.example)"
    for record in tenant.sign_ins:
        if record["userPrincipalName"] == INTRUDER:
            record["appDisplayName"] = app
            record["location"]["city"] = city
    outputs = {}
    for fmt in ("text", "markdown", "html"):
        capsys.readouterr()
        assert main([*_args(folder), "--format", fmt]) == 2
        outputs[fmt] = capsys.readouterr().out
    for fmt, text in outputs.items():
        assert "\x1b" not in text and "\u202e" not in text
        assert fmt == "text" or ("<script>" not in text and "<img" not in text)
    assert "alert(1)" in outputs["text"] and "Evil City" in outputs["text"]
    assert "&lt;script&gt;" in outputs["html"]
    assert "\\|" in outputs["markdown"] or "&#124;" in outputs["markdown"]
    assert "](https://evil.example)" not in outputs["markdown"]


def test_the_simulator_refuses_filters_graph_does_not_support(demo: Simulator) -> None:
    token = sim_token(demo, TENANT, scope="https://graph.microsoft.com/.default")
    session = pinned_session(demo.ca_path)
    headers = {"Authorization": f"Bearer {token}"}

    def get(path: str, **params: str) -> Any:
        return session.get(f"{demo.url}{path}", params=params, headers=headers, timeout=10)

    assert get("/beta/auditLogs/signIns", **{"$filter": "deviceId eq 'x'"}).status_code == 400
    assert get("/beta/auditLogs/signIns", **{"$top": "5000"}).status_code == 400
    upn = f"userPrincipalName eq '{INTRUDER}'"
    beta = get("/beta/auditLogs/signIns", **{"$filter": upn}).json()["value"]
    v1 = get("/v1.0/auditLogs/signIns", **{"$filter": upn}).json()["value"]
    assert beta and len(beta) == len(v1)
    assert all("authenticationRequirement" in s for s in beta)
    assert not any("authenticationRequirement" in s for s in v1)  # beta only, as in Graph
    times = [s["createdDateTime"] for s in beta]
    assert times == sorted(times, reverse=True)  # newest first
    audits = get("/v1.0/auditLogs/directoryAudits", **{"$filter": "initiatedBy/app/appId eq 'x'"})
    assert audits.status_code == 400


# --------------------------------------------------------------------------- pure parts


def _event(actor: str, when: datetime, ip: str = "203.0.113.9", app: str = "") -> AuditEvent:
    return AuditEvent(when, actor, ip, "Set-InboundConnector", "Hybrid relay", app_id=app or None)


def test_actors_are_the_users_of_connector_operations_in_the_window() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = datetime(2026, 11, 30, tzinfo=UTC)
    events = [
        _event("a@contoso.com", datetime(2026, 11, 10, tzinfo=UTC)),
        _event("A@contoso.com", datetime(2026, 11, 12, tzinfo=UTC), ip="198.51.100.7"),
        _event("b@contoso.com", datetime(2026, 10, 1, tzinfo=UTC)),  # before the window
        _event("app:1b730954", datetime(2026, 11, 11, tzinfo=UTC), app="1b730954"),
        AuditEvent(datetime(2026, 11, 11, tzinfo=UTC), "c@contoso.com", None, "New-Mailbox", ""),
    ]
    chosen, skipped, beyond = accountflags.targets(events, start, end)
    assert [(t.actor, t.first_change.day, t.last_change.day) for t in chosen] == [
        ("a@contoso.com", 10, 12)
    ]
    assert chosen[0].change_ips == ("203.0.113.9", "198.51.100.7")
    assert [s.actor for s in skipped] == ["app:1b730954"]
    assert "app-only" in skipped[0].reason and "1b730954" in skipped[0].reason
    assert beyond == 0


def test_more_actors_than_the_bound_are_counted_not_dropped_silently() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    events = [
        _event(f"user{n}@contoso.com", start + timedelta(minutes=n))
        for n in range(accountflags.MAX_ACCOUNTS + 3)
    ]
    chosen, _skipped, beyond = accountflags.targets(events, start, start + timedelta(days=1))
    assert len(chosen) == accountflags.MAX_ACCOUNTS and beyond == 3
    assert chosen[0].actor == f"user{accountflags.MAX_ACCOUNTS + 2}@contoso.com"


def test_account_evidence_reads_back_strictly(
    demo: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.investigation import EvidenceError, from_json, to_json

    folder = baseline_for(demo, tmp_path / "b", [TENANT])
    _code, report = run_json(capsys, *_args(folder))
    evidence = report["tenants"][0]["evidence"]
    assert to_json(from_json(evidence)) == evidence
    odd = json.loads(json.dumps(evidence))
    odd["accounts"]["accounts"][0]["flags"][0]["kind"] = "looks-fine"
    with pytest.raises(EvidenceError, match="unknown account flag"):
        from_json(odd)
    older = {k: v for k, v in evidence.items() if k != "accounts"}  # a report from before
    assert from_json(older).accounts is None


# --------------------------------------------------------------------------- documented shapes

FIXTURE = Path(__file__).parent / "fixtures" / "sim" / "graph-identity-records.json"


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__ if value is not None else "null"


def test_the_simulator_writes_the_documented_shapes(demo: Simulator) -> None:
    documented = json.loads(FIXTURE.read_text("utf-8"))
    tenant = demo.tenant(TENANT)
    served = {
        "signIn": tenant.sign_ins[-1],
        "riskyUser": tenant.risky_users[0],
        "directoryAudit": tenant.directory_audits[0],
    }
    for name, record in served.items():
        assert _shape(record) == _shape(documented[name]), name
    assignment = dict(tenant.role_assignments[0])
    assert set(assignment) | {"roleDefinition"} == set(documented["roleAssignment"])


class _FixturePages:
    """A Graph reader serving the documented records, one page per source."""

    def __init__(self, records: dict[str, Any]) -> None:
        self.by_path = {
            "/v1.0/users": [{"id": records["riskyUser"]["id"], "displayName": "H"}],
            "/beta/auditLogs/signIns": [records["signIn"]],
            "/v1.0/identityProtection/riskyUsers": [records["riskyUser"]],
            "/v1.0/roleManagement/directory/roleAssignments": [records["roleAssignment"]],
            "/v1.0/auditLogs/directoryAudits": [records["directoryAudit"]],
        }

    def pages(self, path: str, params: Any = None) -> Iterator[list[dict[str, Any]]]:
        yield self.by_path[path]


def test_the_reader_reads_the_documented_shapes() -> None:
    from driftguard.investigate.accounts import read_account

    records = json.loads(FIXTURE.read_text("utf-8"))
    target = accountflags.Target(
        INTRUDER,
        datetime(2026, 11, 28, 2, 38, tzinfo=UTC),
        datetime(2026, 11, 28, 2, 41, tzinfo=UTC),
        (INTRUDER_IP,),
    )
    read = read_account(
        _FixturePages(records), target, accountflags.RULE, datetime(2026, 11, 29, tzinfo=UTC)
    )
    (sign_in,) = read.sign_ins
    assert (sign_in.ip, sign_in.country, sign_in.city, sign_in.error_code) == (
        INTRUDER_IP,
        "RO",
        "Bucharest",
        0,
    )
    assert sign_in.authentication == "singleFactorAuthentication"
    assert read.risk is not None and (read.risk.level, read.risk.state) == ("high", "atRisk")
    assert [(r.name, r.privileged) for r in read.roles] == [("Exchange Administrator", True)]
    assert [m.ip for m in read.methods] == [INTRUDER_IP]


# --------------------------------------------------------------------------- the rules


CHANGE = datetime(2026, 11, 28, 2, 38, tzinfo=UTC)


def _sign_in(days_before: float, ip: str, country: str, **changes: Any) -> Any:
    from driftguard.investigate.accountmodel import SignInEntry

    entry = SignInEntry(
        time=CHANGE - timedelta(days=days_before),
        ip=ip,
        country=country,
        city="",
        app="Azure Portal",
        client="Browser",
        authentication="multiFactorAuthentication",
        conditional_access="success",
        error_code=0,
        interactive=True,
    )
    return replace(entry, **changes)


def _assess(
    sign_ins: list[Any],
    *,
    ranges: tuple[str, ...] = (),
    admins: tuple[str, ...] = (),
    roles: tuple[Any, ...] = (),
    risk: Any = None,
) -> Any:
    from driftguard.investigate.accounts import AccountRead, UserRecord
    from driftguard.model import TenantConfig

    target = accountflags.Target("ops@contoso.com", CHANGE, CHANGE, ("192.0.2.7",))
    read = AccountRead(target, UserRecord("id-1", "Ops", True), tuple(sign_ins), risk, roles, ())
    config = TenantConfig("t", "tid", trusted_ip_ranges=ranges, admins=admins)
    return accountflags.assess(read, config)


def test_without_trusted_ranges_the_change_ip_is_odd_only_when_new() -> None:
    known = _assess([_sign_in(20, "192.0.2.7", "US"), _sign_in(1, "192.0.2.7", "US")])
    assert known.flags == ()
    new = _assess([_sign_in(20, "192.0.2.9", "US"), _sign_in(1, "192.0.2.7", "US")])
    assert [f.kind for f in new.flags] == [FlagKind.CHANGE_IP]
    trusted = _assess([_sign_in(1, "192.0.2.7", "US")], ranges=("192.0.2.0/24",))
    assert trusted.flags == ()


def test_no_history_means_no_country_can_be_new_and_it_says_so() -> None:
    entry = _assess([_sign_in(1, "192.0.2.7", "NZ")], ranges=("192.0.2.0/24",))
    assert entry.flags == ()
    assert any("no country can be judged new" in n for n in entry.notes)
    failed_only = _assess(
        [_sign_in(20, "198.51.100.1", "US", error_code=50126), _sign_in(1, "192.0.2.7", "NZ")],
        ranges=("192.0.2.0/24",),
    )
    assert failed_only.history_countries == ()  # a failed attempt makes no country familiar


def test_roles_flag_only_against_a_list_of_admins_and_cleared_risk_is_not_risky() -> None:
    from driftguard.investigate.accountmodel import RiskEntry, RoleEntry

    role = RoleEntry("Global Administrator", "62e90394-69f5-4237-9190-012177145e10", "/", True)
    unlisted = _assess([], admins=("boss@contoso.com",), roles=(role,))
    assert [f.kind for f in unlisted.flags] == [FlagKind.PRIVILEGED_ROLE]
    assert _assess([], admins=("OPS@contoso.com",), roles=(role,)).flags == ()
    no_list = _assess([], roles=(role,))
    assert no_list.flags == () and any("lists no admins" in n for n in no_list.notes)
    cleared = RiskEntry("high", "remediated", "userPerformedSecuredPasswordReset", None)
    assert _assess([], risk=cleared).flags == ()
    confirmed = RiskEntry("none", "confirmedCompromised", "adminConfirmedUserCompromised", None)
    assert [f.kind for f in _assess([], risk=confirmed).flags] == [FlagKind.RISKY_USER]


def test_the_account_text_names_skipped_actors_and_the_bound() -> None:
    from driftguard.investigate.accountmodel import AccountsSection, SkippedActor
    from driftguard.report.accounts_text import render_accounts

    entry = _assess([_sign_in(1, "192.0.2.7", "US", app="Evil\x1b[2J\nApp")])
    section = AccountsSection(
        rule=accountflags.RULE,
        accounts=(entry,),
        skipped=(SkippedActor("app:1b730954", "not a user principal"),),
        not_investigated=4,
    )
    lines = render_accounts(section)
    assert all("\x1b" not in line and "\n" not in line for line in lines)
    assert any("Evil App" in line for line in lines)
    assert "  SKIPPED ACTOR app:1b730954: not a user principal" in lines
    assert "  4 more actors not investigated (the latest 1 were)" in lines
    empty = AccountsSection(accountflags.RULE, (), (), 0)
    assert render_accounts(empty) == ["  accounts: no user acted on a connector in the window"]


def test_an_actor_missing_from_the_directory_is_said_so_not_cleared(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from investigate_kit import SINCE, tamper

    folder = baseline_for(sim, tmp_path / "b", ["tenant-0001"])
    tamper(sim, "tenant-0001", "internal")
    code, report = run_json(
        capsys,
        "investigate",
        "--baseline",
        str(folder),
        "--tenant",
        "tenant-0001",
        "--since",
        SINCE,
    )
    assert code == 2
    (entry,) = report["tenants"][0]["evidence"]["accounts"]["accounts"]
    assert entry["actor"] == "svc-relay@tenant-0001.onmicrosoft.com"
    assert entry["user_id"] is None and entry["risk"] is None and entry["roles"] == []
    assert any("not found in the directory" in n for n in entry["notes"])
    graph = [r.endpoint for r in sim.requests_log if r.endpoint.startswith("graph-")]
    assert "graph-users-list" in graph and "graph-signins" in graph  # read by name still
    assert "graph-risky-users" not in graph  # nothing to look up without an id


def test_sign_ins_are_read_across_pages(
    demo: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.sim.identity_records import add_sign_in

    folder = baseline_for(demo, tmp_path / "b", [TENANT])
    tenant = demo.tenant(TENANT)
    first = min(
        datetime.fromisoformat(s["createdDateTime"].replace("Z", "+00:00"))
        for s in tenant.sign_ins
        if s["userPrincipalName"] == INTRUDER
    )
    for n in range(1500):  # a password spray in the history: failed, from everywhere
        when = first - timedelta(days=1, minutes=n)
        add_sign_in(tenant, INTRUDER, when, ip="192.0.2.1", country="BR", city="", error_code=50126)
    code, report = run_json(capsys, *_args(folder))
    assert code == 2
    intruder = _accounts(report)[INTRUDER]
    assert intruder["history_sign_ins"] == 1502
    assert intruder["history_countries"] == ["US"]  # failed attempts make no country familiar
    pages = [r for r in demo.requests_log if r.endpoint == "graph-signins"]
    assert len(pages) == 3  # two for the intruder (1,000 a page), one for the admin
