"""Explorer's evidence (advanced hunting or its export) as plain text lines: the investigation's
text section and the first step of ``respond`` draw it with ``render_hunting``. Pure; domains,
IPs and connector names come from mail and are attacker-controlled: every one goes through
``one_line`` (no control characters)."""

from __future__ import annotations

from driftguard.investigation import HuntingSection, moment
from driftguard.textsafe import one_line

MAX_CONNECTORS = 50


def _s(value: object) -> str:
    return one_line(str(value))


def render_hunting(section: HuntingSection) -> list[str]:
    """A heading line, one line per connector with mail (totals over the window), and one
    ``SUSPICIOUS`` line per reason."""
    lines = [
        f"hunting ({_s(section.source)}, {moment(section.since)} .. {moment(section.until)}): "
        f"{section.queries} queries, {section.rows} rows"
    ]
    shown = [c for c in section.connectors if c.days][:MAX_CONNECTORS]
    for connector in shown:
        days = connector.days
        lines.append(
            f"  {_s(connector.connector)}: {sum(d.messages for d in days)} messages over "
            f"{len(days)} days, {sum(d.junked for d in days)} junked, "
            f"{sum(d.mismatched for d in days)} P1/P2 mismatched, "
            f"{sum(d.foreign for d in days)} from foreign domains, "
            + (
                f"{sum(d.outside_ranges for d in days)} from outside its ranges"
                if connector.ranges
                else "no approved ranges to judge its IPs by"
            )
        )
        if connector.top_foreign:
            lines.append(
                "    busiest foreign senders (P1 / P2): "
                + ", ".join(
                    f"{_s(f.mail_from_domain)} / {_s(f.from_domain)} ({f.messages})"
                    for f in connector.top_foreign
                )
            )
        lines.extend(f"    SUSPICIOUS: {_s(reason)}" for reason in connector.reasons)
    quiet = len(section.connectors) - len([c for c in section.connectors if c.days])
    if quiet:
        lines.append(f"  {quiet} connectors without mail in the window")
    return lines
