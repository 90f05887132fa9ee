"""The investigation of one tenant, read into small tables a renderer can draw.

The investigation is typed (driftguard.investigation), but its text comes from audit logs, message
traces and alerts: every string is attacker-influenced. These functions return plain (unescaped,
capped) strings, and the renderers escape them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from driftguard.investigate.accountmodel import AccountsSection
from driftguard.investigation import (
    DayEntry,
    HuntingSection,
    Investigation,
    MailFlowSection,
    SpikeEntry,
    moment,
)
from driftguard.report.summary import cell_text

MAX_ROWS = 200
"""Rows per evidence table; the JSON report keeps everything."""
MAX_DAYS = 400
MAX_ITEMS = 20
"""Items of one list shown in one cell (reasons, IPs, connectors)."""

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
    accounts: list[Row] = field(default_factory=list)
    hunting_facts: list[tuple[str, str]] = field(default_factory=list)
    hunting: list[Row] = field(default_factory=list)

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
                self.accounts,
                self.hunting_facts,
                self.hunting,
            )
        )


def evidence_view(evidence: Investigation | None) -> EvidenceView:
    """The investigation besides its timeline, as tables."""
    if evidence is None:
        return EvidenceView()
    facts = [
        ("Window start", _SUBSECOND.sub(r"\1", moment(evidence.since))),
        ("Window end", _SUBSECOND.sub(r"\1", moment(evidence.until))),
        ("Audit events outside the window", _count(evidence.audit_events_outside_window)),
        ("Other audit events not shown", _count(evidence.other_audit_events)),
    ]
    if evidence.skipped:
        facts.append(("Skipped inputs", _joined(evidence.skipped)))
    facts += [
        ("Skipped rows", _count(evidence.skipped_rows)),
        ("Suspicious activity found", "yes" if evidence.suspicious else "no"),
    ]
    missing = (
        ("Actors", evidence.actors),
        ("Blocked connectors", evidence.blocked),
        ("Security alerts", evidence.alerts),
        ("Attribution", evidence.attribution),
        ("Mail flow", evidence.mail_flow),
        ("Recent messages", evidence.recent_messages),
        ("Admin accounts", evidence.accounts),
    )
    facts += [(title, "not available") for title, section in missing if section is None]
    flow = evidence.mail_flow
    return EvidenceView(
        facts=facts,
        sources=[
            (cell_text(k, 200), _str(v)) for k, v in list(evidence.sources.items())[:MAX_ROWS]
        ],
        actors=[
            {
                "actor": _str(a.actor),
                "verdict": _str(a.verdict),
                "reasons": _list(a.reasons),
                "client_ips": _list(a.client_ips),
                "events": _count(a.events),
                "last": moment(a.last),
            }
            for a in (evidence.actors or ())[:MAX_ROWS]
        ],
        blocked=[
            {
                "connector": _str(b.connector),
                "guid": _str(b.guid or b.connector_id),
                "since": _time(b.created),
                "expires": _time(b.expires),
                "reason": _str(b.reason),
                "ndr": _str(b.ndr),
            }
            for b in (evidence.blocked or ())[:MAX_ROWS]
        ],
        alerts=[
            {
                "time": _time(a.created),
                "title": _str(a.title),
                "severity": _str(a.severity),
                "status": _str(a.status),
                "connectors": _list(a.connectors),
            }
            for a in (evidence.alerts or ())[:MAX_ROWS]
        ],
        attribution=[
            {
                "connector": _str(a.connector),
                "finding": " ".join(s for s in (a.kind.value, _str(a.field)) if s),
                "attributed": a.attributed,
                "events": _count(a.events),
                "actors": _list(a.actors),
                "note": _str(a.note),
            }
            for a in (evidence.attribution or ())[:MAX_ROWS]
        ],
        mail_flow_facts=_mail_flow_facts(flow) if flow else [],
        mail_flow=_mail_flow(flow) if flow else [],
        recent_messages=[
            {"connector": cell_text(name, 500), "messages": _count(count)}
            for name, count in list((evidence.recent_messages or {}).items())[:MAX_ROWS]
        ],
        accounts=_accounts(evidence.accounts) if evidence.accounts else [],
        hunting_facts=_hunting_facts(evidence.hunting) if evidence.hunting else [],
        hunting=_hunting(evidence.hunting) if evidence.hunting else [],
    )


# --------------------------------------------------------------------------- accounts


def _accounts(section: AccountsSection) -> list[Row]:
    """One row per investigated account, then one per skipped actor."""
    rows: list[Row] = []
    for a in section.accounts[:MAX_ROWS]:
        ok = sum(1 for s in a.sign_ins if s.error_code == 0)
        rows.append(
            {
                "actor": _str(a.actor),
                "name": _str(a.display_name),
                "flags": _list(f"{f.kind.value}: {f.detail}" for f in a.flags),
                "sign_ins": (
                    f"{_count(a.sign_ins_in_window)} around the change ({_count(ok)} of those "
                    f"shown succeeded), {_count(a.history_sign_ins)} before; countries before: "
                    + (_joined(a.history_countries) or "none")
                ),
                "risk": "" if a.risk is None else _str(f"{a.risk.level} / {a.risk.state}"),
                "roles": _list(r.name + (" (privileged)" if r.privileged else "") for r in a.roles),
                "methods": _list(f"{moment(m.time)} {m.detail or m.activity}" for m in a.methods),
                "notes": _list(a.notes),
            }
        )
    for skipped in section.skipped[:MAX_ROWS]:
        rows.append(
            {
                "actor": _str(skipped.actor),
                "name": "",
                "flags": [],
                "sign_ins": "",
                "risk": "",
                "roles": [],
                "methods": [],
                "notes": [_str(f"skipped: {skipped.reason}")],
            }
        )
    return rows


# --------------------------------------------------------------------------- hunting


def _hunting_facts(section: HuntingSection) -> list[tuple[str, str]]:
    return [
        ("Source", _str(section.source)),
        ("Window", f"{moment(section.since)} .. {moment(section.until)}"),
        ("Queries", _count(section.queries)),
        ("Rows", _count(section.rows)),
        ("Accepted domains", _joined(section.accepted_domains)),
    ]


def _hunting(section: HuntingSection) -> list[Row]:
    """One row per connector: totals over the window and why it looks suspicious."""
    rows = []
    for c in section.connectors[:MAX_ROWS]:
        days = c.days
        rows.append(
            {
                "connector": cell_text(c.connector, 500),
                "days": _count(len(days)),
                "messages": _count(sum(d.messages for d in days)),
                "junked": _count(sum(d.junked for d in days)),
                "mismatched": _count(sum(d.mismatched for d in days)),
                "foreign": _count(sum(d.foreign for d in days)),
                "outside_ranges": _count(sum(d.outside_ranges for d in days)),
                "ranges": _list(c.ranges),
                "top_foreign": _list(
                    f"{f.mail_from_domain} / {f.from_domain}: {_count(f.messages)}"
                    for f in c.top_foreign
                ),
                "reasons": _list(c.reasons),
            }
        )
    return rows


# --------------------------------------------------------------------------- mail flow


def _mail_flow_facts(flow: MailFlowSection) -> list[tuple[str, str]]:
    return [
        ("Message trace rows", _count(flow.rows)),
        ("Duplicates dropped", _count(flow.duplicates_dropped)),
        ("Rows without a connector", _count(flow.unattributed_rows)),
        ("Rows outside the window", _count(flow.rows_outside_window)),
        ("Skipped rows", _count(flow.skipped_rows)),
    ]


def _mail_flow(flow: MailFlowSection) -> list[Row]:
    """One row per connector: totals over the window, spike days, and the per-day detail."""
    spikes: dict[str, dict[str, str]] = {}
    for spike in flow.spikes:
        spikes.setdefault(spike.connector, {})[spike.day.isoformat()] = _spike(spike)
    rows = []
    for name, raw_days in list(flow.connectors.items())[:MAX_ROWS]:
        spike_days = spikes.get(name, {})
        days = [_day(item, spike_days) for item in raw_days[:MAX_DAYS]]
        volume = sum(d.volume for d in raw_days)
        spam = sum(d.spam for d in raw_days)
        outside = sum(d.outside_senders for d in raw_days)
        peak = max(raw_days, key=lambda d: d.volume, default=None)
        rows.append(
            {
                "connector": cell_text(name, 500),
                "days": days,
                "volume": _count(volume),
                "spam": _count(spam),
                "spam_share": _percent(spam / volume) if volume else "",
                "outside_senders": _count(outside),
                "peak": (
                    f"{_count(peak.volume)} on {peak.day.isoformat()}"
                    if peak and peak.volume > 0
                    else ""
                ),
                "spikes": [
                    {"day": day, "detail": detail} for day, detail in sorted(spike_days.items())
                ],
            }
        )
    return rows


def _spike(spike: SpikeEntry) -> str:
    return (
        f"{_count(spike.volume)} messages against a median of {_number(spike.median)} "
        f"(robust z {_number(spike.robust_z)})"
    )


def _day(item: DayEntry, spike_days: Mapping[str, str]) -> Row:
    day = item.day.isoformat()
    top = ""
    if item.outside_domains:
        top = ", ".join(
            f"{cell_text(k, 200)} ({_count(v)})" for k, v in item.outside_domains.items()
        )
        if item.other_outside_domains:
            top += f", {_count(item.other_outside_domains)} more"
    return {
        "day": day,
        "volume": _count(item.volume),
        "spam": _count(item.spam),
        "spam_share": _percent(item.spam_share) if item.spam_share else "",
        "outside_senders": _count(item.outside_senders),
        "outside_domains": cell_text(top, 1000),
        "spike": spike_days.get(day, ""),
    }


# --------------------------------------------------------------------------- cells


def _str(value: str | None) -> str:
    return "" if value is None else cell_text(value, 2000)


def _time(value: datetime | None) -> str:
    return "" if value is None else moment(value)


def _joined(values: Sequence[str]) -> str:
    return cell_text(", ".join(values), 2000)


def _list(values: Iterable[str]) -> list[str]:
    items = list(values)
    shown = [_str(v) for v in items[:MAX_ITEMS]]
    if len(items) > MAX_ITEMS:
        shown.append(f"… and {len(items) - MAX_ITEMS} more")
    return shown


def _number(value: float) -> str:
    return _count(value) if float(value).is_integer() else f"{value:,.1f}"


def _count(value: float) -> str:
    return f"{int(value):,}"


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"
