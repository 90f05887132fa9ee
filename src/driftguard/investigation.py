"""The investigation of one tenant as a typed value: built once by ``investigate`` (or ``diff/plan
--explain``), written into the JSON report's ``evidence``, and parsed once when a report is read
back (``report merge/render``). Renderers and ``plan`` read this type, never raw JSON.

The JSON shape (CONTRACT.md, report schema ``evidence``)::

    {"window": {"since", "until"}, "timeline": [...], "blocked": [...], "mail_flow": {...},
     "recent_messages": {...}, "alerts": [...], "attribution": [...], "actors": [...],
     "audit_events_outside_window": N, "other_audit_events": N, "skipped_rows": N,
     "skipped": [...], "sources": {...}, "suspicious": bool,
     "accounts": {...} (investigate/accountmodel.py; absent in reports written before it),
     "hunting": {...} (absent when not read)}

A section that was not read is ``None`` (``null``), never an empty list; ``hunting`` (added
later) is left out when it was not read, and ``sources.hunting`` says why. Reading back is strict:
a missing key, an unknown key or a value of the wrong type is an ``EvidenceError`` naming the
JSON path, so a damaged report is an error, never a quieter investigation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from driftguard.model import FindingKind

if TYPE_CHECKING:
    from driftguard.investigate.accountmodel import AccountsSection

T = TypeVar("T")


class EvidenceError(ValueError):
    """The ``evidence`` of a report read back is not in the shape ``investigate`` writes."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


class EntryKind(StrEnum):
    AUDIT = "audit"
    BLOCKED = "blocked"
    SPIKE = "spike"
    ALERT = "alert"


@dataclass(frozen=True)
class AuditDetail:
    """What only an audit entry of the timeline carries."""

    app_id: str | None
    succeeded: bool
    external_access: bool


@dataclass(frozen=True)
class TimelineEntry:
    time: datetime
    kind: EntryKind
    connector: str
    actor: str
    client_ip: str | None
    operation: str
    parameters: Mapping[str, str]
    flags: tuple[str, ...] = ()
    audit: AuditDetail | None = None  # kind AUDIT only


@dataclass(frozen=True)
class BlockedEntry:
    connector: str
    connector_id: str | None
    guid: str | None
    reason: str | None
    created: datetime | None
    expires: datetime | None
    ndr: str


@dataclass(frozen=True)
class AlertEntry:
    id: str
    title: str
    severity: str
    status: str
    created: datetime | None
    connectors: tuple[str, ...]
    ips: tuple[str, ...]
    url: str | None


@dataclass(frozen=True)
class AttributionEntry:
    kind: FindingKind
    connector: str
    field: str | None
    events: int
    attributed: bool
    note: str | None
    actors: tuple[str, ...]


@dataclass(frozen=True)
class ActorEntry:
    actor: str
    verdict: str
    reasons: tuple[str, ...]
    client_ips: tuple[str, ...]
    events: int
    last: datetime


@dataclass(frozen=True)
class DayEntry:
    day: date
    volume: int
    spam: int
    spam_share: float
    outside_senders: int
    outside_domains: Mapping[str, int]
    other_outside_domains: int


@dataclass(frozen=True)
class SpikeEntry:
    connector: str
    day: date
    volume: int
    median: float
    mad: float
    robust_z: float


@dataclass(frozen=True)
class SpikeRule:
    history_days: int
    min_history_days: int
    robust_z_threshold: float
    min_excess_messages: int


@dataclass(frozen=True)
class MailFlowSection:
    rows: int
    duplicates_dropped: int
    unattributed_rows: int
    rows_outside_window: int
    skipped_rows: int
    connectors: Mapping[str, tuple[DayEntry, ...]]
    spikes: tuple[SpikeEntry, ...]
    spike_rule: SpikeRule

    @property
    def recent_messages(self) -> dict[str, int]:
        """Messages per connector over the window (the one counting rule: the trace's rows
        attributed to a connector, duplicates dropped)."""
        return {name: sum(d.volume for d in days) for name, days in self.connectors.items()}


@dataclass(frozen=True)
class HuntingDay:
    """One connector's day in Defender's ``EmailEvents`` (advanced hunting or its CSV export)."""

    day: date
    messages: int  # rows: one per message and recipient
    junked: int  # junk folder or quarantine, junked or blocked
    mismatched: int  # envelope (P1 MailFrom) domain differs from the header (P2 From) domain
    foreign: int  # a P1 or P2 sender domain outside the tenant's accepted domains
    outside_ranges: int  # sender IPv4 outside the connector's approved SenderIPAddresses
    foreign_domains: tuple[str, ...]  # some of them (bounded), as the service returned them
    outside_ips: tuple[str, ...]  # some of them (bounded)


@dataclass(frozen=True)
class ForeignSenders:
    """Messages from one envelope (P1) and header (P2) domain pair, one of them foreign."""

    mail_from_domain: str
    from_domain: str
    messages: int


@dataclass(frozen=True)
class HuntingConnector:
    connector: str
    ranges: tuple[str, ...]  # the approved SenderIPAddresses the IPs were judged against
    days: tuple[HuntingDay, ...]
    reasons: tuple[str, ...]  # why it looks suspicious; empty when it does not
    top_foreign: tuple[ForeignSenders, ...] = ()  # the busiest pairs over the window, bounded


@dataclass(frozen=True)
class HuntingSection:
    """Explorer's evidence per connector and day: P1/P2 mismatches, foreign domains, IPs."""

    source: str  # "graph:security/runHuntingQuery" or "file:<name>"
    since: datetime  # the window actually read (advanced hunting keeps 30 days)
    until: datetime
    queries: int  # hunting queries run (0 for a file)
    rows: int  # rows moved from the service, or read from the file
    accepted_domains: tuple[str, ...]
    connectors: tuple[HuntingConnector, ...]

    @property
    def suspicious(self) -> bool:
        return any(c.reasons for c in self.connectors)


@dataclass(frozen=True)
class Investigation:
    since: datetime
    until: datetime
    timeline: tuple[TimelineEntry, ...]
    blocked: tuple[BlockedEntry, ...] | None
    mail_flow: MailFlowSection | None
    alerts: tuple[AlertEntry, ...] | None
    attribution: tuple[AttributionEntry, ...] | None
    actors: tuple[ActorEntry, ...] | None
    audit_events_outside_window: int
    other_audit_events: int  # sign-ins, SharePoint... of a full export: counted, not shown
    skipped_rows: int
    skipped: tuple[str, ...]
    sources: Mapping[str, str]
    suspicious: bool
    accounts: AccountsSection | None = None  # the admin account investigation (accountmodel)
    hunting: HuntingSection | None = None

    @property
    def recent_messages(self) -> dict[str, int] | None:
        return self.mail_flow.recent_messages if self.mail_flow is not None else None


# --------------------------------------------------------------------------- to JSON


def moment(value: datetime) -> str:
    """A time as the report writes it: UTC, ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _opt_moment(value: datetime | None) -> str | None:
    return None if value is None else moment(value)


def _optional(items: Sequence[T] | None, write: Callable[[T], Any]) -> list[Any] | None:
    return None if items is None else [write(item) for item in items]


def to_json(inv: Investigation) -> dict[str, Any]:
    """The ``evidence`` object of the JSON report (``hunting`` only when it was read)."""
    out = {
        "window": {"since": moment(inv.since), "until": moment(inv.until)},
        "timeline": [_entry_json(e) for e in inv.timeline],
        "blocked": _optional(inv.blocked, _blocked_json),
        "mail_flow": None if inv.mail_flow is None else _mail_flow_json(inv.mail_flow),
        "recent_messages": inv.recent_messages,
        "alerts": _optional(inv.alerts, _alert_json),
        "attribution": _optional(inv.attribution, _attribution_json),
        "actors": _optional(inv.actors, _actor_json),
        "audit_events_outside_window": inv.audit_events_outside_window,
        "other_audit_events": inv.other_audit_events,
        "skipped_rows": inv.skipped_rows,
        "skipped": list(inv.skipped),
        "sources": dict(inv.sources),
        "suspicious": inv.suspicious,
        "accounts": None if inv.accounts is None else _accounts_json(inv.accounts),
    }
    if inv.hunting is not None:
        out["hunting"] = _hunting_json(inv.hunting)
    return out


def _accounts_json(section: AccountsSection) -> dict[str, Any]:
    from driftguard.investigate import accountmodel

    return accountmodel.to_json(section)


def _entry_json(e: TimelineEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "time": moment(e.time),
        "kind": e.kind.value,
        "connector": e.connector,
        "actor": e.actor,
        "client_ip": e.client_ip,
        "operation": e.operation,
        "parameters": dict(e.parameters),
    }
    if e.audit is not None:
        out["app_id"] = e.audit.app_id
        out["succeeded"] = e.audit.succeeded
        out["external_access"] = e.audit.external_access
    out["flags"] = list(e.flags)
    return out


def _blocked_json(b: BlockedEntry) -> dict[str, Any]:
    return {
        "connector": b.connector,
        "connector_id": b.connector_id,
        "guid": b.guid,
        "reason": b.reason,
        "created": _opt_moment(b.created),
        "expires": _opt_moment(b.expires),
        "ndr": b.ndr,
    }


def _alert_json(a: AlertEntry) -> dict[str, Any]:
    return {
        "id": a.id,
        "title": a.title,
        "severity": a.severity,
        "status": a.status,
        "created": _opt_moment(a.created),
        "connectors": list(a.connectors),
        "ips": list(a.ips),
        "url": a.url,
    }


def _attribution_json(a: AttributionEntry) -> dict[str, Any]:
    return {
        "kind": a.kind.value,
        "connector": a.connector,
        "field": a.field,
        "events": a.events,
        "attributed": a.attributed,
        "note": a.note,
        "actors": list(a.actors),
    }


def _actor_json(a: ActorEntry) -> dict[str, Any]:
    return {
        "actor": a.actor,
        "verdict": a.verdict,
        "reasons": list(a.reasons),
        "client_ips": list(a.client_ips),
        "events": a.events,
        "last": moment(a.last),
    }


def _day_json(d: DayEntry) -> dict[str, Any]:
    return {
        "day": d.day.isoformat(),
        "volume": d.volume,
        "spam": d.spam,
        "spam_share": d.spam_share,
        "outside_senders": d.outside_senders,
        "outside_domains": dict(d.outside_domains),
        "other_outside_domains": d.other_outside_domains,
    }


def _mail_flow_json(m: MailFlowSection) -> dict[str, Any]:
    return {
        "rows": m.rows,
        "duplicates_dropped": m.duplicates_dropped,
        "unattributed_rows": m.unattributed_rows,
        "rows_outside_window": m.rows_outside_window,
        "skipped_rows": m.skipped_rows,
        "connectors": {name: [_day_json(d) for d in days] for name, days in m.connectors.items()},
        "spikes": [
            {
                "connector": s.connector,
                "day": s.day.isoformat(),
                "volume": s.volume,
                "median": s.median,
                "mad": s.mad,
                "robust_z": s.robust_z,
            }
            for s in m.spikes
        ],
        "spike_rule": {
            "history_days": m.spike_rule.history_days,
            "min_history_days": m.spike_rule.min_history_days,
            "robust_z_threshold": m.spike_rule.robust_z_threshold,
            "min_excess_messages": m.spike_rule.min_excess_messages,
        },
    }


def _hunting_json(h: HuntingSection) -> dict[str, Any]:
    return {
        "source": h.source,
        "since": moment(h.since),
        "until": moment(h.until),
        "queries": h.queries,
        "rows": h.rows,
        "accepted_domains": list(h.accepted_domains),
        "connectors": [
            {
                "connector": c.connector,
                "ranges": list(c.ranges),
                "reasons": list(c.reasons),
                "top_foreign": [
                    {
                        "mail_from_domain": f.mail_from_domain,
                        "from_domain": f.from_domain,
                        "messages": f.messages,
                    }
                    for f in c.top_foreign
                ],
                "days": [
                    {
                        "day": d.day.isoformat(),
                        "messages": d.messages,
                        "junked": d.junked,
                        "mismatched": d.mismatched,
                        "foreign": d.foreign,
                        "outside_ranges": d.outside_ranges,
                        "foreign_domains": list(d.foreign_domains),
                        "outside_ips": list(d.outside_ips),
                    }
                    for d in c.days
                ],
            }
            for c in h.connectors
        ],
    }


# --------------------------------------------------------------------------- from JSON


class _Obj:
    """One JSON object being read: every key must be read exactly as its type says, and no key
    may be left over (``done``)."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise EvidenceError(path, f"expected an object, got {_kind(value)}")
        self.data = value
        self.path = path
        self.seen: set[str] = set()

    def raw(self, key: str) -> Any:
        if key not in self.data:
            raise EvidenceError(self.path, f"missing key {key!r}")
        self.seen.add(key)
        return self.data[key]

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def text(self, key: str) -> str:
        return _str(self.raw(key), self.at(key))

    def opt_text(self, key: str) -> str | None:
        value = self.raw(key)
        return None if value is None else _str(value, self.at(key))

    def whole(self, key: str) -> int:
        return _int(self.raw(key), self.at(key))

    def number(self, key: str) -> float:
        return _float(self.raw(key), self.at(key))

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise EvidenceError(self.at(key), f"expected true or false, got {_kind(value)}")
        return value

    def time(self, key: str) -> datetime:
        return _time(self.raw(key), self.at(key))

    def opt_time(self, key: str) -> datetime | None:
        value = self.raw(key)
        return None if value is None else _time(value, self.at(key))

    def day(self, key: str) -> date:
        text = self.text(key)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise EvidenceError(self.at(key), f"{text!r} is not a date") from None

    def texts(self, key: str) -> tuple[str, ...]:
        return tuple(_str(v, f"{self.at(key)}[{i}]") for i, v in enumerate(_list(self, key)))

    def obj(self, key: str) -> _Obj:
        return _Obj(self.raw(key), self.at(key))

    def items(self, key: str, read: Callable[[_Obj], T]) -> tuple[T, ...]:
        return tuple(read(_Obj(v, f"{self.at(key)}[{i}]")) for i, v in enumerate(_list(self, key)))

    def opt_items(self, key: str, read: Callable[[_Obj], T]) -> tuple[T, ...] | None:
        return None if self.raw(key) is None else self.items(key, read)

    def mapping(self, key: str, read: Callable[[Any, str], T]) -> dict[str, T]:
        value = self.raw(key)
        if not isinstance(value, Mapping):
            raise EvidenceError(self.at(key), f"expected an object, got {_kind(value)}")
        return {str(k): read(v, f"{self.at(key)}.{k}") for k, v in value.items()}

    def done(self) -> None:
        extra = sorted(str(k) for k in self.data if k not in self.seen)
        if extra:
            raise EvidenceError(self.path, f"unknown key {extra[0]!r}")


def _list(obj: _Obj, key: str) -> Sequence[Any]:
    value = obj.raw(key)
    if not isinstance(value, list | tuple):
        raise EvidenceError(obj.at(key), f"expected a list, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case Mapping():
            return "an object"
        case list() | tuple():
            return "a list"
        case _:
            return type(value).__name__


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise EvidenceError(path, f"expected a string, got {_kind(value)}")
    return value


def _int(value: Any, path: str) -> int:
    """A count: a whole number, not negative."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EvidenceError(path, f"expected a count (0 or more), got {_show(value)}")
    return value


def _float(value: Any, path: str) -> float:
    """A finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EvidenceError(path, f"expected a finite number, got {_show(value)}")
    return float(value)


def _show(value: Any) -> str:
    return str(value) if type(value) in (int, float) else _kind(value)


def _time(value: Any, path: str) -> datetime:
    text = _str(value, path)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EvidenceError(path, f"{text!r} is not an ISO time") from None
    if parsed.tzinfo is None:
        raise EvidenceError(path, f"{text!r} has no time zone")
    return parsed.astimezone(UTC)


def from_json(value: Any, path: str = "evidence") -> Investigation:
    """The inverse of ``to_json``; raises ``EvidenceError`` (naming the JSON path) on any other
    shape."""
    o = _Obj(value, path)
    window = o.obj("window")
    since, until = window.time("since"), window.time("until")
    window.done()
    sources = o.mapping("sources", _str)
    mail_flow = None if o.raw("mail_flow") is None else _mail_flow_from(o.obj("mail_flow"))
    inv = Investigation(
        since=since,
        until=until,
        timeline=o.items("timeline", _entry_from),
        blocked=o.opt_items("blocked", _blocked_from),
        mail_flow=mail_flow,
        alerts=o.opt_items("alerts", _alert_from),
        attribution=o.opt_items("attribution", _attribution_from),
        actors=o.opt_items("actors", _actor_from),
        audit_events_outside_window=o.whole("audit_events_outside_window"),
        other_audit_events=o.whole("other_audit_events"),
        skipped_rows=o.whole("skipped_rows"),
        skipped=o.texts("skipped"),
        sources=sources,
        suspicious=o.flag("suspicious"),
        accounts=_accounts_from(o),
        # Absent from reports written before advanced hunting was read: not read, as null.
        hunting=(
            _hunting_from(o.obj("hunting"))
            if "hunting" in o.data and o.data["hunting"] is not None
            else None
        ),
    )
    if "hunting" in o.data:
        o.seen.add("hunting")
    recent = o.raw("recent_messages")
    written = None if recent is None else o.mapping("recent_messages", _int)
    if written != inv.recent_messages:
        raise EvidenceError(
            o.at("recent_messages"), "does not match the message counts of mail_flow.connectors"
        )
    o.done()
    return inv


def _accounts_from(o: _Obj) -> AccountsSection | None:
    """``accounts``, which reports written before it existed leave out (read as not read)."""
    if "accounts" not in o.data:
        return None
    if o.raw("accounts") is None:
        return None
    from driftguard.investigate import accountmodel

    return accountmodel.from_json(o.obj("accounts"))


def _entry_from(o: _Obj) -> TimelineEntry:
    raw_kind = o.text("kind")
    try:
        kind = EntryKind(raw_kind)
    except ValueError:
        raise EvidenceError(o.at("kind"), f"unknown timeline entry kind {raw_kind!r}") from None
    audit = None
    if kind is EntryKind.AUDIT:
        audit = AuditDetail(o.opt_text("app_id"), o.flag("succeeded"), o.flag("external_access"))
    entry = TimelineEntry(
        time=o.time("time"),
        kind=kind,
        connector=o.text("connector"),
        actor=o.text("actor"),
        client_ip=o.opt_text("client_ip"),
        operation=o.text("operation"),
        parameters=o.mapping("parameters", _str),
        flags=o.texts("flags"),
        audit=audit,
    )
    o.done()
    return entry


def _blocked_from(o: _Obj) -> BlockedEntry:
    entry = BlockedEntry(
        connector=o.text("connector"),
        connector_id=o.opt_text("connector_id"),
        guid=o.opt_text("guid"),
        reason=o.opt_text("reason"),
        created=o.opt_time("created"),
        expires=o.opt_time("expires"),
        ndr=o.text("ndr"),
    )
    o.done()
    return entry


def _alert_from(o: _Obj) -> AlertEntry:
    entry = AlertEntry(
        id=o.text("id"),
        title=o.text("title"),
        severity=o.text("severity"),
        status=o.text("status"),
        created=o.opt_time("created"),
        connectors=o.texts("connectors"),
        ips=o.texts("ips"),
        url=o.opt_text("url"),
    )
    o.done()
    return entry


def _attribution_from(o: _Obj) -> AttributionEntry:
    raw_kind = o.text("kind")
    try:
        kind = FindingKind(raw_kind)
    except ValueError:
        raise EvidenceError(o.at("kind"), f"unknown finding kind {raw_kind!r}") from None
    entry = AttributionEntry(
        kind=kind,
        connector=o.text("connector"),
        field=o.opt_text("field"),
        events=o.whole("events"),
        attributed=o.flag("attributed"),
        note=o.opt_text("note"),
        actors=o.texts("actors"),
    )
    o.done()
    return entry


def _actor_from(o: _Obj) -> ActorEntry:
    entry = ActorEntry(
        actor=o.text("actor"),
        verdict=o.text("verdict"),
        reasons=o.texts("reasons"),
        client_ips=o.texts("client_ips"),
        events=o.whole("events"),
        last=o.time("last"),
    )
    o.done()
    return entry


def _day_from(o: _Obj) -> DayEntry:
    entry = DayEntry(
        day=o.day("day"),
        volume=o.whole("volume"),
        spam=o.whole("spam"),
        spam_share=o.number("spam_share"),
        outside_senders=o.whole("outside_senders"),
        outside_domains=o.mapping("outside_domains", _int),
        other_outside_domains=o.whole("other_outside_domains"),
    )
    o.done()
    return entry


def _spike_from(o: _Obj) -> SpikeEntry:
    entry = SpikeEntry(
        connector=o.text("connector"),
        day=o.day("day"),
        volume=o.whole("volume"),
        median=o.number("median"),
        mad=o.number("mad"),
        robust_z=o.number("robust_z"),
    )
    o.done()
    return entry


def _days_from(value: Any, path: str) -> tuple[DayEntry, ...]:
    if not isinstance(value, list | tuple):
        raise EvidenceError(path, f"expected a list, got {_kind(value)}")
    return tuple(_day_from(_Obj(v, f"{path}[{i}]")) for i, v in enumerate(value))


def _mail_flow_from(o: _Obj) -> MailFlowSection:
    rule = o.obj("spike_rule")
    spike_rule = SpikeRule(
        history_days=rule.whole("history_days"),
        min_history_days=rule.whole("min_history_days"),
        robust_z_threshold=rule.number("robust_z_threshold"),
        min_excess_messages=rule.whole("min_excess_messages"),
    )
    rule.done()
    section = MailFlowSection(
        rows=o.whole("rows"),
        duplicates_dropped=o.whole("duplicates_dropped"),
        unattributed_rows=o.whole("unattributed_rows"),
        rows_outside_window=o.whole("rows_outside_window"),
        skipped_rows=o.whole("skipped_rows"),
        connectors=o.mapping("connectors", _days_from),
        spikes=o.items("spikes", _spike_from),
        spike_rule=spike_rule,
    )
    o.done()
    return section


def _hunting_day_from(o: _Obj) -> HuntingDay:
    entry = HuntingDay(
        day=o.day("day"),
        messages=o.whole("messages"),
        junked=o.whole("junked"),
        mismatched=o.whole("mismatched"),
        foreign=o.whole("foreign"),
        outside_ranges=o.whole("outside_ranges"),
        foreign_domains=o.texts("foreign_domains"),
        outside_ips=o.texts("outside_ips"),
    )
    o.done()
    return entry


def _foreign_from(o: _Obj) -> ForeignSenders:
    entry = ForeignSenders(
        mail_from_domain=o.text("mail_from_domain"),
        from_domain=o.text("from_domain"),
        messages=o.whole("messages"),
    )
    o.done()
    return entry


def _hunting_connector_from(o: _Obj) -> HuntingConnector:
    entry = HuntingConnector(
        connector=o.text("connector"),
        ranges=o.texts("ranges"),
        reasons=o.texts("reasons"),
        days=o.items("days", _hunting_day_from),
        top_foreign=o.items("top_foreign", _foreign_from),
    )
    o.done()
    return entry


def _hunting_from(o: _Obj) -> HuntingSection:
    section = HuntingSection(
        source=o.text("source"),
        since=o.time("since"),
        until=o.time("until"),
        queries=o.whole("queries"),
        rows=o.whole("rows"),
        accepted_domains=o.texts("accepted_domains"),
        connectors=o.items("connectors", _hunting_connector_from),
    )
    o.done()
    return section
