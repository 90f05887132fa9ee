"""Lists seeded by the tenant's baseline (driftguard.listseed) against the usual normalisation.

A big tenant's live lists are mostly its baseline's lists as the service spells them; the seed
puts those in canonical form by lookups. These tests hold the seeded result (members, order,
notes, the exact error) to the unseeded one on fuzzed baselines and live lists: the baseline's
members respelled, reordered, repeated, with members added or left out, mixed with every odd
form the plain-list tests use. They also check that the seed really is taken for the lists the
service returns, and that a baseline list that is not plain and canonical seeds nothing.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftguard.core import read_connectors, tenant_diff, tenant_report
from driftguard.diff import changed_fields
from driftguard.listseed import NO_SEED, ListSeed, seed_for
from driftguard.model import BaselineConnector, Snapshot, TenantBaseline, TenantConfig
from driftguard.normalize import (
    NormalizeError,
    canonical_value,
    connector_from_baseline,
    connector_from_record,
)
from driftguard.properties import BY_NAME, Kind, Property
from test_plain_lists import _DOMAIN, _MEMBER, _PLAIN

SENDER_IPS = BY_NAME["SenderIPAddresses"]
SENDER_DOMAINS = BY_NAME["SenderDomains"]
TRUSTED_ORGS = BY_NAME["TrustedOrganizations"]
CONFIG = TenantConfig(name="t", tenant_id="x")


def _outcome(prop: Property, items: object, seed: ListSeed) -> object:
    notes: list[str] = []
    try:
        value = canonical_value(prop, items, notes, seed)
    except NormalizeError as exc:
        return ("error", str(exc))
    return value, notes


def _seed_of(prop: Property, lists: list[list[str]]) -> tuple[ListSeed, list[tuple[str, ...]]]:
    """The seed of baseline connectors holding ``lists`` (each put in canonical form as a
    baseline file is; one that cannot be is left out), and those canonical lists."""
    canonical: list[tuple[str, ...]] = []
    for items in lists:
        try:
            value = canonical_value(prop, items)
        except NormalizeError:
            continue
        assert isinstance(value, tuple)
        canonical.append(value)
    return seed_for({prop.name: value} for value in canonical), canonical


def _service_spelling(prop: Property, member: str) -> str:
    if prop.kind is Kind.IPV4_NETWORKS:
        return member.removesuffix("/32")
    return f"smtp:{member};1"


@st.composite
def _live_from(
    draw: st.DrawFn, prop: Property, baseline: list[tuple[str, ...]], odd: st.SearchStrategy[str]
) -> list[object]:
    """A live list made from one baseline list, in any order: at noise 0 its members in the
    canonical or the service spelling (what the seed takes), then repeats, then members left
    out, in other spellings, odd members added."""
    base = draw(st.sampled_from(baseline)) if baseline else ()
    noise = draw(st.sampled_from((0, 0, 1, 2, 3)))
    spellings = ["canonical", "service"] + (["upper", "spaced"] if noise >= 2 else [])
    out: list[object] = []
    for member in base:
        if noise >= 2 and draw(st.integers(0, 9)) == 0:
            continue  # removed live
        match draw(st.sampled_from(spellings)):
            case "canonical":
                out.append(member)
            case "service":
                out.append(_service_spelling(prop, member))
            case "upper":
                out.append(_service_spelling(prop, member).upper())
            case _:
                out.append(f" {member}")
        if noise >= 1 and draw(st.integers(0, 4)) == 0:
            out.append(out[-1])  # repeated
    if noise >= 2:
        out += draw(st.lists(odd, max_size=2))
    if noise == 3 and draw(st.booleans()):
        out.append(draw(st.sampled_from([7, None, ["x"], b"1.2.3.4", ""])))
    return draw(st.permutations(out))


def _agree(
    prop: Property, plain: st.SearchStrategy[str], odd: st.SearchStrategy[str]
) -> Callable[..., None]:
    lists = st.one_of(st.lists(plain, max_size=8), st.lists(st.one_of(plain, odd), max_size=8))

    @settings(max_examples=500, deadline=None)
    @given(st.data(), st.lists(lists, min_size=1, max_size=4))
    def check(data: st.DataObject, baseline_lists: list[list[str]]) -> None:
        seed, baseline = _seed_of(prop, baseline_lists)
        live = data.draw(_live_from(prop, baseline, st.one_of(plain, odd)))
        assert _outcome(prop, live, seed) == _outcome(prop, live, NO_SEED)

    return check


_PLAIN_DOMAIN = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,10}[a-z0-9]|\*", fullmatch=True)
test_sender_ips_seeded_as_unseeded = _agree(SENDER_IPS, _PLAIN, _MEMBER)
test_sender_domains_seeded_as_unseeded = _agree(SENDER_DOMAINS, _PLAIN_DOMAIN, _DOMAIN)
test_other_domain_lists_seeded_as_unseeded = _agree(TRUSTED_ORGS, _PLAIN_DOMAIN, _DOMAIN)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PLAIN, min_size=1, max_size=40), st.randoms())
def test_the_service_spelling_of_a_baseline_list_is_seeded(
    items: list[str], rnd: random.Random
) -> None:
    """The service's answer for an unchanged connector: the baseline's very tuple, no work."""
    seed, (canonical,) = _seed_of(SENDER_IPS, [items])
    live = [_service_spelling(SENDER_IPS, m) for m in canonical]
    rnd.shuffle(live)
    assert seed.canonical(SENDER_IPS.name, live) is canonical
    assert seed.canonical(SENDER_IPS.name, list(canonical)) is canonical
    domains = ("contoso.com", "*", "fabrikam.example")
    seed = seed_for([{"SenderDomains": tuple(sorted(domains))}])
    assert seed.canonical(SENDER_DOMAINS.name, [f"smtp:{d};1" for d in domains]) == tuple(
        sorted(domains)
    )


def test_a_list_that_is_not_plain_and_canonical_seeds_nothing() -> None:
    """A hand-made connector whose list is not canonical (or not plain) must not teach the seed
    a spelling: the live list then takes the usual path."""
    seed = seed_for(
        [
            {"SenderIPAddresses": ("10.0.0.1",)},  # not canonical: no /32
            {"SenderIPAddresses": ("10.0.0.9/32", "10.0.0.2/32")},  # not in canonical order
            {"SenderIPAddresses": ("10.0.1.0/24",)},  # canonical, not a plain address
            {"SenderDomains": ("Contoso.com",)},  # not lower-case
            {"SenderDomains": ("x400:foo",)},  # canonical of smtp:x400:foo, not of itself
        ]
    )
    assert all(not known for known in seed.lists.values())
    assert canonical_value(SENDER_IPS, ["10.0.0.1"], None, seed) == ("10.0.0.1/32",)
    assert canonical_value(SENDER_DOMAINS, ["x400:foo"], None, seed) == ("foo",)


def _data(i: int, ips: list[str]) -> dict[str, Any]:
    return {
        "Name": f"Relay {i}",
        "Guid": f"00000000-0000-4000-8000-{i:012d}",
        "SenderDomains": [f"d{i}.example", "contoso.com"],
        "SenderIPAddresses": ips,
    }


def _connector(data: dict[str, Any]) -> BaselineConnector:
    return BaselineConnector(f"{data['Name']}.yaml", data, {}, connector_from_baseline(data))


def test_the_seed_is_made_once_per_baseline_object() -> None:
    tenant = TenantBaseline(CONFIG, (_connector(_data(1, ["192.0.2.1", "192.0.2.2"])),))
    assert tenant.list_seed is tenant.list_seed
    other = dataclasses.replace(tenant, connectors=(_connector(_data(2, ["198.51.100.7"])),))
    assert other.list_seed is not tenant.list_seed
    assert other.list_seed.canonical(SENDER_IPS.name, ["192.0.2.2", "192.0.2.1"]) is None
    assert other.list_seed.canonical(SENDER_IPS.name, ["198.51.100.7"]) == ("198.51.100.7/32",)


def _wire(data: dict[str, Any], extra: list[str]) -> dict[str, Any]:
    """The record the service returns for ``data``, lists reordered, ``extra`` IPs added."""
    return {
        **data,
        "Identity": data["Name"],
        "SenderDomains": [f"smtp:{d};1" for d in reversed(data["SenderDomains"])],
        "SenderIPAddresses": [*reversed(data["SenderIPAddresses"]), *extra],
        "Comment": "changed" if extra else None,
    }


def test_a_tenant_reads_and_reports_the_same_with_its_seed() -> None:
    files = [_data(i, [f"10.{i}.0.{k}" for k in range(1, 30)]) for i in range(6)]
    tenant = TenantBaseline(CONFIG, tuple(map(_connector, files)))
    records = [
        _wire(f, ["203.0.113.9", " 10.0.0.1/24"] if i == 2 else []) for i, f in enumerate(files)
    ]
    snapshot = Snapshot("t", tuple(records), "test", datetime(2026, 12, 1, tzinfo=UTC))
    seeded, bad = read_connectors(snapshot, tenant.list_seed)
    assert (seeded, bad) == read_connectors(snapshot)
    assert [c.notes for c in seeded] == [c.notes for c in read_connectors(snapshot)[0]]
    assert seeded[2].notes  # the range written with host bits, read the usual way
    baseline_ips = tenant.connectors[0].connector.settings["SenderIPAddresses"]
    assert seeded[0].settings["SenderIPAddresses"] is baseline_ips  # seeded: no work
    report = tenant_report(tenant, snapshot, (), date(2026, 12, 1), seed=tenant.list_seed)
    assert report == tenant_report(tenant, snapshot, (), date(2026, 12, 1))
    assert tenant_diff(tenant, snapshot, (), date(2026, 12, 1)).live == seeded
    fields = sorted((f.connector, f.field or "") for f in report.findings)
    assert fields == [("Relay 2", "Comment"), ("Relay 2", "SenderIPAddresses")]


@pytest.mark.parametrize("extra", [[], ["192.0.2.200"]])
def test_seeded_connectors_diff_as_unseeded_ones(extra: list[str]) -> None:
    """Seeded connectors keep their lists whole in the comparable form (they are the baseline's
    tuples): the diff finds the same changes, and none for an unchanged connector."""
    ips = [f"192.0.2.{k}" for k in range(1, 40)]
    tenant = TenantBaseline(CONFIG, (_connector(_data(3, ips)),))
    record = _wire(_data(3, ips), extra)
    seeded = connector_from_record(record, seed=tenant.list_seed)
    unseeded = connector_from_record(record)
    assert seeded == unseeded
    base = tenant.connectors[0].connector
    changed = changed_fields([(base, seeded)])
    assert changed == changed_fields([(base, unseeded)])
    assert changed == [{"SenderIPAddresses", "Comment"} if extra else set()]
    shared = seeded.settings["SenderIPAddresses"] is base.settings["SenderIPAddresses"]
    assert shared is not bool(extra)  # unchanged: the baseline's very tuple, kept whole
