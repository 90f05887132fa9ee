"""The demo scenario is dated from the moment its state is made: the same story on any date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from driftguard.sim.scenarios import build
from driftguard.sim.state import SimState, TenantState

CLOCKS = (
    datetime(2026, 11, 29, 21, 0, tzinfo=UTC),
    datetime(2027, 8, 9, 9, 30, tzinfo=UTC),
    datetime(2031, 3, 1, 0, 0, 5, tzinfo=UTC),  # just after midnight, the day after Feb 28
)


def demo_at(made: datetime) -> TenantState:
    return build(demo=True, sim=SimState(clock=lambda: made)).tenants["demo"]


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)


@pytest.mark.parametrize("made", CLOCKS, ids=lambda c: c.date().isoformat())
def test_intrusion_is_the_day_before_and_nothing_is_later_than_the_clock(made: datetime) -> None:
    demo = demo_at(made)
    intrusion = next(a for a in demo.audit if a["ObjectId"] == "Inbound relay (temp)")
    expected = datetime.combine(made.date() - timedelta(days=1), datetime.min.time(), UTC)
    assert parse(intrusion["CreationTime"]) == expected.replace(hour=2, minute=38, second=12)
    moments = [parse(a["CreationTime"]) for a in demo.audit]
    moments += [parse(r["Received"]) for r in demo.message_trace]
    moments += [parse(b["CreatedTime"]) for b in demo.blocked]
    moments += [parse(a["createdDateTime"]) for a in demo.alerts]
    moments += [parse(c[f]) for c in demo.connectors for f in ("WhenChangedUTC", "WhenCreatedUTC")]
    assert max(moments) <= made
    # investigate's default window (30 days) holds the intrusion; the trace's 90 days hold it all
    assert min(parse(r["Received"]) for r in demo.message_trace) >= made - timedelta(days=90)
    assert parse(demo.blocked[0]["CreatedTime"]) - parse(intrusion["CreationTime"]) < timedelta(
        hours=4
    )


def test_another_date_is_the_same_story_moved_by_whole_days() -> None:
    first, later = demo_at(CLOCKS[0]), demo_at(CLOCKS[1])
    shift = timedelta(days=(CLOCKS[1].date() - CLOCKS[0].date()).days)
    assert [parse(a["CreationTime"]) + shift for a in first.audit] == [
        parse(a["CreationTime"]) for a in later.audit
    ]
    assert [(a["Operation"], a["ObjectId"], a["UserId"]) for a in first.audit] == [
        (a["Operation"], a["ObjectId"], a["UserId"]) for a in later.audit
    ]
    assert parse(first.alerts[0]["createdDateTime"]) + shift == parse(
        later.alerts[0]["createdDateTime"]
    )
    # The first clock is at 21:00, the later one at 09:30: the later trace stops earlier that day.
    later_rows = {(r["MessageTraceId"], parse(r["Received"])) for r in later.message_trace}
    moved = {(r["MessageTraceId"], parse(r["Received"]) + shift) for r in first.message_trace}
    assert later_rows == {row for row in moved if row[1] <= CLOCKS[1]}
    assert len(later_rows) < len(moved)


@pytest.mark.parametrize("made", CLOCKS, ids=lambda c: c.date().isoformat())
def test_the_trace_has_enough_history_for_the_spike_rule(made: datetime) -> None:
    from driftguard.investigate.mailflow import MIN_HISTORY_DAYS, aggregate
    from driftguard.normalize import connector_from_record

    demo = demo_at(made)
    live = [connector_from_record(r) for r in demo.connectors]
    flow = aggregate(
        demo.message_trace, live, demo.accepted_domains, made - timedelta(days=30), made
    )
    intrusion_day = made.date() - timedelta(days=1)
    first_day = min(parse(r["Received"]) for r in demo.message_trace).date()
    assert (intrusion_day - first_day).days >= 2 * MIN_HISTORY_DAYS
    # The intruder's range is on the rogue connector and was added to "Hybrid relay": both
    # carry the spike, on the intrusion day only; the untouched connectors carry none.
    assert sorted((s.connector, s.day) for s in flow.spikes) == [
        ("Hybrid relay", intrusion_day),
        ("Inbound relay (temp)", intrusion_day),
    ]
