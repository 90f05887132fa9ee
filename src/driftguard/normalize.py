"""Wire and YAML forms of a connector to one canonical form, so only real changes show as drift.

Pure: values in, values out. Canonical rules (EXCHANGE.md):
- SenderDomains ``smtp:contoso.com;1`` == ``contoso.com``; domains, hosts, addresses lower-case.
- IPv4 ``a.b.c.d`` == ``a.b.c.d/32``; networks written canonically; lists are sorted sets. A
  range written with host bits set (``192.168.0.1/25``, Microsoft's own example) means the
  addresses of its network (``192.168.0.0/25``) and is compared as such, with a note.
- ConnectorType / ConnectorSource case-insensitive; ``AdminUI`` == ``Default``.
- AssociatedAcceptedDomains object paths (``.../contoso.com``) reduced to the domain.
- Empty text and ``null`` are the same; a property left out takes the service default.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from driftguard import plainlists
from driftguard.model import Connector, Location
from driftguard.properties import (
    BY_LOWER,
    READ_ONLY,
    READ_ONLY_LOWER,
    SETTABLE,
    UNMODELLED,
    Kind,
    Property,
    Value,
    is_sidecar,
)

_ENUM_ALIASES = {"adminui": "Default"}


class NormalizeError(ValueError):
    """A value cannot be put in canonical form; the message names the property."""


def canonical_value(prop: Property, value: Any, notes: list[str] | None = None) -> Value:
    """The canonical form of one property value (raises NormalizeError when impossible).

    ``notes`` receives a sentence for each member read in a non-canonical documented form.
    """
    if prop.kind.is_list:
        return _canonical_list(prop, value, notes)
    return _canonical_scalar(prop, value)


def _canonical_scalar(prop: Property, value: Any) -> Value:
    if value is None:
        return prop.default
    match prop.kind:
        case Kind.BOOL:
            return _bool(prop, value)
        case Kind.TEXT | Kind.NAME:
            text = _text(prop, value)
            return text if text != "" else prop.default
        case Kind.HOST:
            text = _text(prop, value).strip().lower().rstrip(".")
            return text or prop.default
        case Kind.ENUM:
            return _enum(prop, value)
    raise NormalizeError(f"{prop.name}: unsupported kind {prop.kind}")  # pragma: no cover


def canonical_item(kind: Kind, item: str) -> str:
    """The canonical form of one member of a list property."""
    text = item.strip()
    match kind:
        case Kind.DOMAINS:
            return domain(text)
        case Kind.IPV4_NETWORKS:
            return str(ipv4_network(text))
        case Kind.IPS:
            return _ip_any(text)
        case Kind.HOSTS | Kind.ADDRESSES:
            return text.lower().rstrip(".")
    raise NormalizeError(f"not a list kind: {kind}")  # pragma: no cover


def domain(text: str) -> str:
    """``smtp:Contoso.com;1`` -> ``contoso.com``; ``*`` stays; object paths -> last segment."""
    value = text.strip()
    if ":" in value and value.split(":", 1)[0].lower() in {"smtp", "x400", "x500"}:
        value = value.split(":", 1)[1]
    if ";" in value:
        value = value.split(";", 1)[0]
    if "/" in value or "\\" in value:  # AssociatedAcceptedDomains as an object path
        value = value.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return value.strip().lower().rstrip(".")


def ipv4_network(text: str) -> ipaddress.IPv4Network:
    """``203.0.113.7`` -> ``203.0.113.7/32``; ``198.51.100.0/24`` canonical; a range written
    with host bits set (``192.168.0.1/25``) -> its network (``192.168.0.0/25``)."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise NormalizeError(f"not an IPv4 address or network: {text!r}") from exc
    if not isinstance(net, ipaddress.IPv4Network):
        raise NormalizeError(f"IPv6 is not allowed here: {text!r}")
    return net


def sort_key(kind: Kind, item: str) -> tuple[int, Any, str]:
    """Sort IP lists numerically (IPv4 before IPv6), everything else alphabetically."""
    if kind in (Kind.IPV4_NETWORKS, Kind.IPS):
        fast = _ipv4_fast(item)
        if fast is not None:
            return (4, fast, item)
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            return (7, 0, item)
        return (net.version, (int(net.network_address), net.prefixlen), item)
    return (0, 0, item)


def canonical_list(
    kind: Kind, items: Iterable[str], notes: list[str] | None = None
) -> tuple[str, ...]:
    """Canonical, de-duplicated, sorted tuple of list members."""
    listed = items if isinstance(items, list) else list(items)
    plain = plainlists.plain_list(kind, listed)
    return plain if plain is not None else _exact_list(kind, listed, notes)


def _exact_list(kind: Kind, items: Iterable[str], notes: list[str] | None) -> tuple[str, ...]:
    """``canonical_list`` member by member: every form, the precise error for a bad one."""
    if kind is Kind.IPV4_NETWORKS:
        return _canonical_ipv4_list(items, notes)
    unique = {canonical_item(kind, i) for i in items if str(i).strip() != ""}
    return tuple(sorted(unique, key=lambda i: sort_key(kind, i)))


def _canonical_ipv4_list(items: Iterable[str], notes: list[str] | None = None) -> tuple[str, ...]:
    """SenderIPAddresses members parsed once each: the hot path of normalising a big tenant.

    (A list of plain addresses, all the service ever returns, was handled by
    ``plainlists.ipv4_networks`` before.) Plain dotted-decimal forms are checked by one regular
    expression and packed by ``inet_aton``; anything else takes ``ipaddress``'s slower path,
    which either accepts it or raises the precise error. A range with host bits set stands
    for its network; ``notes`` is told how it was written.
    """
    keys: dict[str, tuple[bytes, int]] = {}
    for raw in items:
        text = (raw if type(raw) is str else str(raw)).strip()
        if not text:
            continue
        if _PLAIN_IPV4.fullmatch(text):
            addr, _, prefix_text = text.partition("/")
            prefix = int(prefix_text) if prefix_text else 32
            packed = socket.inet_aton(addr)
            if prefix < 32 and int.from_bytes(packed, "big") & ~_MASKS[prefix]:
                net = ipaddress.IPv4Network((packed, prefix), strict=False)
                _note_host_bits(text, net, notes)
                keys[str(net)] = (net.network_address.packed, prefix)
            else:
                keys[text if prefix_text else f"{text}/32"] = (packed, prefix)
        else:
            net = ipv4_network(text)
            if "/" in text and ipaddress.ip_interface(text).ip != net.network_address:
                _note_host_bits(text, net, notes)
            keys[str(net)] = (net.network_address.packed, net.prefixlen)
    return tuple(sorted(keys, key=keys.__getitem__))


def _note_host_bits(text: str, net: ipaddress.IPv4Network, notes: list[str] | None) -> None:
    if notes is not None:
        notes.append(
            f"SenderIPAddresses {text!r} is written with host bits set: it means {net} "
            f"({net.num_addresses} addresses) and is compared as {net}"
        )


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}(?:/(?:3[0-2]|[12]?[0-9]))?")
_MASKS = tuple((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF for plen in range(33))


def _ipv4_fast(text: str) -> tuple[int, int] | None:
    """``a.b.c.d[/n]`` in plain decimal as (address, prefix); None for anything else."""
    addr, slash, prefix = text.partition("/")
    parts = addr.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if (
            not (part.isascii() and part.isdigit())
            or len(part) > 3
            or (len(part) > 1 and part[0] == "0")
        ):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = (value << 8) | octet
    if not slash:
        return (value, 32)
    if not (prefix.isascii() and prefix.isdigit()) or len(prefix) > 2 or int(prefix) > 32:
        return None
    return (value, int(prefix))


def connector_from_record(
    record: Mapping[str, Any], *, location: Location | None = None
) -> Connector:
    """A live record (wire or PowerShell JSON) in canonical form, unknown properties kept aside.

    Keys are matched case-insensitively; ``@data.type`` sidecars are dropped.
    """
    settings: dict[str, Value] = _DEFAULTS.copy()
    other: dict[str, Any] = {}
    unknown: list[str] = []
    notes: list[str] = []
    for key, value in record.items():
        if is_sidecar(key):
            continue
        lowered = key.lower()
        prop = _BY_LOWER.get(lowered)
        if prop is None:
            canonical_key = _READ_ONLY_LOWER.get(lowered, key)
            other[canonical_key] = value
            if canonical_key not in READ_ONLY:
                unknown.append(key)
        elif prop.name in _LISTS:
            settings[prop.name] = _canonical_list(prop, value, notes)
        else:
            settings[prop.name] = _canonical_scalar(prop, value)
    name = settings.get("Name")
    if not isinstance(name, str) or not name:
        raise NormalizeError("connector record has no Name")
    guid = other.get("Guid")
    return Connector(
        name=name,
        guid=str(guid).lower() if guid else None,
        settings=settings,
        other=other,
        unknown=tuple(sorted(unknown)),
        location=location,
        notes=tuple(notes),
    )


# The record loop's lookups as plain dicts (a read-only view costs a call per lookup).
_BY_LOWER: dict[str, Property] = dict(BY_LOWER)
_READ_ONLY_LOWER: dict[str, str] = dict(READ_ONLY_LOWER)
_DEFAULTS: dict[str, Value] = {p.name: p.default for p in SETTABLE}
_LISTS = frozenset(p.name for p in SETTABLE if p.kind.is_list)


def connector_from_baseline(
    data: Mapping[str, Any], *, location: Location | None = None
) -> Connector:
    """A validated baseline file in canonical form; properties left out take their default.

    The ``Unmodelled`` mapping (properties driftguard does not model, pinned as the service
    writes them) is kept verbatim for the generic comparison in diff.py.
    """
    settings: dict[str, Value] = {p.name: p.default for p in SETTABLE}
    notes: list[str] = []
    for key, value in data.items():
        prop = BY_LOWER.get(key.lower())
        if prop is not None:
            settings[prop.name] = canonical_value(prop, value, notes)
    pinned = data.get(UNMODELLED)
    name = settings["Name"]
    if not isinstance(name, str) or not name:
        raise NormalizeError("Name is required")
    guid = data.get("Guid")
    return Connector(
        name=name,
        guid=str(guid).lower() if guid else None,
        settings=settings,
        location=location,
        unmodelled=MappingProxyType(dict(pinned)) if isinstance(pinned, Mapping) else _NONE,
        notes=tuple(notes),
    )


_NONE: Mapping[str, Any] = MappingProxyType({})


def is_empty(value: Any) -> bool:
    """Empty, null or false: an unknown property with such a value needs no warning."""
    return value is None or value is False or value == "" or value == [] or value == {}


# --------------------------------------------------------------------------- helpers


def _canonical_list(prop: Property, value: Any, notes: list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        # PowerShell and people sometimes write one string for a one-member list.
        items: list[Any] = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise NormalizeError(f"{prop.name}: expected a list, got {type(value).__name__}")
    plain = plainlists.plain_list(prop.kind, items)
    if plain is not None:
        return plain
    try:
        if prop.kind is Kind.IPV4_NETWORKS and all(type(i) is str for i in items):
            return _canonical_ipv4_list(items, notes)
        return _exact_list(prop.kind, [_text(prop, i) for i in items], notes)
    except NormalizeError as exc:
        raise NormalizeError(f"{prop.name}: {exc}") from None


def _text(prop: Property, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise NormalizeError(f"{prop.name}: expected text, got {type(value).__name__}")
    return str(value)


def _bool(prop: Property, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise NormalizeError(f"{prop.name}: expected true or false, got {value!r}")


def _enum(prop: Property, value: Any) -> str:
    text = _text(prop, value).strip().lower()
    if text in _ENUM_ALIASES and _ENUM_ALIASES[text] in prop.choices:
        return _ENUM_ALIASES[text]
    for choice in prop.choices:
        if choice.lower() == text:
            return choice
    raise NormalizeError(f"{prop.name}: {value!r} is not one of {', '.join(prop.choices)}")


def _ip_any(text: str) -> str:
    """EFSkipIPs members: an address, a CIDR network or an ``a-b`` range, IPv4 or IPv6."""
    if "-" in text:
        low, _, high = text.partition("-")
        try:
            return f"{ipaddress.ip_address(low.strip())}-{ipaddress.ip_address(high.strip())}"
        except ValueError as exc:
            raise NormalizeError(f"not an IP range: {text!r}") from exc
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError as exc:
        raise NormalizeError(f"not an IP address or network: {text!r}") from exc
