"""The advanced hunting query driftguard runs, built from a constant body and ``let`` values.

Every value (the window, the connector name, accepted domains, ranges, the junk rules of
``huntingrules``) is a ``let`` declaration at the top, written as a KQL literal by this module:
strings double-quoted with ``\\``, ``"``, tab, CR and LF escaped, so a connector name is data
whatever it holds (quotes, pipes, semicolons, ``//``). A value holding another control character
is refused (``QueryValueError``): KQL has no escape for it that this module relies on. The body
below the declarations never changes: it names only those declarations and ``EmailEvents``.

The connector is found with ``contains`` (a substring, without case), not ``has``: ``has``
matches whole terms, and a name with punctuation might not be one, so rows could be missed (an
undercount reads as "nothing there"); ``contains`` can only find too much, and the rows are
narrowed to the exact name after the answer (``huntingrules.routed_through``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import assert_never

from driftguard.investigate.huntingrules import (
    COUNT_COLUMNS,
    DIRECTION,
    FOREIGN_ROWS,
    JUNK_ACTIONS,
    JUNK_LOCATIONS,
    SET_COLUMNS,
    SET_LIMIT,
)

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\r": "\\r", "\n": "\\n"}


class QueryValueError(ValueError):
    """A value that cannot be written as a KQL literal."""


def string(value: str) -> str:
    """``value`` as a KQL string literal."""
    out = []
    for ch in value:
        escaped = _ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029":
            raise QueryValueError(f"a control character (U+{ord(ch):04X}) in {value[:40]!r}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def strings(values: Sequence[str]) -> str:
    """A ``dynamic`` array of strings."""
    return "dynamic([" + ", ".join(string(v) for v in values) + "])"


def moment(value: datetime) -> str:
    """A ``datetime`` literal (UTC, whole seconds)."""
    when = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return f"datetime({when.strftime('%Y-%m-%dT%H:%M:%SZ')})"


BODY = f"""EmailEvents
| where Timestamp between (since .. until)
| where EmailDirection == direction
| where Connectors contains connector
| extend IsJunked = DeliveryAction in (junk_actions) or DeliveryLocation in (junk_locations)
| extend IsMismatched = isnotempty(SenderMailFromDomain)
    and SenderMailFromDomain !~ SenderFromDomain
| extend ForeignFrom = SenderFromDomain !in~ (accepted)
| extend ForeignMailFrom = isnotempty(SenderMailFromDomain)
    and SenderMailFromDomain !in~ (accepted)
| extend IsOutside = isnotempty(SenderIPv4) and not(ipv4_is_in_any_range(SenderIPv4, ranges))
| summarize Messages = count(), Junked = countif(IsJunked), Mismatched = countif(IsMismatched),
    Foreign = countif(ForeignFrom or ForeignMailFrom), OutsideRanges = countif(IsOutside),
    ForeignFromDomains = make_set_if(SenderFromDomain, ForeignFrom, {SET_LIMIT}),
    ForeignMailFromDomains = make_set_if(SenderMailFromDomain, ForeignMailFrom, {SET_LIMIT}),
    OutsideIPs = make_set_if(SenderIPv4, IsOutside, {SET_LIMIT})
    by Day = bin(Timestamp, 1d), Connectors
| order by Day asc"""

FOREIGN_BODY = f"""EmailEvents
| where Timestamp between (since .. until)
| where EmailDirection == direction
| where Connectors contains connector
| where SenderFromDomain !in~ (accepted)
    or (isnotempty(SenderMailFromDomain) and SenderMailFromDomain !in~ (accepted))
| summarize Messages = count() by SenderMailFromDomain, SenderFromDomain, Connectors
| top {FOREIGN_ROWS} by Messages desc"""

_COUNT = ("Int64", "Int32")
# The answer's columns and their types as the service names them (``Dynamic`` for sets; some
# answers say ``Object``).
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Day", ("DateTime",)),
    ("Connectors", ("String",)),
    *((name, _COUNT) for name in COUNT_COLUMNS),
    *((name, ("Dynamic", "Object")) for name in SET_COLUMNS),
)
FOREIGN_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SenderMailFromDomain", ("String",)),
    ("SenderFromDomain", ("String",)),
    ("Connectors", ("String",)),
    ("Messages", _COUNT),
)


class QueryKind(StrEnum):
    DAILY = "daily"  # per day: counts and a few names (BODY)
    FOREIGN = "foreign"  # over the window: the busiest foreign P1/P2 domain pairs (FOREIGN_BODY)


@dataclass(frozen=True)
class HuntingQuery:
    connector: str
    since: datetime
    until: datetime
    accepted_domains: tuple[str, ...]
    ranges: tuple[str, ...]
    kind: QueryKind = QueryKind.DAILY

    @property
    def columns(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        match self.kind:
            case QueryKind.DAILY:
                return COLUMNS
            case QueryKind.FOREIGN:
                return FOREIGN_COLUMNS
            case _:
                assert_never(self.kind)

    @property
    def body(self) -> str:
        match self.kind:
            case QueryKind.DAILY:
                return BODY
            case QueryKind.FOREIGN:
                return FOREIGN_BODY
            case _:
                assert_never(self.kind)

    @property
    def text(self) -> str:
        lets = (
            ("since", moment(self.since)),
            ("until", moment(self.until)),
            ("direction", string(DIRECTION)),
            ("connector", string(self.connector)),
            ("accepted", strings([d.lower() for d in self.accepted_domains])),
            ("ranges", strings(self.ranges)),
            ("junk_actions", strings(JUNK_ACTIONS)),
            ("junk_locations", strings(JUNK_LOCATIONS)),
        )
        return "".join(f"let {name} = {value};\n" for name, value in lets) + self.body
