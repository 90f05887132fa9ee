"""The investigation evidence of one tenant, read into small tables a renderer can draw.

The evidence is JSON-ready data built from audit logs, message traces and alerts, so every value in
it is attacker-influenced: anything may be missing or oddly typed. These functions never raise;
they return plain (unescaped, capped) strings, and the renderers escape them. Keys they do not know
fall through to ``EvidenceView.other`` as capped text, so nothing is silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from driftguard.report.summary import cell_text

MAX_ROWS = 200
"""Rows per evidence table; the JSON report keeps everything."""
MAX_DAYS = 400
MAX_ITEMS = 20
"""Items of one list shown in one cell (reasons, IPs, connectors)."""

# Keys drawn elsewhere (the timeline) or by a dedicated table below.
_TIMELINE_KEYS = frozenset({"timeline", "events"})
_TABLE_TITLES: dict[str, str] = {
    "sources": "Sources",
    "actors": "Actors",
    "blocked": "Blocked connectors",
    "alerts": "Security alerts",
    "attribution": "Attribution",
    "mail_flow": "Mail flow",
    "recent_messages": "Recent messages",
}
_FACT_TITLES: dict[str, str] = {
    "suspicious": "Suspicious activity found",
    "audit_events_outside_window": "Audit events outside the window",
    "other_audit_events": "Other audit events not shown",
    "skipped_rows": "Skipped rows",
    "skipped": "Skipped inputs",
}
_MAIL_FLOW_FACTS: dict[str, str] = {
    "rows": "Message trace rows",
    "duplicates_dropped": "Duplicates dropped",
    "unattributed_rows": "Rows without a connector",
    "rows_outside_window": "Rows outside the window",
    "skipped_rows": "Skipped rows",
}

_SUBSECOND = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+(?=Z$|[+-]\d\d:\d\d$)")
Row = dict[str, Any]


@dataclass(frozen=True)
class EvidenceView:
    facts: list[tuple[str, str]] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    actors: list[Row] = field(default_factory=list)
    blocked: list[Row] = field(default_factory=list)
    alerts: list[Row] = field(default_factory=list)
    attribution: list[Row] = field(default_factory=list)
    mail_flow_facts: list[tuple[str, str]] = field(default_factory=list)
    mail_flow: list[Row] = field(default_factory=list)
    recent_messages: list[Row] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(
            (
                self.facts,
                self.sources,
                self.actors,
                self.blocked,
                self.alerts,
                self.attribution,
                self.mail_flow_facts,
                self.mail_flow,
                self.recent_messages,
                self.other,
            )
        )


def evidence_view(evidence: Any) -> EvidenceView:
    """The evidence besides its timeline, as tables; never raises on odd data."""
    if not isinstance(evidence, Mapping):
        return EvidenceView()
    get = evidence.get
    facts = _window(get("window"))
    other: list[tuple[str, str]] = []
    for key in sorted(evidence, key=str):
        name = str(key)
        if key in _TIMELINE_KEYS or key == "window" or key in _TABLE_TITLES:
            continue
        value = evidence[key]
        if name in _FACT_TITLES and _is_fact(value):
            if value not in ([], ()):
                facts.append((_FACT_TITLES[name], _scalar(value)))
        else:
            other.append((cell_text(name, 200), _capped(value)))
    facts += [
        (title, "not available")
        for key, title in _TABLE_TITLES.items()
        if key in evidence and evidence[key] is None
    ]
    flow = get("mail_flow")
    return EvidenceView(
        facts=facts,
        sources=_pairs(get("sources")),
        actors=_actors(get("actors")),
        blocked=_blocked(get("blocked")),
        alerts=_alerts(get("alerts")),
        attribution=_attribution(get("attribution")),
        mail_flow_facts=_mail_flow_facts(flow),
        mail_flow=_mail_flow(flow),
        recent_messages=_recent(get("recent_messages")),
        other=other + _unreadable(evidence),
    )


# --------------------------------------------------------------------------- small tables


def _window(window: Any) -> list[tuple[str, str]]:
    if not isinstance(window, Mapping):
        return [("Window", _scalar(window))] if window is not None else []
    out = []
    for key, title in (("since", "Window start"), ("until", "Window end")):
        if window.get(key) is not None:
            out.append((title, _SUBSECOND.sub(r"\1", _scalar(window.get(key)))))
    return out


def _pairs(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, Mapping):
        return []
    return [(cell_text(k, 200), _scalar(v)) for k, v in list(value.items())[:MAX_ROWS]]


def _actors(value: Any) -> list[Row]:
    return [
        {
            "actor": _str(item.get("actor")),
            "verdict": _str(item.get("verdict")),
            "reasons": _list(item.get("reasons")),
            "client_ips": _list(item.get("client_ips", item.get("ips"))),
            "events": _scalar(item.get("events")),
            "last": _str(item.get("last", item.get("last_seen"))),
        }
        for item in _items(value)
    ]


def _blocked(value: Any) -> list[Row]:
    return [
        {
            "connector": _str(item.get("connector")),
            "guid": _str(item.get("guid", item.get("connector_id"))),
            "since": _str(item.get("created", item.get("since"))),
            "expires": _str(item.get("expires")),
            "reason": _str(item.get("reason")),
            "ndr": _str(item.get("ndr")),
        }
        for item in _items(value)
    ]


def _alerts(value: Any) -> list[Row]:
    return [
        {
            "time": _str(item.get("created", item.get("time"))),
            "title": _str(item.get("title")),
            "severity": _str(item.get("severity")),
            "status": _str(item.get("status")),
            "connectors": _list(item.get("connectors")),
        }
        for item in _items(value)
    ]


def _attribution(value: Any) -> list[Row]:
    return [
        {
            "connector": _str(item.get("connector")),
            "finding": " ".join(s for s in (_str(item.get("kind")), _str(item.get("field"))) if s),
            "attributed": item.get("attributed") is True,
            "events": _scalar(item.get("events")),
            "actors": _list(item.get("actors")),
            "note": _str(item.get("note")),
        }
        for item in _items(value)
    ]


def _recent(value: Any) -> list[Row]:
    if not isinstance(value, Mapping):
        return []
    rows = []
    for name, item in list(value.items())[:MAX_ROWS]:
        if isinstance(item, list | tuple):
            rows.append({"connector": cell_text(name, 500), "messages": str(len(item))})
        else:
            rows.append({"connector": cell_text(name, 500), "messages": _scalar(item)})
    return rows


# --------------------------------------------------------------------------- mail flow


def _mail_flow_facts(flow: Any) -> list[tuple[str, str]]:
    if not isinstance(flow, Mapping):
        return []
    return [(title, _scalar(flow[key])) for key, title in _MAIL_FLOW_FACTS.items() if key in flow]


def _mail_flow(flow: Any) -> list[Row]:
    """One row per connector: totals over the window, spike days, and the per-day detail."""
    if not isinstance(flow, Mapping):
        return []
    spikes: dict[str, dict[str, str]] = {}
    for spike in _items(flow.get("spikes")):
        connector, day = _str(spike.get("connector")), _str(spike.get("day"))
        spikes.setdefault(connector, {})[day] = (
            f"{_scalar(spike.get('volume'))} messages against a median of "
            f"{_scalar(spike.get('median'))} (robust z {_scalar(spike.get('robust_z'))})"
        )
    connectors = flow.get("connectors")
    if not isinstance(connectors, Mapping):
        return []
    rows = []
    for name, raw_days in list(connectors.items())[:MAX_ROWS]:
        connector = cell_text(name, 500)
        spike_days = spikes.get(connector, {})
        days = [_day(item, spike_days) for item in _items(raw_days, MAX_DAYS)]
        volume = sum(_number(d["raw_volume"]) for d in days)
        spam = sum(_number(d["raw_spam"]) for d in days)
        outside = sum(_number(d["raw_outside"]) for d in days)
        peak = max(days, key=lambda d: _number(d["raw_volume"]), default=None)
        rows.append(
            {
                "connector": connector,
                "days": days,
                "volume": _count(volume),
                "spam": _count(spam),
                "spam_share": _percent(spam / volume) if volume else "",
                "outside_senders": _count(outside),
                "peak": (
                    f"{peak['volume']} on {peak['day']}"
                    if peak and _number(peak["raw_volume"]) > 0
                    else ""
                ),
                "spikes": [
                    {"day": day, "detail": detail} for day, detail in sorted(spike_days.items())
                ],
            }
        )
    return rows


def _day(item: Mapping[str, Any], spike_days: Mapping[str, str]) -> Row:
    day = _str(item.get("day"))
    volume = item.get("volume")
    share = _number(item.get("spam_share"))
    domains = item.get("outside_domains")
    top = ""
    if isinstance(domains, Mapping) and domains:
        top = ", ".join(f"{cell_text(k, 200)} ({_scalar(v)})" for k, v in domains.items())
        others = item.get("other_outside_domains")
        if _number(others):
            top += f", {_scalar(others)} more"
    return {
        "day": day,
        "volume": _scalar(volume),
        "spam": _scalar(item.get("spam")),
        "spam_share": _percent(share) if share else "",
        "outside_senders": _scalar(item.get("outside_senders")),
        "outside_domains": cell_text(top, 1000),
        "spike": spike_days.get(day, ""),
        "raw_volume": volume,
        "raw_spam": item.get("spam"),
        "raw_outside": item.get("outside_senders"),
    }


# --------------------------------------------------------------------------- defensive readers


def _items(value: Any, limit: int = MAX_ROWS) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value[:limit] if isinstance(item, Mapping)]


def _unreadable(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Known keys whose value has a shape no table reads: shown as text instead."""
    out = []
    for key in _TABLE_TITLES:
        value = evidence.get(key)
        shape = Mapping if key in ("sources", "recent_messages", "mail_flow") else list | tuple
        if value is None or isinstance(value, shape):
            continue
        out.append((key, _capped(value)))
    return out


def _is_fact(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | tuple)


def _str(value: Any) -> str:
    return "" if value is None else cell_text(value, 2000)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return _count(value)
    if isinstance(value, float):
        if not _number(value):
            return "0" if value == 0 else str(value)
        return _count(value) if value.is_integer() else f"{value:,.1f}"
    return cell_text(value, 2000)


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        return [_str(value)]
    shown = [_str(v) for v in value[:MAX_ITEMS]]
    if len(value) > MAX_ITEMS:
        shown.append(f"… and {len(value) - MAX_ITEMS} more")
    return shown


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if value == value and abs(value) != float("inf") else 0.0


def _count(value: float) -> str:
    return f"{int(value):,}"


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _capped(value: Any) -> str:
    return "not available" if value is None else cell_text(value, 2000)
