"""The plain-form reader (baseline/plainyaml.py) against the full YAML reader on fuzzed files.

Files as adopt writes them are read with string operations; everything else goes to libyaml and
the located builder. Whatever the text, ``yamlsafe.parse`` must give the same data, the same
problems and the same position for every key and value as the full reader alone, and the plain
form must really be read without it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from driftguard.adopt import connector_yaml
from driftguard.baseline import domains, plainyaml, yamlsafe
from driftguard.baseline.files import connector_file
from driftguard.normalize import connector_from_record

_IP = st.builds(
    lambda n, p: f"{ipaddress.IPv4Address(n)}{p}",
    st.integers(0, 2**32 - 1),
    st.sampled_from(["", "/32", "/24", "/8", "/033"]),
)
# Tokens YAML types as something else, or cannot read plain, or reads differently in flow.
_TRICKY = st.sampled_from(
    [
        "yes", "No", "on", "OFF", "true", "False", "null", "~", "NULL", "1", "015", "0x1F",
        "1.5", "1.", ".5", ".inf", ".NaN", "1e3", "1.5e+3", "1_000", "0b101", "2026-01-01",
        "2026-01-01 10:00:00", "1:30", "=", "<<", "-a", "- a", "?a", ":a", "a:b", "a: b",
        "a #b", "#a", "&a", "*a", "!a", "!!str a", "|", ">", "%a", "@a", "`a", "'a'", "'it''s'",
        '"a"', "a b", "a  b", "", " ", "a,b", "[a]", "{a}", "1.2.3", "1.2.3.4.5", "..", ".",
        "/", "a'", "d0.tenant0.example", "*", "*.contoso.com", "Relay 00001",
        "00000000-0000-4000-8000-000000000001", "é", "a\u2028b", "\\", "a;1", "smtp:x;1",
    ]
)  # fmt: skip
_DOMAIN = st.from_regex(r"[a-z][a-z0-9-]{0,6}(\.[a-z0-9]{1,5}){1,2}", fullmatch=True)
_TOKEN = st.one_of(
    _IP, _DOMAIN, _TRICKY, st.text(alphabet="aZ09.-/*'\" :#,[]{}&!|>%@`~", max_size=8)
)
_QUOTED = _TOKEN.map(lambda t: "'" + t.replace("'", "''") + "'")
_ITEM = st.one_of(_IP, _IP, _DOMAIN, _DOMAIN, _DOMAIN, _TOKEN, _QUOTED)
_FLOW = st.builds(
    lambda items, sep, pad: "[" + pad + sep.join(items) + pad + "]",
    st.lists(_ITEM, max_size=6),
    st.sampled_from([", ", ", ", ", ", ", ", ",", " ,", ",  "]),
    st.sampled_from(["", "", "", " "]),
)
_VALUE = st.one_of(
    _FLOW, _FLOW, _TOKEN, _QUOTED, st.sampled_from(['"a\\tb"', "|\n  x", "[a,\n  b]"])
)
_KEY = st.sampled_from(
    ["Name", "Guid", "SenderDomains", "SenderIPAddresses", "Comment", "RequireTls", "x_1", "on"]
)
_ODD_LINE = st.one_of(
    st.sampled_from(
        [
            "# a comment",
            "",
            "  # indented",
            "---",
            "...",
            "Key:",
            "Key:  x",
            "Unmodelled:",
            "  A: 1",
        ]
    ),
    st.builds(lambda k, v, s: f"{k}:{s}{v}", _KEY, _VALUE, st.sampled_from(["", "  ", " \t"])),
)


@st.composite
def _texts(draw: st.DrawFn) -> str:
    pairs = draw(
        st.lists(st.tuples(_KEY, _VALUE), min_size=1, max_size=8, unique_by=lambda p: p[0])
    )
    lines = [f"{k}: {v}" for k, v in pairs]
    if draw(st.integers(0, 3)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(_ODD_LINE))
    if draw(st.integers(0, 5)) == 0:  # a key twice
        lines.append(draw(st.sampled_from(lines)))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n"]))


_TEXT = _texts()


def _same_as_full_reader(text: str) -> bool:
    """Compare when the plain reader read ``text``; whether it did."""
    doc, problems = yamlsafe.parse(text.encode("utf-8"), "x.yaml")
    if doc is None or plainyaml.read(text, yamlsafe.MAX_NODES, dict) is None:
        return False  # a problem found before either reader runs, or the full reader ran
    full_doc, full_problems = yamlsafe.composed(text, "x.yaml", allow_empty=False)
    assert full_doc is not None, (text, full_problems)
    assert problems == []
    assert doc.data == full_doc.data
    assert _types(doc.data) == _types(full_doc.data)
    for path in (*full_doc.values, *full_doc.keys, ("Nowhere",), ("SenderIPAddresses", 99)):
        assert doc.value_at(path) == full_doc.value_at(path), path
        assert doc.key_at(path) == full_doc.key_at(path), path
    return True


def _types(value: object) -> object:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value)


@settings(max_examples=800, deadline=None)
@given(_TEXT)
def test_parse_agrees_with_the_full_reader(text: str) -> None:
    event("read plain" if _same_as_full_reader(text) else "read by libyaml")


_PLAIN_RECORD = st.fixed_dictionaries(
    {
        "Name": st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,20}[a-z]", fullmatch=True),
        "Guid": st.uuids().map(str),
        "ConnectorType": st.sampled_from(["Partner", "OnPremises"]),
        "SenderDomains": st.lists(
            st.one_of(st.just("*"), st.from_regex(r"[a-z][a-z0-9]{0,8}\.example", fullmatch=True)),
            min_size=1,
            max_size=5,
        ),
        "SenderIPAddresses": st.lists(_IP.filter(lambda t: not t.endswith(("/8", "/033")))),
        "RequireTls": st.booleans(),
        "Comment": st.one_of(
            st.none(), st.from_regex(r"[a-z][a-z0-9 ().]{0,30}[a-z]", fullmatch=True)
        ),
    }
)


@settings(max_examples=200, deadline=None)
@given(_PLAIN_RECORD)
def test_files_as_adopt_writes_them_are_read_plain(record: dict[str, object]) -> None:
    text = connector_yaml(connector_from_record(record))
    assert plainyaml.read(text, yamlsafe.MAX_NODES, dict) is not None, text
    assert _same_as_full_reader(text)


def test_a_bad_member_of_a_plain_list_is_located_at_its_column(tmp_path: Path) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(
        "# reviewed\nName: Relay\nSenderDomains: [contoso.com, 'bad domain']\n"
        "SenderIPAddresses: [10.0.0.1/32, 10.0.0.0/8]\n",
        encoding="utf-8",
    )
    connector, problems, _ident = connector_file(path, "relay.yaml")
    assert connector is None
    assert [(p.line, p.column) for p in problems] == [(3, 30), (4, 34)]
    assert "SenderDomains" in problems[0].message and "10.0.0.0/8" in problems[1].message


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["SenderDomains", "TrustedOrganizations"]), st.lists(_TOKEN, max_size=6))
def test_domains_allowed_at_once_only_when_each_is(prop: str, items: list[str]) -> None:
    if domains.all_allowed(prop, items):
        assert [domains.domain_problem_of(prop, i) for i in items] == [None] * len(items)


def test_plain_domains_are_allowed_at_once() -> None:
    assert domains.all_allowed("SenderDomains", ["*", "*.contoso.com", "a-b.Example.", "x1"])
    assert not domains.all_allowed("TrustedOrganizations", ["*"])
    assert not domains.all_allowed("SenderDomains", ["a\nb", "c"])
