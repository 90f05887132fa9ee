"""Property tests: re-formatting is never drift, and any single real change is exactly one finding.

Connectors are generated over every settable property of properties.SETTABLE; the live side is
the same connector as the wire would write it (list order, duplicates, ``smtp:x;1`` forms, ``/32``
forms, case of domains, hosts, enums and names, AdminUI for Default, sidecars, bookkeeping).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from driftguard.diff import findings_for
from driftguard.model import BaselineConnector, FindingKind, TenantBaseline, TenantConfig
from driftguard.normalize import canonical_value, connector_from_baseline, connector_from_record
from driftguard.properties import BY_NAME, SETTABLE, Kind, Property

GUID = "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9"
CONFIG = TenantConfig(name="t", tenant_id="x", trusted_ip_ranges=("198.51.100.0/24",))

_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_host = st.lists(_label, min_size=2, max_size=4).map(".".join)
_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 ()-", min_size=1)
_name = _name.map(str.strip).filter(bool)
_ipv4 = st.integers(min_value=1 << 24, max_value=(223 << 24) - 1)


@st.composite
def _network(draw: st.DrawFn) -> str:
    prefix = draw(st.integers(min_value=24, max_value=32))
    address = draw(_ipv4)
    return str(ipaddress.ip_network((address, prefix), strict=False))


def _value(prop: Property) -> st.SearchStrategy[Any]:
    """A value as a person writes it in a baseline file."""
    match prop.kind:
        case Kind.BOOL:
            return st.booleans()
        case Kind.TEXT:
            return st.none() | st.text(min_size=1, max_size=30)
        case Kind.NAME:
            return _name
        case Kind.HOST:
            return st.none() | _host
        case Kind.ENUM:
            return st.sampled_from(prop.choices)
        case Kind.DOMAINS:
            return st.lists(st.just("*") | _host, max_size=4)
        case Kind.IPV4_NETWORKS | Kind.IPS:
            return st.lists(_network(), max_size=5)
        case Kind.HOSTS:
            return st.lists(_host, max_size=3)
        case Kind.ADDRESSES:
            return st.lists(st.tuples(_label, _host).map("@".join), max_size=3)
    raise AssertionError(prop)


def _case(draw: st.DrawFn, text: str) -> str:
    """Any mix of upper and lower case (one draw: a bit mask over the characters)."""
    mask = draw(st.integers(min_value=0, max_value=(1 << 16) - 1))
    return "".join(c.upper() if mask >> (i % 16) & 1 else c for i, c in enumerate(text))


def _reformat(draw: st.DrawFn, prop: Property, value: Any) -> Any:
    """The same value as the wire may write it."""
    match prop.kind:
        case Kind.NAME:
            return _case(draw, value)
        case Kind.HOST:
            if value is None:
                return draw(st.sampled_from([None, ""]))
            return _case(draw, value) + draw(st.sampled_from(["", "."]))
        case Kind.ENUM:
            if value == "Default" and draw(st.booleans()):
                return "AdminUI"
            return _case(draw, value)
        case Kind.TEXT:
            return "" if value is None and draw(st.booleans()) else value
    if not prop.kind.is_list:
        return value
    items = list(value)
    if items:
        items += draw(st.lists(st.sampled_from(items), max_size=2))  # duplicates
    items = draw(st.permutations(items))
    out = []
    for item in items:
        match prop.kind:
            case Kind.DOMAINS:
                smtp = _case(draw, "smtp")
                form = draw(st.sampled_from(["{}", f"{smtp}:{{}};1", f"{smtp}:{{}};5"]))
                out.append(form.format(_case(draw, item)))
            case Kind.IPV4_NETWORKS | Kind.IPS:
                if item.endswith("/32") and draw(st.booleans()):
                    item = item[: -len("/32")]
                out.append(item)
            case _:
                out.append(_case(draw, item))
    return out


@st.composite
def _connector(draw: st.DrawFn) -> dict[str, Any]:
    return {p.name: draw(_value(p)) for p in SETTABLE}


def _wire(draw: st.DrawFn, data: dict[str, Any]) -> dict[str, Any]:
    record = {name: _reformat(draw, BY_NAME[name], value) for name, value in data.items()}
    keys = draw(st.permutations(list(record)))
    out: dict[str, Any] = {k: record[k] for k in keys}
    out.update(
        {
            "Guid": GUID.upper() if draw(st.booleans()) else GUID,
            "Identity": data["Name"],
            "WhenChangedUTC": "2026-11-28T02:41:37.0000000Z",
            "SenderDomains@data.type": "Microsoft.Exchange.Data.MultiValuedProperty`1",
            "IsValid": True,
        }
    )
    return out


def _tenant(data: dict[str, Any]) -> TenantBaseline:
    pinned = {**data, "Guid": GUID}
    conn = connector_from_baseline(pinned)
    return TenantBaseline(CONFIG, (BaselineConnector("c.yaml", pinned, {}, conn),))


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), base=_connector())
def test_reformatting_is_never_drift(data: st.DataObject, base: dict[str, Any]) -> None:
    live = connector_from_record(_wire(data.draw, base))
    assert findings_for(_tenant(base), [live]) == ()


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), base=_connector(), prop=st.sampled_from(SETTABLE))
def test_a_single_change_is_exactly_one_finding(
    data: st.DataObject, base: dict[str, Any], prop: Property
) -> None:
    new = data.draw(_value(prop), label="new value")
    old_canon = canonical_value(prop, base[prop.name])
    new_canon = canonical_value(prop, new)
    if prop.kind is Kind.NAME:
        assume(str(old_canon).lower() != str(new_canon).lower())
    else:
        assume(old_canon != new_canon)
    live = connector_from_record(_wire(data.draw, {**base, prop.name: new}))
    findings = findings_for(_tenant(base), [live])
    assert len(findings) == 1, findings
    [finding] = findings
    assert (finding.kind, finding.field) == (FindingKind.CHANGED, prop.name)
    assert finding.guid == GUID
    if prop.kind is Kind.NAME:  # kept as written, compared case-insensitively
        assert str(finding.live).lower() == str(new_canon).lower()
    else:
        assert finding.baseline == old_canon and finding.live == new_canon
    if prop.kind.is_list:
        assert isinstance(old_canon, tuple) and isinstance(new_canon, tuple)
        assert set(finding.added) == set(new_canon) - set(old_canon)
        assert set(finding.removed) == set(old_canon) - set(new_canon)
        assert finding.added or finding.removed
    assert finding.reason and finding.severity
