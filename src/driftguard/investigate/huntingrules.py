"""Explorer's evidence per connector and day: the one definition of what is counted.

Pure. The service query (``kql.py`` writes these rules in KQL, from the constants below) and the
local aggregation of an Explorer / advanced hunting CSV export (``Tally``) count the same things:

- a message is a row of ``EmailEvents`` (one per message and recipient), inbound, in the window,
  whose ``Connectors`` value names the connector (``routed_through``: whole names, compared
  without case; the service's ``contains`` only narrows);
- junked: ``DeliveryAction`` in ``JUNK_ACTIONS`` or ``DeliveryLocation`` in ``JUNK_LOCATIONS``;
- mismatched: a ``SenderMailFromDomain`` (P1, envelope) that is not empty and differs, without
  case, from ``SenderFromDomain`` (P2, header);
- foreign: the P2 domain, or a non-empty P1 domain, outside the accepted domains (exact names,
  without case: a subdomain is a domain of its own, as Exchange's accepted domains are);
- outside the ranges: a non-empty, valid ``SenderIPv4`` in none of the approved ranges (an empty
  list of ranges holds none);
- per day at most ``SET_LIMIT`` foreign domains of each kind and outside IPs are named;
- over the window the ``TOP_FOREIGN`` busiest (P1 domain, P2 domain) pairs of foreign messages
  are counted (most messages first, then by name).

Rows the service returns are read into the same ``DayCounts`` and checked against what these
rules allow (``day_from_row``), so a reply that cannot come from them is an error, not evidence.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from driftguard.investigation import ForeignSenders, HuntingConnector, HuntingDay

DIRECTION = "Inbound"
JUNK_ACTIONS = ("Junked", "Blocked")
JUNK_LOCATIONS = ("Junk folder", "Quarantine")
SET_LIMIT = 10
SHOWN = 5  # examples named in a reason
TOP_FOREIGN = 10  # foreign P1/P2 domain pairs kept per connector (the busiest)
FOREIGN_ROWS = 50  # pairs the service returns per connector (some may be another connector's)
MAX_PAIRS = 10_000  # distinct pairs an export is counted for per connector; later ones dropped


class HuntingRowError(ValueError):
    """A row (of the service's answer or of an export) that the rules cannot have produced."""


# --------------------------------------------------------------------------- one message


def routed_through(connectors_value: str, name: str) -> bool:
    """Whether ``EmailEvents.Connectors`` names the connector ``name`` (comma-separated list)."""
    wanted = name.strip().lower()
    value = connectors_value.strip().lower()
    return value == wanted or any(part.strip() == wanted for part in value.split(","))


def is_junked(action: str, location: str) -> bool:
    return action in JUNK_ACTIONS or location in JUNK_LOCATIONS


def is_mismatched(mail_from_domain: str, from_domain: str) -> bool:
    return bool(mail_from_domain) and mail_from_domain.lower() != from_domain.lower()


def is_foreign(domain: str, accepted: frozenset[str]) -> bool:
    return domain.lower() not in accepted


def ipv4_ranges(ranges: Iterable[str]) -> tuple[str, ...]:
    """The IPv4 ranges of a connector's ``SenderIPAddresses`` (canonical text), IPv6 left out."""
    out = []
    for text in ranges:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            continue
        if network.version == 4:
            out.append(text)
    return tuple(out)


class RangeTest:
    """``ipv4_is_in_any_range`` as the rules use it: None for an address that is not IPv4."""

    def __init__(self, ranges: Sequence[str]) -> None:
        self.networks = [ipaddress.IPv4Network(r, strict=False) for r in ipv4_ranges(ranges)]

    def outside(self, ip: str) -> bool:
        if not ip:
            return False
        try:
            address = ipaddress.IPv4Address(ip.strip())
        except ValueError:
            return False
        return not any(address in n for n in self.networks)


# --------------------------------------------------------------------------- one day


@dataclass
class DayCounts:
    messages: int = 0
    junked: int = 0
    mismatched: int = 0
    foreign: int = 0
    outside_ranges: int = 0
    foreign_from: list[str] = field(default_factory=list)
    foreign_mail_from: list[str] = field(default_factory=list)
    outside_ips: list[str] = field(default_factory=list)

    def merge(self, other: DayCounts) -> None:
        self.messages += other.messages
        self.junked += other.junked
        self.mismatched += other.mismatched
        self.foreign += other.foreign
        self.outside_ranges += other.outside_ranges
        for mine, theirs in (
            (self.foreign_from, other.foreign_from),
            (self.foreign_mail_from, other.foreign_mail_from),
            (self.outside_ips, other.outside_ips),
        ):
            for value in theirs:
                _keep(mine, value)

    def entry(self, day: date) -> HuntingDay:
        domains = list(self.foreign_from)
        for value in self.foreign_mail_from:
            if value not in domains:
                domains.append(value)
        return HuntingDay(
            day=day,
            messages=self.messages,
            junked=self.junked,
            mismatched=self.mismatched,
            foreign=self.foreign,
            outside_ranges=self.outside_ranges,
            foreign_domains=tuple(domains),
            outside_ips=tuple(self.outside_ips),
        )


def _keep(values: list[str], value: str) -> None:
    """``make_set(.., SET_LIMIT)``: distinct values, the first ones kept."""
    if value and value not in values and len(values) < SET_LIMIT:
        values.append(value)


# --------------------------------------------------------------------------- local aggregation


@dataclass(frozen=True)
class Scope:
    """What one tenant's evidence is judged against."""

    start: datetime
    end: datetime
    accepted_domains: tuple[str, ...]
    ranges: Mapping[str, tuple[str, ...]]  # connector name -> approved SenderIPAddresses
    judge_domains: Mapping[str, bool]  # connector name -> whether P1/P2 and domains are judged

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset(d.lower().strip(".") for d in self.accepted_domains)


EXPORT_COLUMNS = (
    "Timestamp",
    "EmailDirection",
    "Connectors",
    "SenderMailFromDomain",
    "SenderFromDomain",
    "SenderIPv4",
    "DeliveryAction",
    "DeliveryLocation",
)


class Tally:
    """``EmailEvents`` rows counted per connector and day by the rules above (an export file)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.accepted = scope.accepted
        self.tests = {name: RangeTest(r) for name, r in scope.ranges.items()}
        self.names = tuple(scope.ranges)
        self.days: dict[str, dict[date, DayCounts]] = {name: {} for name in self.names}
        self.pairs: dict[str, dict[tuple[str, str], int]] = {name: {} for name in self.names}
        self.rows = 0
        self.outside_window = 0

    def add(self, row: Mapping[str, str]) -> None:
        """Count one row; ``HuntingRowError`` names the field it cannot read."""
        when = _timestamp(row.get("Timestamp", ""))
        if not self.scope.start <= when <= self.scope.end:
            self.outside_window += 1
            return
        self.rows += 1
        if row.get("EmailDirection", "") != DIRECTION:
            return
        connectors = row.get("Connectors", "")
        for name in self.names:
            if routed_through(connectors, name):
                self._count(name, when.date(), row)

    def _count(self, name: str, day: date, row: Mapping[str, str]) -> None:
        counts = self.days[name].setdefault(day, DayCounts())
        p1, p2 = row.get("SenderMailFromDomain", ""), row.get("SenderFromDomain", "")
        ip = row.get("SenderIPv4", "")
        counts.messages += 1
        if is_junked(row.get("DeliveryAction", ""), row.get("DeliveryLocation", "")):
            counts.junked += 1
        if is_mismatched(p1, p2):
            counts.mismatched += 1
        foreign_p2 = is_foreign(p2, self.accepted)
        foreign_p1 = bool(p1) and is_foreign(p1, self.accepted)
        if foreign_p2 or foreign_p1:
            counts.foreign += 1
            pairs = self.pairs[name]
            pair = (p1, p2)
            if pair in pairs or len(pairs) < MAX_PAIRS:
                pairs[pair] = pairs.get(pair, 0) + 1
        if foreign_p2:
            _keep(counts.foreign_from, p2)
        if foreign_p1:
            _keep(counts.foreign_mail_from, p1)
        if self.tests[name].outside(ip):
            counts.outside_ranges += 1
            _keep(counts.outside_ips, ip)


def _timestamp(value: Any) -> datetime:
    from driftguard.investigate.auditrecords import AuditRecordError, parse_time

    try:
        return parse_time(value)
    except AuditRecordError:
        raise HuntingRowError(f"Timestamp: not a time: {str(value)[:40]!r}") from None


# --------------------------------------------------------------------------- service rows


COUNT_COLUMNS = ("Messages", "Junked", "Mismatched", "Foreign", "OutsideRanges")
SET_COLUMNS = ("ForeignFromDomains", "ForeignMailFromDomains", "OutsideIPs")


def day_from_row(row: Mapping[str, Any]) -> tuple[str, date, DayCounts]:
    """One row of the daily query's answer: (its ``Connectors`` value, day, counts), checked."""
    connectors = row.get("Connectors")
    if not isinstance(connectors, str):
        raise HuntingRowError("Connectors: not a string")
    day = _timestamp(row.get("Day")).date()
    counts = []
    for column in COUNT_COLUMNS:
        value = row.get(column)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise HuntingRowError(f"{column}: not a count")
        counts.append(value)
    sets = []
    for column in SET_COLUMNS:
        value = row.get(column)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise HuntingRowError(f"{column}: not a list of strings")
        if len(value) > SET_LIMIT or len(set(value)) != len(value):
            raise HuntingRowError(f"{column}: more than {SET_LIMIT} or repeated values")
        sets.append(list(value))
    messages, junked, mismatched, foreign, outside = counts
    if messages == 0 or max(junked, mismatched, foreign, outside) > messages:
        raise HuntingRowError("counts larger than the messages of the day")
    if ((sets[0] or sets[1]) and not foreign) or (sets[2] and not outside):
        raise HuntingRowError("names domains or IPs that no count holds")
    return connectors, day, DayCounts(messages, junked, mismatched, foreign, outside, *sets)


def pair_from_row(row: Mapping[str, Any]) -> tuple[str, tuple[str, str], int]:
    """One row of the foreign-senders query: (its ``Connectors`` value, (P1, P2), messages)."""
    texts = []
    for column in ("Connectors", "SenderMailFromDomain", "SenderFromDomain"):
        value = row.get(column)
        if not isinstance(value, str):
            raise HuntingRowError(f"{column}: not a string")
        texts.append(value)
    messages = row.get("Messages")
    if isinstance(messages, bool) or not isinstance(messages, int) or messages < 1:
        raise HuntingRowError("Messages: not a count of at least 1")
    return texts[0], (texts[1], texts[2]), messages


def top_foreign(pairs: Mapping[tuple[str, str], int]) -> tuple[ForeignSenders, ...]:
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FOREIGN]
    return tuple(ForeignSenders(p1, p2, n) for (p1, p2), n in ranked)


# --------------------------------------------------------------------------- verdict


def connector_entry(
    name: str,
    days: Mapping[date, DayCounts],
    scope: Scope,
    pairs: Mapping[tuple[str, str], int] | None = None,
) -> HuntingConnector:
    """The connector's days and why they look suspicious (P1/P2 mismatches and foreign domains
    on a connector for the organisation's own mail; IPs outside approved ranges)."""
    entries = tuple(days[d].entry(d) for d in sorted(days))
    ranges = ipv4_ranges(scope.ranges.get(name, ()))
    reasons: list[str] = []
    judge_domains = scope.judge_domains.get(name, True)
    mismatched = sum(d.mismatched for d in entries)
    if judge_domains and mismatched:
        reasons.append(
            f"{mismatched} messages whose envelope sender (P1 MailFrom) domain differs from "
            "the From (P2) domain"
        )
    foreign = sum(d.foreign for d in entries)
    top = top_foreign(pairs or {})
    if judge_domains and foreign and scope.accepted_domains:
        examples = (
            "P1 / P2: "
            + ", ".join(
                f"{f.mail_from_domain} / {f.from_domain}: {f.messages}" for f in top[:SHOWN]
            )
            if top
            else _examples(d.foreign_domains for d in entries)
        )
        reasons.append(f"{foreign} messages from domains outside the accepted domains ({examples})")
    outside = sum(d.outside_ranges for d in entries)
    if ranges and outside:
        reasons.append(
            f"{outside} messages from IPs outside the connector's approved ranges "
            f"({_examples(d.outside_ips for d in entries)})"
        )
    return HuntingConnector(
        connector=name, ranges=ranges, days=entries, reasons=tuple(reasons), top_foreign=top
    )


def _examples(groups: Iterable[Sequence[str]]) -> str:
    seen: list[str] = []
    for group in groups:
        for value in group:
            if value not in seen:
                seen.append(value)
    shown = ", ".join(seen[:SHOWN])
    return shown + (f" and {len(seen) - SHOWN} more" if len(seen) > SHOWN else "")
