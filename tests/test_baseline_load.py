"""Loading a baseline folder: located YAML, schemas, cross-file checks, ignore entries."""

from __future__ import annotations

import json
import re
import string
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from driftguard.baseline import yamlsafe
from driftguard.baseline.fastcheck import surely_valid
from driftguard.baseline.files import connector_file, ignore_file, tenant_file
from driftguard.baseline.load import (
    check,
    demo_root,
    ignore_problems,
    load_baseline,
    load_requested,
)
from driftguard.baseline.schemas import SCHEMA_DIR, connector_schema
from driftguard.errors import BaselineError, Problem
from driftguard.properties import READ_ONLY, SETTABLE, UNMODELLED

TENANT_YAML = "tenant_id: 5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13\n"
GOOD = """\
Name: Hybrid relay
Guid: ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9
ConnectorType: OnPremises
SenderDomains: [contoso.com]
SenderIPAddresses: [198.51.100.0/24, 203.0.113.7]
RestrictDomainsToIPAddresses: true
RequireTls: true
TlsSenderCertificateName: mail.contoso.com
"""


def make_tenant(
    root: Path,
    connectors: dict[str, str | bytes],
    *,
    name: str = "contoso",
    tenant_yaml: str | None = TENANT_YAML,
) -> Path:
    inbound = root / name / "inbound"
    inbound.mkdir(parents=True, exist_ok=True)
    if tenant_yaml is not None:
        (root / name / "tenant.yaml").write_text(tenant_yaml, encoding="utf-8")
    for filename, body in connectors.items():
        data = body.encode("utf-8") if isinstance(body, str) else body
        (inbound / filename).write_bytes(data)
    return root


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(BaselineError) as caught:
        load_baseline(root)
    assert caught.value.problems, "a BaselineError must carry its problems"
    return list(caught.value.problems)


def only_problem(root: Path) -> Problem:
    found = problems_of(root)
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------- the good path


def test_demo_baseline_loads_with_locations(repo_root: Path) -> None:
    baseline = load_baseline(repo_root / "baseline")
    demo = baseline.tenants["demo"]
    assert demo.config.tenant_id == "5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13"
    assert demo.config.accepted_domains == ("contoso.com", "contoso.onmicrosoft.com")
    assert demo.config.trusted_ip_ranges == ("198.51.100.0/24",)
    assert demo.config.admins == ("exadmin@contoso.com",)
    names = {c.connector.name: c for c in demo.connectors}
    assert set(names) == {"Hybrid relay", "Fabrikam partner TLS", "Legacy scanner"}
    relay = names["Hybrid relay"]
    assert relay.connector.guid == "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9"
    assert relay.connector.settings["ConnectorType"] == "OnPremises"
    assert relay.connector.settings["SenderIPAddresses"] == ("198.51.100.0/24",)
    assert relay.connector.settings["EFTestMode"] is False  # defaults filled in
    # the file starts with a comment line, so Name stands on line 2
    assert relay.key_locations["Name"].line == 2
    assert relay.key_locations["Comment"].line == 12
    assert relay.connector.location is not None
    assert relay.connector.location.path.endswith("hybrid-relay.yaml")
    assert relay.raw["Comment"] == "Exchange 2019 hybrid relay"


def test_packaged_demo_equals_repo_demo_byte_for_byte(repo_root: Path) -> None:
    repo = repo_root / "baseline" / "demo"
    packaged = demo_root() / "demo"
    repo_files = sorted(p.relative_to(repo) for p in repo.rglob("*") if p.is_file())
    packaged_files = sorted(p.relative_to(packaged) for p in packaged.rglob("*") if p.is_file())
    assert repo_files == packaged_files
    assert repo_files, "the demo baseline has files"
    for rel in repo_files:
        assert (repo / rel).read_bytes() == (packaged / rel).read_bytes(), rel
    assert check(demo_root()).problems == ()


def test_yml_suffix_and_single_string_lists(tmp_path: Path) -> None:
    body = "Name: Partner\nSenderDomains: '*'\n"
    make_tenant(tmp_path, {"p.yml": body})
    connector = load_baseline(tmp_path).tenants["contoso"].connectors[0].connector
    assert connector.settings["SenderDomains"] == ("*",)
    assert connector.settings["ConnectorType"] == "Partner"


def test_enums_are_case_insensitive(tmp_path: Path) -> None:
    body = GOOD.replace("OnPremises", "onpremises") + "ConnectorSource: adminui\n"
    make_tenant(tmp_path, {"a.yaml": body})
    settings_ = load_baseline(tmp_path).tenants["contoso"].connectors[0].connector.settings
    assert settings_["ConnectorType"] == "OnPremises"
    assert settings_["ConnectorSource"] == "Default"


def test_tenant_filter_and_unknown_tenant(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD}, name="alpha")
    make_tenant(tmp_path, {"a.yaml": GOOD}, name="beta")
    assert list(load_baseline(tmp_path, ["beta"]).tenants) == ["beta"]
    with pytest.raises(BaselineError) as caught:
        load_baseline(tmp_path, ["gamma"])
    assert "gamma" in caught.value.message
    assert "alpha, beta" in caught.value.message


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="no baseline folder"):
        load_baseline(tmp_path / "nowhere")


def test_demo_tenant_falls_back_to_the_packaged_demo(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD}, name="alpha")
    both = load_requested(tmp_path, ["demo", "alpha"])
    assert set(both.tenants) == {"demo", "alpha"}
    only = load_requested(tmp_path / "absent", ["demo"])
    assert list(only.tenants) == ["demo"]


def test_tenant_yaml_paths_are_resolved_relative_to_it(tmp_path: Path) -> None:
    tenant_yaml = (
        TENANT_YAML
        + "cloud: gcc-high\n"
        + "trusted_ip_ranges: [198.51.100.7, 2001:db8::/32]\n"
        + "endpoints: {ca_bundle: certs/ca.pem, exchange_host: 'localhost:8443'}\n"
        + "auth:\n  client_id: abc\n  certificate_path: app.pem\n"
        + "  write: {client_id: def, federated_token_file: tok/jwt}\n"
    )
    make_tenant(tmp_path, {}, tenant_yaml=tenant_yaml)
    config = load_baseline(tmp_path).tenants["contoso"].config
    folder = (tmp_path / "contoso").resolve()
    assert config.cloud == "gcc-high"
    assert config.trusted_ip_ranges == ("198.51.100.7/32", "2001:db8::/32")
    assert config.endpoints.ca_bundle == str(folder / "certs" / "ca.pem")
    assert config.endpoints.exchange_host == "localhost:8443"
    assert config.auth["certificate_path"] == str(folder / "app.pem")
    assert config.auth["write"]["federated_token_file"] == str(folder / "tok" / "jwt")
    assert config.auth["client_id"] == "abc"


# --------------------------------------------------------------------------- file-level errors


@pytest.mark.parametrize(
    ("body", "fragment", "line", "col"),
    [
        (b"Name: a\nSenderDomains: [x.com]\nName: b\n", "duplicate key 'Name'", 3, 1),
        (b"\xef\xbb\xbfName: a\n", "byte-order mark", 1, 1),
        ("Name: a\n".encode("utf-16"), "UTF-16", 1, 1),
        (b"Name: a\nComment: caf\xe9\n", "not UTF-8", 2, 13),
        (b"Name: a\nSenderDomains:\n\t- x.com\n", "tab character", 3, 1),
        (b"", "file is empty", 1, 1),
        (b"# only a comment\n\n", "file is empty", 1, 1),
        (b"---\n...\n", "file is empty", 1, 1),
        (b"Name: a\nSenderDomains: *\n", 'must be quoted, e.g. "*"', 2, 17),
        (b"Name: [unclosed\n", "invalid YAML", 2, 1),
        (b"Name: a\n---\nName: b\n", "invalid YAML", 2, 1),
        (b"<<: {Name: a}\nSenderDomains: [x]\n", "merge keys", 1, 1),
        (b"Name: !!python/object:os.system a\n", "unsupported tag", 1, 7),
        (b"Name: !custom a\n", "unsupported tag", 1, 7),
        (b"? [a, b]\n: c\n", "a key must be plain text", 1, 3),
        (b"a: &x [*x]\n", "", 1, 1),  # recursive alias: nested too deep or too many values
        (b"Name: " + b"[" * 40 + b"]" * 40 + b"\n", "nested deeper", 1, 1),
        (b"Name: 1" + b"0" * 5000 + b"\n", "cannot read value", 1, 7),
    ],
)
def test_unreadable_files(tmp_path: Path, body: bytes, fragment: str, line: int, col: int) -> None:
    make_tenant(tmp_path, {"bad.yaml": body})
    problem = only_problem(tmp_path)
    assert problem.path.endswith("bad.yaml")
    assert fragment in problem.message
    if fragment not in ("", "nested deeper"):
        assert (problem.line, problem.column) == (line, col)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    make_tenant(tmp_path, {"bomb.yaml": "\n".join(lines) + "\n"})
    problem = only_problem(tmp_path)
    assert "aliases expand too far" in problem.message


def test_small_aliases_are_fine(tmp_path: Path) -> None:
    body = "Name: a\nSenderDomains: &d [contoso.com]\nAssociatedAcceptedDomains: *d\n"
    make_tenant(tmp_path, {"a.yaml": body})
    connector = load_baseline(tmp_path).tenants["contoso"].connectors[0].connector
    assert connector.settings["AssociatedAcceptedDomains"] == ("contoso.com",)


def test_oversized_file(tmp_path: Path) -> None:
    body = "Name: a\nSenderDomains: [x.com]\n" + "# padding\n" * 30_000
    make_tenant(tmp_path, {"big.yaml": body})
    assert "larger than 256 KiB" in only_problem(tmp_path).message


# --------------------------------------------------------------------------- schema errors


@pytest.mark.parametrize(
    ("extra", "fragment", "line", "col"),
    [
        ("SenderIpAddresses: [1.2.3.4]", "did you mean SenderIPAddresses?", 3, 1),
        ("senderdomains: [x.com]", "did you mean SenderDomains?", 3, 1),
        ("Colour: blue", "unknown key 'Colour'", 3, 1),
        ("Identity: x", "Identity is read-only", 3, 1),
        ("WhenChangedUTC: 2026-01-01", "WhenChangedUTC is read-only", 3, 1),
        ("Guid: not-a-guid", "Guid: 'not-a-guid' is not a GUID", 3, 7),
        ("ConnectorType: Internal", "ConnectorType: 'Internal' is not one of Partner", 3, 16),
        ("Enabled: maybe", "Enabled: expected true or false, got text", 3, 10),
        ("Comment: 12", "Comment: expected text or nothing, got the number 12", 3, 10),
        ("RequireTls: [true]", "RequireTls: expected true or false, got a list", 3, 13),
        ("EFUsers: [a@x.com, 7]", "EFUsers[1]: expected text", 3, 20),
        ("SenderIPAddresses: [1.2.3.4, '::1']", "'::1' is IPv6", 3, 30),
        ("SenderIPAddresses: [10.0.0.0/16]", "'10.0.0.0/16' is wider than /24", 3, 21),
        ("SenderIPAddresses: [10.0.0.1/16]", "'10.0.0.1/16' is wider than /24", 3, 21),
        ("SenderIPAddresses: [300.1.1.1]", "not an IPv4 address", 3, 21),
        ("SenderIPAddresses: 10.0.0.0/8", "wider than /24", 3, 20),
        ("EFSkipIPs: [nonsense]", "EFSkipIPs: not an IP address", 3, 13),
    ],
)
def test_schema_and_value_problems(
    tmp_path: Path, extra: str, fragment: str, line: int, col: int
) -> None:
    make_tenant(tmp_path, {"c.yaml": f"Name: c\nSenderDomains: [x.com]\n{extra}\n"})
    problem = only_problem(tmp_path)
    assert fragment in problem.message
    assert (problem.line, problem.column) == (line, col)


def test_blank_name(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": "Name: '  '\nSenderDomains: [x.com]\n"})
    problem = only_problem(tmp_path)
    assert problem.message == "Name: must not be blank"
    assert (problem.line, problem.column) == (1, 7)


def test_required_keys_and_top_level_shape(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": "Comment: hi\n", "b.yaml": "- Name: x\n"})
    messages = sorted(p.message for p in problems_of(tmp_path))
    assert messages == [
        "file: expected a mapping of keys, got a list",
        "missing required key Name",
        "missing required key SenderDomains",
    ]


def test_service_rules_are_applied_at_the_key(tmp_path: Path) -> None:
    body = "Name: a\nSenderDomains: [x]\nConnectorType: OnPremises\n"
    make_tenant(tmp_path, {"a.yaml": body + "TreatMessagesAsInternal: true\n"})
    problem = only_problem(tmp_path)
    assert "OnPremises connector needs SenderIPAddresses" in problem.message
    assert (problem.line, problem.column) == (3, 1)


def test_every_problem_of_every_file_in_one_error(tmp_path: Path) -> None:
    make_tenant(
        tmp_path,
        {
            "a.yaml": "Name: a\nSenderDomains: [x]\nColour: red\nSenderIPAddresses: ['::1']\n",
            "b.yaml": b"\xef\xbb\xbfName: b\n",
            "c.yaml": GOOD,
        },
        tenant_yaml="tenant_id: nope nope\nclud: global\n",
    )
    found = problems_of(tmp_path)
    assert [(Path(p.path).name, p.line) for p in found] == [
        ("a.yaml", 3),
        ("a.yaml", 4),
        ("b.yaml", 1),
        ("tenant.yaml", 1),
        ("tenant.yaml", 2),
    ]
    assert "did you mean cloud?" in found[-1].message


# --------------------------------------------------------------------------- tenant.yaml


@pytest.mark.parametrize(
    ("tenant_yaml", "fragment"),
    [
        ("cloud: global\n", "missing required key tenant_id"),
        (TENANT_YAML + "cloud: azure\n", "cloud: 'azure' is not one of global, gcc-high"),
        (TENANT_YAML + "admin: [x@y.z]\n", "did you mean admins?"),
        (TENANT_YAML + "auth: {client_secret: hunter2}\n", "secrets never go in a baseline"),
        (TENANT_YAML + "auth: {write: {password: x}}\n", "certificate_password_env"),
        (TENANT_YAML + "auth: {method: magic}\n", "auth.method: 'magic' is not one of"),
        (TENANT_YAML + "endpoints: {exchange: x}\n", "did you mean exchange_host?"),
        (TENANT_YAML + "trusted_ip_ranges: [here]\n", "'here' is not an IP address"),
        (TENANT_YAML + "accepted_domains: contoso.com\n", "accepted_domains: expected a list"),
    ],
)
def test_tenant_yaml_problems(tmp_path: Path, tenant_yaml: str, fragment: str) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD}, tenant_yaml=tenant_yaml)
    problem = only_problem(tmp_path)
    assert problem.path.endswith("tenant.yaml")
    assert fragment in problem.message
    assert "hunter2" not in problem.message


def test_secret_value_never_echoed(tmp_path: Path) -> None:
    make_tenant(tmp_path, {}, tenant_yaml=TENANT_YAML + "auth: {client_secret: s3cr3t-V4lue}\n")
    assert all("s3cr3t" not in str(p) for p in problems_of(tmp_path))


# --------------------------------------------------------------------------- across files


def test_same_name_in_two_files(tmp_path: Path) -> None:
    other = "Name: HYBRID RELAY\nSenderDomains: [x.com]\n"
    make_tenant(tmp_path, {"a.yaml": GOOD, "b.yaml": other})
    problem = only_problem(tmp_path)
    assert problem.path.endswith("b.yaml")
    assert "Name 'HYBRID RELAY' is also used by" in problem.message
    assert "a.yaml" in problem.message


def test_same_guid_in_two_files(tmp_path: Path) -> None:
    other = "Name: Other\nGuid: AC4D5AB0-6637-4E91-8D47-F5C2E95C71D9\nSenderDomains: [x.com]\n"
    make_tenant(tmp_path, {"a.yaml": GOOD, "b.yaml": other})
    problem = only_problem(tmp_path)
    assert "Guid" in problem.message
    assert (problem.line, problem.column) == (2, 1)


def test_same_name_in_two_tenants_is_fine(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD}, name="alpha")
    make_tenant(tmp_path, {"a.yaml": GOOD}, name="beta")
    assert len(load_baseline(tmp_path).tenants) == 2


def test_tenant_folder_without_tenant_yaml(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD}, tenant_yaml=None)
    problem = only_problem(tmp_path)
    assert problem.path.endswith("tenant.yaml")
    assert "has no tenant.yaml" in problem.message


def test_stray_files_are_reported_not_skipped(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD, "notes.txt": "hello"})
    (tmp_path / "contoso" / "partner.yaml").write_text(GOOD, encoding="utf-8")
    messages = sorted(p.message for p in problems_of(tmp_path))
    assert messages == [
        "not read: connector files go in the inbound/ folder",
        "not read: inbound/ holds .yaml connector files only",
    ]


# --------------------------------------------------------------------------- ignore entries


IGNORES = """\
- tenant: contoso
  connector: Hybrid relay
  field: comment
  reason: approved by CAB-123
  owner: mail-team
  expires: 2030-01-31
- {tenant: contoso, connector: Hybrid relay, field: "*"}
- {tenant: contoso, connector: Old, reason: gone soon, expires: "2020-01-01"}
- {tenant: elsewhere, connector: X, reason: r}
"""


def test_ignore_entries_all_kept_and_checked_by_validate(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD})
    (tmp_path / ".driftguardignore.yaml").write_text(IGNORES, encoding="utf-8")
    baseline = load_baseline(tmp_path)  # no reason / expired do not fail loading
    first, no_reason, expired, elsewhere = baseline.ignores
    assert first.field == "Comment"
    assert first.expires == date(2030, 1, 31)
    assert first.is_active(date(2026, 11, 29))
    assert no_reason.reason is None and no_reason.field == "*"
    assert expired.expires == date(2020, 1, 1)
    assert elsewhere.tenant == "elsewhere"
    found = ignore_problems(baseline.ignores, ["contoso"], date(2026, 11, 29))
    assert [(p.line, p.message) for p in found] == [
        (7, "ignore entry for contoso/Hybrid relay has no reason, so it suppresses nothing"),
        (8, "ignore entry for contoso/Old expired on 2020-01-01, so it suppresses nothing"),
        (9, "ignore entry for elsewhere/X: no tenant 'elsewhere' here"),
    ]
    # the clock is passed in: the same entry is fine on an earlier day
    assert ignore_problems([expired], ["contoso"], date(2019, 12, 31)) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("tenant: contoso\n", "is a list of entries"),
        ("- just text\n", "expected a mapping"),
        ("- {connector: X, reason: r}\n", "tenant is required"),
        ("- {tenant: t, connector: X, feild: Comment}\n", "did you mean field?"),
        ("- {tenant: t, connector: X, field: Colour}\n", "unknown field 'Colour'"),
        ("- {tenant: t, connector: X, expires: next week}\n", "is not a date"),
        ("- {tenant: t, connector: X, expires: 2026-01-01T10:00:00Z}\n", "without a time"),
        ("- {tenant: t, connector: X, reason: 5}\n", "reason must be text"),
        ("- {tenant: t, connector: X, field: false}\n", "field must be text"),
    ],
)
def test_malformed_ignore_file(tmp_path: Path, body: str, fragment: str) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD})
    (tmp_path / ".driftguardignore.yaml").write_text(body, encoding="utf-8")
    problem = only_problem(tmp_path)
    assert problem.path.endswith(".driftguardignore.yaml")
    assert fragment in problem.message


def test_misnamed_ignore_file_is_reported(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD})
    (tmp_path / ".driftguardignore.yml").write_text("[]\n", encoding="utf-8")
    assert "the ignore file is .driftguardignore.yaml" in only_problem(tmp_path).message


def test_empty_ignore_file_is_fine(tmp_path: Path) -> None:
    make_tenant(tmp_path, {"a.yaml": GOOD})
    (tmp_path / ".driftguardignore.yaml").write_text("# nothing accepted yet\n", encoding="utf-8")
    assert load_baseline(tmp_path).ignores == ()


# --------------------------------------------------------------------------- the schemas


@pytest.mark.parametrize("name", ["connector", "tenant"])
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_connector_schema_file_matches_the_property_table() -> None:
    on_disk = json.loads((SCHEMA_DIR / "connector.schema.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(connector_schema())), (
        "regenerate with: python -m driftguard.baseline.schemas"
    )
    assert set(on_disk["properties"]) == {p.name for p in SETTABLE} | {"Guid", UNMODELLED}
    assert on_disk["properties"][UNMODELLED]["type"] == "object"
    assert not (set(on_disk["properties"]) & (READ_ONLY - {"Guid"}))


def test_demo_connectors_validate_against_the_schema_file(repo_root: Path) -> None:
    schema = json.loads((SCHEMA_DIR / "connector.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    for path in (repo_root / "baseline" / "demo" / "inbound").glob("*.yaml"):
        validator.validate(yaml.safe_load(path.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- never a traceback

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["*", "198.51.100.0/24", "::1", "OnPremises", "2026-01-01", "yes", "~"]),
)
_keys = st.one_of(
    st.sampled_from(
        [p.name for p in SETTABLE]
        + ["Guid", "Identity", "<<", "tenant_id", "cloud", "auth", "endpoints", "write"]
        + ["tenant", "connector", "field", "reason", "owner", "expires"]
    ),
    st.text(max_size=12),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=20,
)
_yaml_text = st.text(alphabet=string.printable + "ü€\u200b\ufeff&*!|>%@`", max_size=200)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every example (hypothesis refuses function-scoped fixtures)."""
    return tmp_path_factory.mktemp("random-yaml")


def _parse_or_problem(folder: Path, raw: bytes) -> None:
    """The same bytes as a connector file, a tenant.yaml and an ignore file: never a traceback."""
    path = folder / "x.yaml"
    path.write_bytes(raw)
    connector, problems, _ = connector_file(path, "x.yaml")
    assert (connector is None) == bool(problems)
    config, tenant_problems = tenant_file(path, "x.yaml", "t")
    assert (config is None) == bool(tenant_problems)
    entries, ignore_problems_found = ignore_file(path, "x.yaml")
    assert all(entry.tenant and entry.connector for entry in entries)
    for problem in [*problems, *tenant_problems, *ignore_problems_found]:
        assert problem.line >= 1 and problem.column >= 1 and problem.message
        assert problem.path == "x.yaml"


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    document=st.dictionaries(_keys, _values, max_size=8)
    | st.lists(st.dictionaries(_keys, _values, max_size=6), max_size=3)  # ignore-file shaped
    | _values
)
def test_random_yaml_documents_never_traceback(scratch: Path, document: object) -> None:
    raw = yaml.safe_dump(document, allow_unicode=True).encode("utf-8")
    _parse_or_problem(scratch, raw)


@settings(max_examples=150, deadline=None)
@given(text=_yaml_text)
def test_random_yaml_text_never_tracebacks(scratch: Path, text: str) -> None:
    _parse_or_problem(scratch, text.encode("utf-8"))


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=200))
def test_random_bytes_never_traceback(scratch: Path, raw: bytes) -> None:
    document, problems = yamlsafe.parse(raw, "x.yaml")
    assert (document is None) == bool(problems)
    _parse_or_problem(scratch, raw)


def test_random_documents_through_the_whole_loader(tmp_path: Path) -> None:
    """The folder walk too: a mix of good and hostile files gives one clean BaselineError."""
    make_tenant(
        tmp_path,
        {
            "good.yaml": GOOD,
            "null.yaml": "~\n",
            "num.yaml": "42\n",
            "dict_key.yaml": "{[1]: 2}\n",
            "bad_ip.yaml": "Name: B\nSenderDomains: [x]\nSenderIPAddresses: [203.0.113.7/8]\n",
        },
    )
    found = problems_of(tmp_path)
    assert {Path(p.path).name for p in found} == {
        "null.yaml",
        "num.yaml",
        "dict_key.yaml",
        "bad_ip.yaml",
    }


# --------------------------------------------------------------------------- the fast schema check


def _plausible(kind: str) -> st.SearchStrategy[object]:
    words = st.sampled_from(["", "x", "Partner", "onpremises", "AdminUI", "contoso.com", "*"])
    texts = words | st.text(max_size=6)
    anything = st.none() | st.booleans() | st.integers() | texts
    if kind == "bool":
        return st.booleans() | anything
    if kind in ("text", "name", "host", "enum"):
        return texts | anything
    return st.lists(texts | anything, max_size=3) | texts | anything


_near_connectors = st.dictionaries(
    st.sampled_from([p.name for p in SETTABLE] + ["Guid", "Identity", "Extra"]),
    st.deferred(lambda: st.sampled_from([p.kind.value for p in SETTABLE]).flatmap(_plausible)),
    max_size=10,
).map(lambda d: {"Name": "n", "SenderDomains": ["x"], **d})

_near_tenants = st.fixed_dictionaries(
    {"tenant_id": st.sampled_from(["5b1f6c2e-3d4a-4e8b-9c71-0a2f4d6e8b13", "contoso.com", "x"])},
    optional={
        "cloud": st.sampled_from(["global", "dod", "mars", 1]),
        "admins": st.lists(st.sampled_from(["a@b.c", "", 3]), max_size=2),
        "auth": st.dictionaries(
            st.sampled_from(["client_id", "method", "write", "secret"]),
            st.sampled_from(["x", "secret", "", None])
            | st.fixed_dictionaries({}, optional={"client_id": st.sampled_from(["x", "", 1])}),
            max_size=3,
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(
    pair=st.tuples(st.just("connector"), _near_connectors)
    | st.tuples(st.just("tenant"), _near_tenants)
)
def test_fast_check_agrees_with_jsonschema(pair: tuple[str, dict[str, object]]) -> None:
    name, document = pair
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert surely_valid(schema, document) == Draft202012Validator(schema).is_valid(document)


def test_fast_check_defers_on_unknown_keywords() -> None:
    assert surely_valid({"type": "string"}, "x")
    assert not surely_valid({"type": "string", "format": "email"}, "x")  # doubt: not sure
    assert not surely_valid({"$ref": "https://elsewhere/schema"}, "x")


def test_baseline_readme_documents_every_property_and_default(repo_root: Path) -> None:
    readme = (repo_root / "baseline" / "README.md").read_text(encoding="utf-8")
    cells = [re.split(r"(?<!\\)\|", line) for line in readme.splitlines() if line.startswith("| `")]
    rows = {row[1].strip().strip("`"): row for row in cells}
    for prop in SETTABLE:
        assert prop.name in rows, f"baseline/README.md lacks {prop.name}"
        default = rows[prop.name][3].strip().strip("`")
        if isinstance(prop.default, bool):
            assert default == str(prop.default).lower(), prop.name
        elif prop.default is None:
            assert default == "(none)", prop.name
        elif prop.default == ():
            assert default == "[]", prop.name
        else:
            assert default == prop.default, prop.name
