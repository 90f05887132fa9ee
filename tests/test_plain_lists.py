"""The plain-list fast paths (driftguard.plainlists, rules.sender_ips_allowed)
against the simple definitions they replace, on fuzzed lists.

A big tenant's SenderIPAddresses and SenderDomains are normalised over the joined list with
string operations that run in C; anything not certainly plain goes member by member. These tests
hold the result (members, order, notes, the exact error) to the plain ``ipaddress``/``domain``
definition, and check that the fast path really is taken for the lists a big tenant has.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from driftguard.baseline.rules import sender_ip_problem, sender_ips_allowed, violations
from driftguard.normalize import (
    NormalizeError,
    canonical_list,
    canonical_value,
    domain,
)
from driftguard.plainlists import plain_ipv4
from driftguard.properties import BY_NAME, Kind

SENDER_IPS = BY_NAME["SenderIPAddresses"]
SENDER_DOMAINS = BY_NAME["SenderDomains"]
_ADDRESS = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))


def reference_ipv4(items: list[str]) -> tuple[tuple[str, ...], int]:
    """The simple definition: each member parsed by ipaddress (host bits allowed, noted),
    IPv6 refused, sorted as networks; (canonical tuple, number of notes)."""
    nets: set[ipaddress.IPv4Network] = set()
    notes = 0
    for item in items:
        text = item.strip()
        if not text:
            continue
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise NormalizeError(
                f"SenderIPAddresses: not an IPv4 address or network: {text!r}"
            ) from None
        if not isinstance(net, ipaddress.IPv4Network):
            raise NormalizeError(f"SenderIPAddresses: IPv6 is not allowed here: {text!r}")
        if "/" in text and ipaddress.ip_interface(text).ip != net.network_address:
            notes += 1
        nets.add(net)
    return tuple(str(n) for n in sorted(nets)), notes


def _octet_with_zeros(n: int) -> st.SearchStrategy[str]:
    return st.sampled_from([str(n), f"0{n}", f"00{n}", f"{n:03d}"])


_LEADING_ZEROS = st.tuples(*(st.integers(0, 255).flatmap(_octet_with_zeros) for _ in range(4))).map(
    ".".join
)
_CIDR = st.builds(
    lambda n, p, keep: (
        f"{ipaddress.IPv4Address(n)}/{p}"
        if keep
        else str(ipaddress.IPv4Network((n, p), strict=False))
    ),
    st.integers(0, 2**32 - 1),
    st.integers(24, 32),
    st.booleans(),
)
_WIDE = st.builds(
    lambda n, p: f"{ipaddress.IPv4Address(n)}/{p}", st.integers(0, 2**32 - 1), st.integers(0, 40)
)
_ODD_PREFIX = st.builds(
    lambda a, p: f"{a}/{p}",
    _ADDRESS,
    st.sampled_from(
        [
            "032",
            "024",
            "00",
            "+24",
            "24 ",
            "255.255.255.0",
            "0.0.0.255",
            "",
            "/32",
            "24/32",
            "32/24",
            "32/32",
        ]
    ),
)
_SPACED = st.builds(
    lambda pre, a, post: f"{pre}{a}{post}",
    st.sampled_from(["", " ", "\t", "\n", "\u00a0", "\u2003", "\x1c"]),
    st.one_of(_ADDRESS, _CIDR),
    st.sampled_from(["", " ", "\r\n", "\n", "\u3000", "\x00"]),
)
_IPV6 = st.one_of(
    st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
    st.sampled_from(["2001:db8::/32", "::ffff:192.0.2.1", "::1", "fe80::1%eth0", "::"]),
)
_GARBAGE = st.one_of(
    st.text(alphabet="0123456789./: x\n\u0661", max_size=18),
    st.sampled_from(["", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "0x1.2.3.4", "1.2.3.4//32"]),
)
_PLAIN = st.one_of(_ADDRESS, _ADDRESS.map(lambda a: f"{a}/32"))
_MEMBER = st.one_of(
    _PLAIN, _PLAIN, _CIDR, _WIDE, _ODD_PREFIX, _LEADING_ZEROS, _SPACED, _IPV6, _GARBAGE
)


def _outcome(fn: Callable[..., object], *args: object) -> object:
    try:
        return fn(*args)
    except NormalizeError as exc:
        return ("error", str(exc))


def _canonical_with_notes(items: list[str]) -> tuple[tuple[str, ...], int]:
    notes: list[str] = []
    value = canonical_value(SENDER_IPS, items, notes)
    assert isinstance(value, tuple)
    return value, len(notes)


@settings(max_examples=600, deadline=None)
@given(st.lists(_MEMBER, max_size=12))
def test_sender_ips_agree_with_ipaddress(items: list[str]) -> None:
    expected = _outcome(reference_ipv4, items)
    assert _outcome(_canonical_with_notes, items) == expected
    listed = _outcome(canonical_list, Kind.IPV4_NETWORKS, items)
    match expected:
        case ("error", message):
            assert listed == ("error", message.removeprefix("SenderIPAddresses: "))
        case (value, _notes):
            assert listed == value


@settings(max_examples=300, deadline=None)
@given(st.lists(_PLAIN, max_size=40))
def test_plain_sender_ips_take_the_fast_path(items: list[str]) -> None:
    """What the service returns and adopt writes is handled over the joined list."""
    assert plain_ipv4(items, re.compile("/32\n"))
    assert _canonical_with_notes(items) == reference_ipv4(items)


def test_fast_path_refuses_what_is_not_certainly_plain() -> None:
    slash_32 = re.compile("/32\n")
    for items in (
        ["1.2.3.4\n5.6.7.8"],  # one member holding two lines
        ["01.2.3.4"],
        [" 1.2.3.4"],
        ["1.2.3.4/24"],
        ["1.2.3.4/032"],
        ["1.2.3.4/32/32"],
        ["1.2.3.4/24/32"],
        ["1.2.3.4\x00"],
        [""],
        [1],
    ):
        assert not plain_ipv4(items, slash_32), items
    assert not sender_ips_allowed(["10.0.0.1/32", "1.2.3.4/24/32"])
    assert not sender_ips_allowed(["1.2.3.4/32/24"])


@settings(max_examples=600, deadline=None)
@given(st.lists(_MEMBER, max_size=12))
def test_sender_ips_allowed_only_when_every_member_is(items: list[str]) -> None:
    allowed = sender_ips_allowed(items)
    problems = [m for item in items if (m := sender_ip_problem(item))]
    if allowed:
        assert problems == []
    settings_ = {"SenderIPAddresses": tuple(items), "ConnectorType": "Partner"}
    assert [m for f, m in violations(settings_) if f == "SenderIPAddresses"] == problems


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PLAIN, _CIDR), max_size=40))
def test_plain_narrow_ranges_are_allowed_at_once(items: list[str]) -> None:
    assert sender_ips_allowed(items)
    assert all(sender_ip_problem(i) is None for i in items)


_DOMAIN_TEXT = st.text(alphabet="aZ09-.*_:;/\\ \t\n\x1cé", max_size=14)
_DOMAIN = st.one_of(
    _DOMAIN_TEXT,
    st.builds(
        lambda prefix, d, cost: f"{prefix}{d}{cost}",
        st.sampled_from(["", "smtp:", "SMTP:", "x400:", "Smtp:", " smtp:", "smtp:smtp:"]),
        st.from_regex(r"[A-Za-z0-9*][A-Za-z0-9.-]{0,12}", fullmatch=True),
        st.sampled_from(["", ";1", ";100", ";", "; 1", ";1;2", "."]),
    ),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_DOMAIN, max_size=10))
def test_sender_domains_agree_with_domain(items: list[str]) -> None:
    expected = tuple(sorted({domain(i) for i in items if i.strip() != ""}))
    assert canonical_value(SENDER_DOMAINS, items) == expected
    assert canonical_list(Kind.DOMAINS, items) == expected


def test_wire_domains_are_read_over_the_joined_list() -> None:
    items = ["smtp:D1.Contoso.com;1", "SMTP:*;1", "fabrikam.com", "smtp:d1.contoso.COM;5"]
    assert canonical_value(SENDER_DOMAINS, items) == ("*", "d1.contoso.com", "fabrikam.com")
