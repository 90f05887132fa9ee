"""Message-trace aggregation: 1,000,000 rows (target < 10 s, < 200 MB peak, flat memory).

Rows are made lazily (one dict at a time, from small pools of pre-built strings, so generation
costs little next to the work measured) over 60 days from three sources: the on-premises relay,
a rogue connector's range and internet mail, with repeats at continuation edges (1 in 500 rows
comes twice) and a spike on one day. Measured through ``messagetrace.aggregate`` (edge dedupe,
connector matching, per-day counts, spike rule):

- ``trace_1m_seconds``: wall seconds for 1,000,000 rows; reference: 100,000 rows (ratio ~10 =
  linear).
- ``trace_1m_peak_mb``: tracemalloc peak while aggregating 1,000,000 rows; reference: the peak
  at 100,000 rows. A ratio near 1 shows memory does not grow with the row count.
- ``trace_vs_plain_parse``: CPU seconds of ``read_message_trace`` (the ``--message-trace``
  reader: CSV rows to records, then the same aggregation) over 200,000 of these rows saved as
  ``Export-Csv`` does (every field quoted, a ``#TYPE`` line first); reference: ``csv.reader``
  over the same bytes; the least of 5 interleaved runs each. Target: ratio <= 3.
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._timing import best_cpu, cpu_record, peak_mb
from driftguard.investigate.files import read_message_trace
from driftguard.investigate.messagetrace import Aggregator, MailFlow, aggregate
from driftguard.normalize import connector_from_baseline

DAYS = 60
START = datetime(2026, 9, 1, tzinfo=UTC)
END = START + timedelta(days=DAYS)
LARGE, SMALL = 1_000_000, 100_000
MAX_SECONDS = 10.0
MAX_PEAK_MB = 200.0
PARSE_ROWS = 200_000
MAX_PARSE_RATIO = 3.0
_FIELDS = (
    "MessageTraceId",
    "Received",
    "SenderAddress",
    "RecipientAddress",
    "FromIP",
    "Status",
    "Size",
)
CONNECTORS = [
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
]
_IPS = (
    [f"198.51.100.{i}" for i in range(1, 255)]
    + [f"203.0.113.{i}" for i in range(1, 60)]
    + [f"192.0.2.{i}" for i in range(1, 200)]
    + ["2001:db8::25"]
)
_SENDERS = [f"u{i}@contoso.com" for i in range(50)] + [f"x{i}@spam{i}.example" for i in range(30)]
_RECIPIENTS = [f"user{i}@contoso.com" for i in range(40)]
_STATUS = ["Delivered"] * 9 + ["FilteredAsSpam"]


_DAY_PREFIX = [(START + timedelta(days=d)).strftime("%Y-%m-%dT") for d in range(DAYS)]
SPIKE_DAY = 45
BURST = 8


def rows(count: int) -> Iterator[dict[str, Any]]:
    """``count`` rows, newest first, made one at a time."""
    span = DAYS * 86_400
    base = count * DAYS // (DAYS + BURST - 1)  # the spike day's extra rows come on top
    step = span / base
    n_ips, n_senders, n_recipients = len(_IPS), len(_SENDERS), len(_RECIPIENTS)
    made = 0
    i = 0
    while made < count:
        offset = max(0, span - 1 - int(i * step))
        day, second = divmod(offset, 86_400)
        hours, rest = divmod(second, 3600)
        minutes, seconds = divmod(rest, 60)
        stamp = f"{_DAY_PREFIX[day]}{hours:02d}:{minutes:02d}:{seconds:02d}.1234567Z"
        burst = BURST if day == SPIKE_DAY else 1  # the spike: the rogue range, eight at a time
        for b in range(burst):
            ip = _IPS[(i * 7) % n_ips] if b == 0 else _IPS[254 + (i + b) % 59]
            row = {
                "MessageTraceId": f"{i:08x}-0000-4000-8000-{b:012x}",
                "Received": stamp,
                "SenderAddress": _SENDERS[(i * 13 + b) % n_senders],
                "RecipientAddress": _RECIPIENTS[i % n_recipients],
                "FromIP": ip,
                "Status": _STATUS[(i + b) % 10],
                "Size": 4096,
            }
            yield row
            made += 1
            if made % 500 == 0:
                yield dict(row)  # the service repeats a row at a continuation edge
                made += 1
            if made >= count:
                return
        i += 1


def _flow(count: int) -> MailFlow:
    return aggregate(rows(count), CONNECTORS, ["contoso.com"], START, END)


def _aggregate(count: int) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    flow = _flow(count)
    return time.perf_counter() - t0, flow.rows, len(flow.spikes)


def _export(count: int, folder: Path) -> Path:
    """``count`` rows as ``Get-MessageTraceV2 | Export-Csv`` writes them."""
    path = folder / "trace.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        fh.write("#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTrace\r\n")
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(_FIELDS)
        writer.writerows([row[f] for f in _FIELDS] for row in rows(count))
    return path


def _read(path: Path) -> int:
    aggregator = Aggregator(CONNECTORS, ["contoso.com"], START, END)
    read_message_trace(path, aggregator)
    return aggregator.rows + aggregator.duplicates


def _plain(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 2  # the #TYPE line and the header


def _parse_ratio() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = _export(PARSE_ROWS, Path(folder))
        times, counts = best_cpu({"read": lambda: _read(path), "plain": lambda: _plain(path)}, 5)
    found = cpu_record("trace_vs_plain_parse", times["read"], times["plain"], MAX_PARSE_RATIO, None)
    return {**found, "ok": found["ok"] and len(counts) == 1}  # both saw every row


def run() -> list[dict[str, Any]]:
    _aggregate(20_000)  # warm-up
    small, _, _ = _aggregate(SMALL)
    large, counted, found = _aggregate(LARGE)
    peak_small = peak_mb(lambda: _flow(SMALL))
    peak_large = peak_mb(lambda: _flow(LARGE))
    return [
        {
            "name": "trace_1m_seconds",
            "value": round(large, 3),
            "reference": round(small, 3),
            "ratio": round(large / small, 2),
            "target": f"< {MAX_SECONDS:g} s for 1,000,000 rows (reference: 100,000 rows)",
            "ok": large < MAX_SECONDS and counted > 0 and found == 1,
        },
        {
            "name": "trace_1m_peak_mb",
            "value": round(peak_large, 2),
            "reference": round(peak_small, 2),
            "ratio": round(peak_large / peak_small, 2),
            "target": f"< {MAX_PEAK_MB:g} MB, ratio < 2 (memory flat in the row count)",
            "ok": peak_large < MAX_PEAK_MB and peak_large / peak_small < 2.0,
        },
        _parse_ratio(),
    ]
