"""Synthetic, deterministic mail traffic and audit history for the simulator and the benchmarks.

Everything is a generator driven by a seeded ``random.Random``: same seed, same rows, and rows are
made one at a time (a million of them never sit in memory). Traffic has a weekly rhythm (weekends
at 30% of weekdays), +-15% daily noise, multi-recipient messages (rows sharing a MessageTraceId and
a Received time, which exercises the continuation's tie-break), internet mail from addresses no
connector holds, some IPv6 senders, and optionally a spike with known day, connector and size.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Source:
    """Mail arriving from ``network`` (an IPv4 /24 prefix like ``198.51.100``)."""

    network: str
    daily: int  # messages on a weekday
    domains: tuple[str, ...]  # sender domains
    spam_rate: float = 0.01


@dataclass(frozen=True)
class SpikeSpec:
    network: str
    day: int  # offset from the first day
    messages: int  # extra messages that day
    domains: tuple[str, ...] = ("bulk-mailer.example", "promo-blast.example")
    spam_rate: float = 0.6


def _day_volume(rng: random.Random, base: int, day: date) -> int:
    weekly = 0.3 if day.weekday() >= 5 else 1.0
    return max(0, round(base * weekly * rng.uniform(0.85, 1.15)))


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def trace_rows(
    *,
    seed: int,
    first: date,
    days: int,
    sources: Sequence[Source],
    recipients: Sequence[str] = ("user1@contoso.com", "user2@contoso.com", "sales@contoso.com"),
    internet_daily: int = 0,
    spike: SpikeSpec | None = None,
) -> Iterator[dict[str, Any]]:
    """Message-trace rows, day by day (oldest day first, times within a day unordered)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    for offset in range(days):
        day = first + timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        plan: list[tuple[str, int, tuple[str, ...], float]] = [
            (s.network, _day_volume(rng, s.daily, day), s.domains, s.spam_rate) for s in sources
        ]
        if internet_daily:
            plan.append(("", _day_volume(rng, internet_daily, day), ("example.org",), 0.2))
        if spike is not None and spike.day == offset:
            plan.append((spike.network, spike.messages, spike.domains, spike.spam_rate))
        for network, count, domains, spam_rate in plan:
            made = 0
            while made < count:
                received = midnight + timedelta(microseconds=rng.randrange(86_400_000_000))
                trace_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                if network:
                    from_ip = f"{network}.{rng.randrange(1, 255)}"
                elif rng.random() < 0.1:
                    from_ip = f"2001:db8::{rng.randrange(1, 65535):x}"
                else:
                    from_ip = f"192.0.2.{rng.randrange(1, 255)}"
                sender = f"u{rng.randrange(1000)}@{rng.choice(domains)}"
                status = "FilteredAsSpam" if rng.random() < spam_rate else "Delivered"
                fanout = 1 if rng.random() < 0.9 else rng.randrange(2, 4)
                for recipient in rng.sample(list(recipients), min(fanout, len(recipients))):
                    yield {
                        "MessageTraceId": trace_id,
                        "MessageId": f"<{trace_id[:8]}@{sender.partition('@')[2]}>",
                        "Received": _z(received),
                        "SenderAddress": sender,
                        "RecipientAddress": recipient,
                        "FromIP": from_ip,
                        "ToIP": None,
                        "Subject": "Message",
                        "Status": status,
                        "Size": 2000 + rng.randrange(50_000),
                    }
                made += 1


def audit_records(
    *,
    seed: int,
    count: int,
    end: datetime,
    connectors: Sequence[str],
    actors: Sequence[tuple[str, str]] = (("exadmin@contoso.com", "198.51.100.10"),),
    span: timedelta = timedelta(days=60),
    tenant_id: str = "00000000-0000-0000-0000-000000000000",
) -> Iterator[dict[str, Any]]:
    """``count`` AuditData records of routine connector changes, oldest first."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    step = span / max(count, 1)
    start = end - span
    fields = ("Comment", "Enabled", "RequireTls", "SenderDomains")
    for i in range(count):
        when = start + step * i
        actor, ip = actors[rng.randrange(len(actors))]
        name = connectors[rng.randrange(len(connectors))]
        field = fields[rng.randrange(len(fields))]
        yield {
            "CreationTime": when.strftime("%Y-%m-%dT%H:%M:%S"),
            "Id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "Operation": "Set-InboundConnector",
            "OrganizationId": tenant_id,
            "RecordType": 1,
            "ResultStatus": "True",
            "UserKey": actor,
            "UserType": 2,
            "Version": 1,
            "Workload": "Exchange",
            "ClientIP": f"{ip}:{rng.randrange(1024, 65535)}",
            "ObjectId": name,
            "UserId": actor,
            "AppId": "",
            "ExternalAccess": False,
            "Parameters": [
                {"Name": "Identity", "Value": name},
                {"Name": field, "Value": f"routine change {i}"},
            ],
        }
