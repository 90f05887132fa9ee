"""The wire forms a tenant's answers came in, described for a bug report (pure).

Each form driftguard knows several ways of writing (EXCHANGE.md) is counted, so an admin can
tell the team which one their tenant uses: SenderDomains as ``smtp:x;1`` or plain, IP addresses
single, CIDR, CIDR with host bits or otherwise, enums as names or numbers, properties driftguard
does not model yet, paging, service warnings and regional redirects.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from driftguard.doctor.model import Check, Seen, fail, ok, skipped, warn
from driftguard.normalize import NormalizeError, connector_from_record, is_empty

MAX_NAMED = 10  # names listed in one detail line
_ADDRESS_SPACE = re.compile(r"^[a-z0-9]+:.*;\d+$", re.IGNORECASE)
IP_PROPERTIES = ("SenderIPAddresses", "EFSkipIPs")
ENUM_PROPERTIES = ("ConnectorType", "ConnectorSource")


def shape_checks(records: Sequence[Mapping[str, Any]] | None, seen: Seen) -> list[Check]:
    """The wire checks; ``records`` None when the connectors could not be read."""
    envelope = [_paging(seen), _warnings(seen), _redirects(seen)]
    if records is None:
        return [skipped("wire: records", "no connector records were read"), *envelope]
    return [
        _readable(records),
        _unknown(records),
        _domains(records),
        _ips(records),
        _enums(records),
        *envelope,
    ]


def _named(items: Iterable[str]) -> str:
    names = list(items)
    more = len(names) - MAX_NAMED
    return ", ".join(names[:MAX_NAMED]) + (f" and {more} more" if more > 0 else "")


def _label(number: int, record: Mapping[str, Any]) -> str:
    name = record.get("Name")
    return f"record {number} ({name})" if isinstance(name, str) and name else f"record {number}"


def _readable(records: Sequence[Mapping[str, Any]]) -> Check:
    bad: list[str] = []
    for number, record in enumerate(records, start=1):
        try:
            connector_from_record(record)
        except NormalizeError as exc:
            bad.append(f"{_label(number, record)}: {exc}")
    if bad:
        return fail(
            "wire: records",
            f"{len(bad)} of {len(records)} connector records cannot be read: {_named(bad)}",
            "save a redacted sample with --save-sample and attach it to a driftguard bug report",
        )
    return ok("wire: records", f"{len(records)} connector records, all readable")


def _unknown(records: Sequence[Mapping[str, Any]]) -> Check:
    set_values: Counter[str] = Counter()
    empty: set[str] = set()
    for record in records:
        try:
            connector = connector_from_record(record)
        except NormalizeError:
            continue  # reported by _readable
        for key in connector.unknown:
            if is_empty(connector.other.get(key)):
                empty.add(key)
            else:
                set_values[key] += 1
    if set_values:
        listed = _named(f"{k} (set on {n})" for k, n in sorted(set_values.items()))
        return warn(
            "wire: properties",
            f"properties driftguard does not model yet: {listed}",
            "pin them per connector under Unmodelled in the baseline (driftguard adopt writes "
            "them), and attach a --save-sample file to a driftguard issue",
        )
    if empty:
        return ok("wire: properties", f"all modelled; unknown but empty: {_named(sorted(empty))}")
    return ok("wire: properties", "every property is known to driftguard")


def _items(records: Sequence[Mapping[str, Any]], prop: str) -> list[Any]:
    lowered = prop.lower()
    out: list[Any] = []
    for record in records:
        for key, value in record.items():
            if key.lower() == lowered:
                out.extend(value if isinstance(value, list) else [value])
    return [v for v in out if v is not None]


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{form} {n}" for form, n in sorted(counts.items())) or "no values"


def _domains(records: Sequence[Mapping[str, Any]]) -> Check:
    counts: Counter[str] = Counter()
    for item in _items(records, "SenderDomains"):
        if not isinstance(item, str):
            counts[f"non-text ({type(item).__name__})"] += 1
        elif _ADDRESS_SPACE.match(item):
            counts["smtp:x;1"] += 1
        else:
            counts["plain"] += 1
    odd = [form for form in counts if form.startswith("non-text")]
    detail = f"SenderDomains written as: {_counted(counts)}"
    if odd:
        return warn("wire: SenderDomains", detail, "attach a --save-sample file to a bug report")
    return ok("wire: SenderDomains", detail)


def ip_form(item: Any) -> str:
    """How one address entry is written: single, cidr, cidr-host-bits, range, ipv6 or other."""
    if not isinstance(item, str):
        return f"non-text ({type(item).__name__})"
    text = item.strip()
    try:
        if "-" in text:
            first, last = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            return "range" if first.version == last.version == 4 else "other"
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            if network.version != 4:
                return "ipv6"
            return "cidr" if str(network) == text else "cidr-host-bits"
        return "single" if ipaddress.ip_address(text).version == 4 else "ipv6"
    except ValueError:
        return "other"


def _ips(records: Sequence[Mapping[str, Any]]) -> Check:
    parts: list[str] = []
    odd = False
    for prop in IP_PROPERTIES:
        counts = Counter(ip_form(item) for item in _items(records, prop))
        if counts:
            parts.append(f"{prop}: {_counted(counts)}")
        odd = (
            odd
            or any(f in counts for f in ("other", "ipv6"))
            or any(f.startswith("non-text") for f in counts)
        )
    detail = "; ".join(parts) or "no IP addresses"
    if odd:
        return warn(
            "wire: IP forms", detail, "attach a --save-sample file to a driftguard bug report"
        )
    return ok("wire: IP forms", detail)


def _enums(records: Sequence[Mapping[str, Any]]) -> Check:
    counts: Counter[str] = Counter()
    for prop in ENUM_PROPERTIES:
        for item in _items(records, prop):
            numeric = isinstance(item, int | float) and not isinstance(item, bool)
            counts["numbers" if numeric else "names"] += 1
    detail = f"ConnectorType/ConnectorSource written as: {_counted(counts)}"
    if counts["numbers"]:
        return fail(
            "wire: enum form",
            detail,
            "export with PowerShell 7: ConvertTo-Json -Depth 5 -EnumsAsStrings",
        )
    return ok("wire: enum form", detail)


def _paging(seen: Seen) -> Check:
    if seen.next_links:
        return warn(
            "wire: paging",
            f"{seen.next_links} of {seen.answers} answers carried @odata.nextLink",
            "driftguard asks for everything at once and treats an unfollowable page as an "
            "incomplete read; attach a --save-sample file to a bug report",
        )
    return ok("wire: paging", f"{seen.answers} answers, none paged (@odata.nextLink absent)")


def _warnings(seen: Seen) -> Check:
    if seen.warnings:
        return warn(
            "wire: warnings",
            f"{len(seen.warnings)} service warnings, first: {seen.warnings[0]}",
            "a read with warnings is never treated as complete; retry later",
        )
    return ok("wire: warnings", "no @adminapi.warnings")


def _redirects(seen: Seen) -> Check:
    if seen.refused:
        return fail(
            "wire: region",
            f"the admin API redirected to {_named(dict.fromkeys(seen.refused))}, outside the "
            "cloud's Exchange domain; not followed and the token was not sent",
            "if the host is legitimate, set endpoints.exchange_domain in tenant.yaml",
        )
    if seen.followed:
        hosts = _named(dict.fromkeys(seen.followed))
        return ok("wire: region", f"the admin API redirected to {hosts}; followed")
    return ok("wire: region", "no regional redirect")
