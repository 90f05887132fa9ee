"""Graph ``POST /security/runHuntingQuery`` over each tenant's ``EmailEvents`` store.

The store is columnar (one list per column, strings shared, ``NetworkMessageId`` computed from
the row's position), so a tenant can hold a million messages. Queries are answered by the
simulator's own KQL evaluator (``kqlsubset``), never by driftguard's query builder or rules.
As the service: rows older than 30 days are not visible, the ``Timespan`` of the request narrows
the rows too, an answer holds at most 100,000 rows, a query the evaluator cannot compile is a 400
``BadRequest`` with the compiler's message. Faults per tenant (``HuntingStore``): 429 with the
body naming the limit, 403 without the permission, and a tenant without Defender for Office 365
Plan 2, whose ``EmailEvents`` table does not exist (400 "Failed to resolve table or column
expression named 'EmailEvents'", the answer the service gives for a table it does not have).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from driftguard.sim.graph_alerts import graph_tenant
from driftguard.sim.http import HttpError, Request, Response, route
from driftguard.sim.kqlsubset import Column, KqlError, run
from driftguard.sim.state import SimState, TenantState

TYPES: dict[str, str] = {  # EmailEvents columns held (Microsoft's EmailEvents table reference)
    "Timestamp": "DateTime",
    "NetworkMessageId": "String",
    "InternetMessageId": "String",
    "SenderMailFromAddress": "String",
    "SenderFromAddress": "String",
    "SenderMailFromDomain": "String",
    "SenderFromDomain": "String",
    "SenderIPv4": "String",
    "RecipientEmailAddress": "String",
    "Subject": "String",
    "EmailDirection": "String",
    "DeliveryAction": "String",
    "DeliveryLocation": "String",
    "ThreatTypes": "String",
    "Connectors": "String",
}
_DERIVED = ("NetworkMessageId", "InternetMessageId")
RETENTION = timedelta(days=30)
MAX_ROWS = 100_000
MAX_QUERY = 100_000  # characters
THROTTLE_MESSAGE = (
    "Too many requests. The limit of 45 calls per minute for advanced hunting queries was "
    "reached for this tenant. Try again in {seconds} seconds."
)


class HuntingStore:
    """One tenant's EmailEvents rows, column by column, and its advanced hunting faults."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in TYPES if name not in _DERIVED}
        self._strings: dict[str, str] = {}
        self.licensed = True  # Defender for Office 365 Plan 2
        self.permission = True  # ThreatHunting.Read.All consented
        self.throttled = 0  # the next N queries answer 429
        self.queries: list[str] = []  # query texts received, for tests

    def __len__(self) -> int:
        return len(self.columns["Timestamp"])

    def add(self, row: Mapping[str, Any]) -> None:
        """One message and recipient; ``Timestamp`` a datetime or ISO text, the rest text."""
        when = row["Timestamp"]
        if isinstance(when, str):
            when = datetime.fromisoformat(when.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        for name, column in self.columns.items():
            if name == "Timestamp":
                column.append(int(when.timestamp()))
            else:
                text = str(row.get(name) or "")
                column.append(self._strings.setdefault(text, text))

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "licensed": self.licensed,
            "permission": self.permission,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> HuntingStore:
        store = cls()
        columns = raw["columns"]
        for name in store.columns:
            values = list(columns[name])
            store.columns[name] = (
                [int(v) for v in values]
                if name == "Timestamp"
                else [store._strings.setdefault(str(v), str(v)) for v in values]
            )
        store.licensed = bool(raw.get("licensed", True))
        store.permission = bool(raw.get("permission", True))
        return store

    def column(self, name: str) -> Column:
        if name == "NetworkMessageId":
            return [_message_id(i) for i in range(len(self))]
        if name == "InternetMessageId":
            return [
                f"<{_message_id(i)[:18]}@{d}>"
                for i, d in enumerate(self.columns["SenderFromDomain"])
            ]
        return self.columns[name]

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row as the service would return it unaggregated (a plain scan)."""
        names = list(TYPES)
        columns = [self.column(name) for name in names]
        for values in zip(*columns, strict=True):
            row = dict(zip(names, values, strict=True))
            row["Timestamp"] = _iso(row["Timestamp"])
            yield row


def _message_id(index: int) -> str:
    digest = hashlib.blake2b(index.to_bytes(8, "big"), digest_size=16).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _iso(seconds: Any) -> Any:
    if not isinstance(seconds, int):
        return seconds
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def store_for(tenant: TenantState) -> HuntingStore:
    """The tenant's store (made empty on first use)."""
    with tenant.lock:
        if tenant.hunting is None:
            tenant.hunting = HuntingStore()
        store: HuntingStore = tenant.hunting
        return store


def _error(
    status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
) -> HttpError:
    return HttpError(Response.json(status, {"error": {"code": code, "message": message}}, headers))


def _window(body: Mapping[str, Any], now: datetime) -> tuple[int, int]:
    """The rows the query may see: the last 30 days, narrowed by ``Timespan`` if given."""
    low, high = now - RETENTION, now
    span = body.get("Timespan")
    if span is not None:
        if not isinstance(span, str) or "/" not in span:
            raise _error(400, "BadRequest", "Timespan must be an ISO 8601 interval start/end")
        first, _, last = span.partition("/")
        try:
            start = datetime.fromisoformat(first.replace("Z", "+00:00"))
            end = datetime.fromisoformat(last.replace("Z", "+00:00"))
        except ValueError:
            raise _error(400, "BadRequest", "Timespan must be an ISO 8601 interval") from None
        low, high = max(low, start), min(high, end)
    return int(low.timestamp()), int(high.timestamp())


@route("POST", r"/(v1\.0|beta)/security/runHuntingQuery", name="graph-hunting", faults=False)
def run_hunting_query(request: Request, sim: SimState) -> Response:
    tenant = graph_tenant(request, sim)
    store = store_for(tenant)
    if not store.permission:
        raise _error(403, "Forbidden", "Insufficient privileges to complete the operation.")
    with tenant.lock:
        if store.throttled:
            store.throttled -= 1
            retry = sim.knobs.retry_after
            raise _error(
                429,
                "TooManyRequests",
                THROTTLE_MESSAGE.format(seconds=retry),
                [("Retry-After", str(retry))],
            )
    try:
        body = request.json()
    except ValueError:
        raise _error(400, "BadRequest", "The request body is not JSON") from None
    query = body.get("Query") if isinstance(body, dict) else None
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY:
        raise _error(400, "BadRequest", "Query is required")
    store.queries.append(query)
    low, high = _window(body, sim.clock())
    with tenant.lock:
        times = store.columns["Timestamp"]
        visible = [low <= t <= high for t in times]
        n = sum(visible)
        everything = n == len(times)

        def get(name: str) -> Column:
            column = store.column(name)
            return (
                column
                if everything
                else [v for v, keep in zip(column, visible, strict=True) if keep]
            )

        tables = {"EmailEvents": (TYPES, get, n)} if store.licensed else {}
        try:
            result = run(query, tables)
        except KqlError as exc:
            raise _error(400, "BadRequest", f"{exc}. Fix semantic errors in your query.") from None
    names = [name for name, _ in result.columns]
    dates = [i for i, (_, kind) in enumerate(result.columns) if kind == "DateTime"]
    results = []
    for values in result.rows[:MAX_ROWS]:
        row = list(values)
        for i in dates:
            row[i] = _iso(row[i])
        results.append(dict(zip(names, row, strict=True)))
    return Response.json(
        200,
        {
            "@odata.context": f"https://{request.host}/v1.0/$metadata"
            "#microsoft.graph.security.huntingQueryResults",
            "schema": [{"name": name, "type": kind} for name, kind in result.columns],
            "results": results,
        },
    )


def fill(
    store: HuntingStore,
    *,
    count: int,
    start: datetime,
    days: int,
    connectors: tuple[str, ...],
    domain: str,
    seed: int = 0,
) -> None:
    """``count`` synthetic inbound messages over ``days`` days, spread over ``connectors``
    (the last one the intruder's: P1 at foreign bulk-mail domains, P2 at ``domain``, IPs from
    203.0.113.0/24), from small pools of shared strings so a million rows stay compact."""
    import random

    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    own = [f"198.51.100.{i}" for i in range(1, 255)]
    relay = [f"203.0.113.{i}" for i in range(1, 255)]
    foreign = [f"bulk{i}.example" for i in range(40)]
    senders = [f"staff{i}@{domain}" for i in range(200)]
    bounces = [f"bounces@{d}" for d in foreign]
    recipients = [f"user{i}@{domain}" for i in range(500)]
    base = int(start.timestamp())
    span = days * 86_400
    cols = store.columns
    rogue = connectors[-1]
    for i in range(count):
        connector = connectors[i % len(connectors)]
        p2 = senders[i % 200]
        if connector == rogue:
            k = rng.randrange(40)
            p1, p1_domain, ip = bounces[k], foreign[k], relay[i % 254]
        else:
            p1, p1_domain, ip = p2, domain, own[i % 254]
        junked = i % 20 == 0
        cols["Timestamp"].append(base + (i * span) // count)
        cols["SenderMailFromAddress"].append(p1)
        cols["SenderFromAddress"].append(p2)
        cols["SenderMailFromDomain"].append(p1_domain)
        cols["SenderFromDomain"].append(domain)
        cols["SenderIPv4"].append(ip)
        cols["RecipientEmailAddress"].append(recipients[i % 500])
        cols["Subject"].append("Weekly report")
        cols["EmailDirection"].append("Inbound")
        cols["DeliveryAction"].append("Junked" if junked else "Delivered")
        cols["DeliveryLocation"].append("Junk folder" if junked else "Inbox/folder")
        cols["ThreatTypes"].append("Spam" if junked else "")
        cols["Connectors"].append(connector)
