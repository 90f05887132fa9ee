"""Mail-flow aggregation and the spike rule on seeded synthetic traffic with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from driftguard.investigate.messagetrace import (
    MIN_EXCESS,
    Aggregator,
    ConnectorMatcher,
    aggregate,
    slices,
    spikes,
)
from driftguard.model import Connector
from driftguard.normalize import connector_from_baseline
from driftguard.sim.traffic import Source, SpikeSpec, trace_rows

FIRST = date(2026, 10, 1)
DAYS = 42
START = datetime(2026, 10, 1, tzinfo=UTC)
END = START + timedelta(days=DAYS) - timedelta(microseconds=1)


def _connectors() -> list[Connector]:
    return [
        connector_from_baseline(
            {
                "Name": "Hybrid relay",
                "ConnectorType": "OnPremises",
                "SenderIPAddresses": ["198.51.100.0/24"],
            }
        ),
        connector_from_baseline(
            {
                "Name": "Inbound relay (temp)",
                "ConnectorType": "OnPremises",
                "SenderIPAddresses": ["203.0.113.0/24"],
            }
        ),
        connector_from_baseline(
            {
                "Name": "Scanner",
                "ConnectorType": "OnPremises",
                "SenderIPAddresses": ["198.51.100.25"],
            }
        ),
    ]


SOURCES = (
    Source("198.51.100", 300, ("contoso.com",)),
    Source("203.0.113", 120, ("contoso.com", "partner.example")),
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weekly_rhythm_and_noise_raise_no_spike(seed: int) -> None:
    rows = trace_rows(seed=seed, first=FIRST, days=DAYS, sources=SOURCES, internet_daily=50)
    flow = aggregate(rows, _connectors(), ["contoso.com"], START, END)
    assert flow.rows > 10_000
    assert flow.spikes == ()


@pytest.mark.parametrize("seed", [1, 2])
def test_known_spike_is_found_on_its_day_and_connector_only(seed: int) -> None:
    spike = SpikeSpec("203.0.113", day=35, messages=900)
    rows = trace_rows(seed=seed, first=FIRST, days=DAYS, sources=SOURCES, spike=spike)
    flow = aggregate(rows, _connectors(), ["contoso.com"], START, END)
    assert [(s.connector, s.day) for s in flow.spikes] == [
        ("Inbound relay (temp)", FIRST + timedelta(days=35))
    ]
    day = flow.per_connector["Inbound relay (temp)"][FIRST + timedelta(days=35)]
    assert day.volume > 900
    assert day.spam_share > 0.4  # the spike's mail is mostly spam
    assert "bulk-mailer.example" in day.outside_domains


def test_small_bump_on_a_quiet_connector_is_not_news() -> None:
    quiet = (Source("203.0.113", 4, ("contoso.com",)),)
    bump = SpikeSpec("203.0.113", day=30, messages=MIN_EXCESS - 20)
    flow = aggregate(
        trace_rows(seed=7, first=FIRST, days=DAYS, sources=quiet, spike=bump),
        _connectors(),
        ["contoso.com"],
        START,
        END,
    )
    assert flow.spikes == ()


def test_new_connector_suddenly_carrying_mail_is_a_spike() -> None:
    volumes = [0] * 20 + [400, 420]
    days = [FIRST + timedelta(days=i) for i in range(len(volumes))]
    found = spikes("Inbound relay (temp)", days, volumes)
    # The median shrugs off one busy day, so the second busy day is still a spike.
    assert [s.day for s in found] == [days[20], days[21]]


def test_no_verdict_without_enough_history() -> None:
    volumes = [100, 100, 100, 5000]
    days = [FIRST + timedelta(days=i) for i in range(4)]
    assert spikes("x", days, volumes) == []


def test_flat_history_mad_zero_does_not_alarm_on_one_message() -> None:
    volumes = [100] * 14 + [101, 160]
    days = [FIRST + timedelta(days=i) for i in range(len(volumes))]
    assert [s.volume for s in spikes("x", days, volumes)] == [160]


def _row(i: int, when: str, ip: str, recipient: str = "a@contoso.com") -> dict[str, object]:
    return {
        "MessageTraceId": f"id-{i}",
        "Received": when,
        "FromIP": ip,
        "RecipientAddress": recipient,
        "SenderAddress": "x@contoso.com",
        "Status": "Delivered",
    }


def test_repeats_are_dropped_but_recipients_of_one_message_count() -> None:
    t = "2026-10-05T10:00:00.0000000Z"
    rows = [
        _row(1, t, "198.51.100.1"),
        _row(1, t, "198.51.100.1", "b@contoso.com"),
        _row(1, t, "198.51.100.1"),  # repeat at a continuation edge
        _row(2, "2026-10-05T09:59:59.5000000Z", "198.51.100.1"),
        _row(2, "2026-10-05T09:59:59.5000000Z", "198.51.100.1"),
    ]
    flow = aggregate(rows, _connectors(), ["contoso.com"], START, END)
    assert flow.duplicates == 2
    assert flow.per_connector["Hybrid relay"][date(2026, 10, 5)].volume == 3


def test_dedupe_memory_is_bounded() -> None:
    agg = Aggregator(_connectors(), ["contoso.com"], START, END)
    base = datetime(2026, 10, 20, tzinfo=UTC)
    for i in range(30_000):
        when = base - timedelta(seconds=30 * i)
        agg.add(_row(i, when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"), "198.51.100.1"))
    assert len(agg._recent) < 10_000  # only keys near the edge being read are kept
    assert agg.result().rows == 30_000


def test_matcher_most_specific_range_and_ipv6() -> None:
    match = ConnectorMatcher(_connectors())
    assert match("198.51.100.25") == ("Scanner",)
    assert match("198.51.100.26") == ("Hybrid relay",)
    assert match("203.0.113.200") == ("Inbound relay (temp)",)
    assert match("192.0.2.1") == ()
    assert match("2001:db8::1") == ()
    assert match("::ffff:198.51.100.1") == ()
    assert match("198.51.100") == ()
    assert match(None) == ()


def test_a_range_shared_by_two_connectors_counts_for_both() -> None:
    widened = connector_from_baseline(
        {
            "Name": "Hybrid relay",
            "ConnectorType": "OnPremises",
            "SenderIPAddresses": ["198.51.100.0/24", "203.0.113.0/24"],
        }
    )
    rogue = _connectors()[1]
    flow = aggregate(
        [_row(1, "2026-10-05T10:00:00Z", "203.0.113.9")], [widened, rogue], [], START, END
    )
    assert sorted(flow.per_connector) == ["Hybrid relay", "Inbound relay (temp)"]
    assert flow.rows == 1


def test_history_starts_with_the_first_traced_day() -> None:
    # Ten days of steady mail, then a busy day: a spike. The same busy day with only two days
    # of trace before it gives no verdict (days before the trace are unknown, not zero).
    steady = (Source("203.0.113", 100, ("contoso.com",)),)
    busy = SpikeSpec("203.0.113", day=10, messages=1000)
    rows = list(trace_rows(seed=3, first=FIRST, days=11, sources=steady, spike=busy))
    flow = aggregate(rows, _connectors(), [], START, END)
    assert [s.day for s in flow.spikes] == [FIRST + timedelta(days=10)]
    late = [r for r in rows if str(r["Received"]) >= "2026-10-09"]
    assert aggregate(late, _connectors(), [], START, END).spikes == ()


def test_outside_senders_respect_subdomains_of_accepted_domains() -> None:
    rows = [
        {**_row(1, "2026-10-05T10:00:00Z", "198.51.100.1"), "SenderAddress": "a@mail.contoso.com"},
        {**_row(2, "2026-10-05T10:00:01Z", "198.51.100.1"), "SenderAddress": "b@notcontoso.com"},
        {**_row(3, "2026-10-05T10:00:02Z", "198.51.100.1"), "Status": "FilteredAsSpam"},
    ]
    flow = aggregate(rows, _connectors(), ["contoso.com"], START, END)
    day = flow.per_connector["Hybrid relay"][date(2026, 10, 5)]
    assert (day.volume, day.outside_senders, day.spam) == (3, 1, 1)
    assert day.outside_domains == {"notcontoso.com": 1}


def test_slices_cover_the_window_newest_first_in_ten_day_pieces() -> None:
    parts = slices(START, START + timedelta(days=25))
    assert [(b - a).days for a, b in parts] == [10, 10, 5]
    assert parts[0][1] == START + timedelta(days=25)
    assert parts[-1][0] == START
    assert all(parts[i][0] == parts[i + 1][1] for i in range(len(parts) - 1))
