"""Message-trace rows aggregated per connector and day, in memory that does not grow with rows.

Repeats: the service repeats rows at continuation and slice edges. The aggregator remembers only
the keys of rows whose ``Received`` lies within ``overlap`` (5 minutes) of the row being read (the
edges), never every id, so memory stays flat however many rows go by. The key is
``MessageTraceId`` plus the recipient: one message to three recipients is three rows sharing one
``MessageTraceId``.

Attribution: no row names its connector. A row belongs to the connector whose
``SenderIPAddresses`` contain its ``FromIP``; the most specific range wins, and connectors sharing
that very range all get the row (per-connector counts read "mail from this connector's ranges").
Ranges are /24 to /32 IPv4, so each sits in a per-prefix-length table of integers: a lookup is
at most nine dictionary probes. IPv6 ``FromIP`` matches no connector.

Spike rule (per connector, per day): the baseline is the ``HISTORY_DAYS`` (28) days before it.
Days without rows count as zero, from the first day the trace has any row on (days before it are
unknown, not quiet). With fewer than ``MIN_HISTORY_DAYS`` (7) days of history no verdict is
given. Robust z = (volume - median) / scale with scale = max(1.4826 * MAD, 10% of the median, 1):
1.4826 * MAD estimates the standard deviation for normal data, and the floors keep a perfectly
flat history (MAD 0) from turning one extra message into an alarm. A day is a spike when z >=
``Z_THRESHOLD`` (6) AND it exceeds the median by at least ``MIN_EXCESS`` (50) messages, so a quiet
connector going from 2 to 9 messages is not news, and a weekend/weekday rhythm (a few low days in
the history) does not move a median of mostly weekdays. Mean and standard deviation would let
the spike itself, or one earlier incident, inflate the baseline; median and MAD ignore both.
"""

from __future__ import annotations

import socket
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from driftguard.investigate.auditrecords import AuditRecordError, parse_time
from driftguard.model import Connector

HISTORY_DAYS = 28
MIN_HISTORY_DAYS = 7
Z_THRESHOLD = 6.0
MIN_EXCESS = 50
MAX_DOMAINS = 20  # distinct outside sender domains remembered per connector and day


class TraceRowError(ValueError):
    """One message-trace row cannot be read; the message names the field."""


# --------------------------------------------------------------------------- time


def received_at(value: Any) -> datetime:
    """A row's ``Received`` as aware UTC: ISO (fast path), ``/Date(ms)/``, or the en-US
    ``M/D/YYYY h:mm:ss AM`` that ``Export-Csv`` writes. Day-first forms are ambiguous: refused."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in "T ":
        try:
            parsed = datetime.fromisoformat(value[:19])
        except ValueError:
            pass
        else:
            if len(value) == 19 or value[19] in ".Zz":
                return parsed.replace(tzinfo=UTC)
    try:
        return parse_time(value)
    except AuditRecordError as exc:
        raise TraceRowError(f"Received: not a date: {value!r}") from exc


def received_utc(value: Any) -> datetime:
    """``received_at`` as a naive UTC datetime: the per-row hot path of aggregation."""
    if (
        isinstance(value, str)
        and len(value) >= 19
        and value[4] == "-"
        and value[10] in "T "
        and (len(value) == 19 or value[-1] in "Zz")
    ):
        try:
            return datetime.fromisoformat(value[:19])
        except ValueError:
            pass
    return received_at(value).replace(tzinfo=None)


_fromisoformat = datetime.fromisoformat


# --------------------------------------------------------------------------- attribution


class ConnectorMatcher:
    """``FromIP`` -> the connectors whose ``SenderIPAddresses`` hold it: the most specific range
    wins; connectors sharing that very range all get the row (which of them Exchange used is not
    in the trace), so per-connector counts read "mail from this connector's ranges"."""

    def __init__(self, connectors: Iterable[Connector]) -> None:
        tables: dict[int, dict[int, tuple[str, ...]]] = {}
        for connector in sorted(connectors, key=lambda c: c.name.lower()):
            ranges = connector.settings.get("SenderIPAddresses") or ()
            assert isinstance(ranges, tuple)  # noqa: S101 - canonical list
            for text in ranges:
                address, _, bits = text.partition("/")
                prefix = int(bits) if bits else 32
                try:
                    value = _ipv4_int(address)
                except OSError:
                    continue
                mask = _mask(prefix)
                table = tables.setdefault(prefix, {})
                names = table.get(value & mask, ())
                if connector.name not in names:
                    table[value & mask] = (*names, connector.name)
        self._tables = [(_mask(p), tables[p]) for p in sorted(tables, reverse=True)]
        self.known: dict[str, tuple[str, ...]] = {}
        """Addresses already matched, and their connectors (bounded)."""

    def __call__(self, from_ip: Any) -> tuple[str, ...]:
        if not isinstance(from_ip, str) or not from_ip:
            return ()
        cached = self.known.get(from_ip)
        if cached is not None:
            return cached
        result: tuple[str, ...] = ()
        try:
            value = _ipv4_int(from_ip.strip())
        except OSError:  # IPv6 or garbage: no IPv4 connector range holds it
            value = -1
        if value >= 0:
            for mask, table in self._tables:
                names = table.get(value & mask)
                if names is not None:
                    result = names
                    break
        if len(self.known) > 65536:
            self.known.clear()
        self.known[from_ip] = result
        return result


_MISS = object()


def _ipv4_int(text: str) -> int:
    return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")


def _mask(prefix: int) -> int:
    return (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF


# --------------------------------------------------------------------------- aggregation


@dataclass
class DayStats:
    volume: int = 0
    spam: int = 0
    outside_senders: int = 0
    outside_domains: dict[str, int] = field(default_factory=dict)
    other_outside_domains: int = 0

    @property
    def spam_share(self) -> float:
        return self.spam / self.volume if self.volume else 0.0


@dataclass(frozen=True)
class Spike:
    connector: str
    day: date
    volume: int
    median: float
    mad: float
    score: float

    def describe(self) -> str:
        return (
            f"{self.volume} messages on {self.day.isoformat()} through '{self.connector}' "
            f"against a median of {self.median:g} over the preceding days "
            f"(robust z {self.score:.1f})"
        )


@dataclass(frozen=True)
class SkippedRow:
    line: int | None
    message: str


@dataclass(frozen=True)
class MailFlow:
    start: datetime
    end: datetime
    days: tuple[date, ...]
    per_connector: Mapping[str, Mapping[date, DayStats]]
    spikes: tuple[Spike, ...]
    rows: int
    duplicates: int
    unmatched: int  # rows whose FromIP no connector range holds (ordinary internet mail, IPv6)
    outside_window: int
    skipped: tuple[SkippedRow, ...]
    skipped_count: int


class Aggregator:
    """Counts rows per connector and day in constant memory per (connector, day)."""

    def __init__(
        self,
        connectors: Iterable[Connector],
        accepted_domains: Iterable[str],
        start: datetime,
        end: datetime,
    ) -> None:
        self.match = ConnectorMatcher(connectors)
        self._known = self.match.known  # its cache, read first: most addresses recur
        self.accepted = tuple(d.lower().strip(".") for d in accepted_domains)
        self.start = start
        self.end = end
        self.stats: dict[str, dict[date, DayStats]] = {}
        self.rows = 0
        self.unmatched = 0
        self.skipped: list[SkippedRow] = []
        self.skipped_count = 0
        self.last_skip = ""
        self._domain_cache: dict[str, bool] = {}
        self._sender_cache: dict[str, object] = {}
        self._start = start.astimezone(UTC).replace(tzinfo=None)
        self._end = end.astimezone(UTC).replace(tzinfo=None)
        # Repeats at continuation and slice edges: keys are kept only near the row being read.
        self._recent: dict[tuple[Any, Any], datetime] = {}
        self._limit = 4096
        self.overlap = timedelta(minutes=5)
        self._first = datetime.max  # earliest row seen (naive UTC)
        self.duplicates = 0
        self.outside_window = 0  # rows of an export that fall outside --since/--until

    def skip(self, line: int | None, message: str) -> None:
        self.skipped_count += 1
        self.last_skip = message
        if len(self.skipped) < 100:  # the first ones are named; all are counted
            self.skipped.append(SkippedRow(line, message))

    def add(self, row: Mapping[str, Any], line: int | None = None) -> None:
        """Count one row (hot path: about a million calls per benchmark run)."""
        get = row.get
        self.add_fields(
            get("Received"),
            get("MessageTraceId"),
            get("RecipientAddress"),
            get("FromIP"),
            get("Status"),
            get("SenderAddress"),
            line,
        )

    def add_fields(
        self,
        received: Any,
        trace_id: Any,
        recipient: Any,
        from_ip: Any,
        status: Any,
        sender: Any,
        line: int | None = None,
    ) -> bool:
        """``add`` for a row given as its fields (a CSV row needs no mapping made for it);
        False if it was skipped as unreadable (``last_skip`` says why)."""
        when: datetime | None = None
        if type(received) is str and len(received) >= 19 and received[-1] in "Zz":
            try:
                when = _fromisoformat(received[:19])
            except ValueError:
                when = None
        if when is None:
            try:
                when = received_utc(received)
            except TraceRowError as exc:
                self.skip(line, str(exc))
                return False
        if when < self._start or when > self._end:
            self.outside_window += 1
            return True
        if trace_id:
            key = (trace_id, recipient)
            recent = self._recent
            if key in recent:
                self.duplicates += 1
                return True
            recent[key] = when
            if len(recent) > self._limit:
                self._evict(when)
        self.rows += 1
        if when < self._first:
            self._first = when
        names = self._known.get(from_ip) if type(from_ip) is str else None
        if names is None:
            names = self.match(from_ip)
        if not names:
            self.unmatched += 1
            return True
        spam = status == "FilteredAsSpam"
        outside: str | None = None
        if type(sender) is str:
            found = self._sender_cache.get(sender, _MISS)
            if found is _MISS:
                found = self._outside_domain(sender)
                if len(self._sender_cache) > 65536:
                    self._sender_cache.clear()
                self._sender_cache[sender] = found
            outside = found if type(found) is str else None
        day = when.date()
        for name in names:
            per_day = self.stats.get(name)
            if per_day is None:
                per_day = self.stats[name] = {}
            stats = per_day.get(day)
            if stats is None:
                stats = per_day[day] = DayStats()
            stats.volume += 1
            if spam:
                stats.spam += 1
            if outside is not None:
                stats.outside_senders += 1
                domains = stats.outside_domains
                if outside in domains or len(domains) < MAX_DOMAINS:
                    domains[outside] = domains.get(outside, 0) + 1
                else:
                    stats.other_outside_domains += 1
        return True

    def _evict(self, when: datetime) -> None:
        """Forget keys farther than ``overlap`` from ``when``: rows are read in time order
        (either direction), so those cannot come back. A shuffled file is deduplicated only
        near each row; memory stays bounded either way."""
        low, high = when - self.overlap, when + self.overlap  # |t - when| <= overlap
        self._recent = {k: t for k, t in self._recent.items() if low <= t <= high}
        self._limit = max(4096, 2 * len(self._recent))

    def _outside_domain(self, sender: str) -> str | None:
        """The sender's domain when it is outside the accepted domains, else None."""
        if "@" not in sender:
            return None
        domain = sender.rpartition("@")[2].lower().rstrip(">").strip()
        return domain if domain and self._outside(domain) else None

    def _outside(self, domain: str) -> bool:
        known = self._domain_cache.get(domain)
        if known is None:
            known = not any(domain == a or domain.endswith("." + a) for a in self.accepted)
            if len(self._domain_cache) > 65536:
                self._domain_cache.clear()
            self._domain_cache[domain] = known
        return known

    def result(self) -> MailFlow:
        days = _days(self.start, self.end)
        # History starts on the first day the trace has any row: days before it are not
        # known to be quiet (the trace may not reach back that far), so they are not zeros.
        observed = [d for d in days if d >= self._first.date()]
        found: list[Spike] = []
        for name in sorted(self.stats):
            per_day = self.stats[name]
            volumes = [per_day[d].volume if d in per_day else 0 for d in observed]
            found.extend(spikes(name, observed, volumes))
        return MailFlow(
            start=self.start,
            end=self.end,
            days=tuple(days),
            per_connector={k: dict(sorted(v.items())) for k, v in sorted(self.stats.items())},
            spikes=tuple(found),
            rows=self.rows,
            duplicates=self.duplicates,
            unmatched=self.unmatched,
            outside_window=self.outside_window,
            skipped=tuple(self.skipped),
            skipped_count=self.skipped_count,
        )


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def spikes(connector: str, days: Sequence[date], volumes: Sequence[int]) -> list[Spike]:
    """Days whose volume is a spike against the preceding days (module docstring)."""
    out: list[Spike] = []
    for i in range(MIN_HISTORY_DAYS, len(volumes)):
        history = volumes[max(0, i - HISTORY_DAYS) : i]
        median = float(statistics.median(history))
        mad = float(statistics.median(abs(v - median) for v in history))
        scale = max(1.4826 * mad, 0.1 * median, 1.0)
        excess = volumes[i] - median
        score = excess / scale
        if score >= Z_THRESHOLD and excess >= MIN_EXCESS:
            out.append(Spike(connector, days[i], volumes[i], median, mad, score))
    return out


def aggregate(
    rows: Iterable[Mapping[str, Any]],
    connectors: Iterable[Connector],
    accepted_domains: Iterable[str],
    start: datetime,
    end: datetime,
) -> MailFlow:
    """Dedupe and aggregate a stream of rows (live, or from a file without line numbers)."""
    agg = Aggregator(connectors, accepted_domains, start, end)
    for row in rows:
        agg.add(row)
    return agg.result()
