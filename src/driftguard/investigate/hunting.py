"""Explorer's evidence through advanced hunting (Graph ``POST /security/runHuntingQuery``), or
from the CSV that Explorer and advanced hunting export.

One query per live connector (``kql.HuntingQuery``), aggregated by the service per day, and a
second one for a connector that had foreign mail (its busiest foreign P1/P2 domain pairs), so a
tenant sending millions of messages costs a few rows per connector. The answer is read strictly: the
``schema`` must name the expected columns with their types, ``results`` must be a list of
objects, every row must be one the rules (``huntingrules``) can produce, and an answer at the
service's row limit may be cut: an error. Refusals name what is missing: 403 the permission
``ThreatHunting.Read.All``; throttling (429, retried with ``Retry-After`` under the deadline) the
limit the service names. A tenant without Defender for Office 365 Plan 2 has no ``EmailEvents``
table (the service answers 400 "Failed to resolve table or column expression named
'EmailEvents'"), or a 403 naming the licence: ``NOT_LICENSED``, and the investigation falls back
to message trace and says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar, assert_never

from driftguard.errors import InputError, LiveReadError, ServiceError, TruncatedReadError
from driftguard.investigate.filerows import Kind, Skips, csv_rows, kind, require_readable
from driftguard.investigate.huntingrules import (
    EXPORT_COLUMNS,
    DayCounts,
    HuntingRowError,
    Scope,
    Tally,
    connector_entry,
    day_from_row,
    pair_from_row,
    routed_through,
)
from driftguard.investigate.kql import HuntingQuery, QueryKind, QueryValueError
from driftguard.investigation import HuntingSection
from driftguard.model import Connector

PATH = "/v1.0/security/runHuntingQuery"
SOURCE = "graph:security/runHuntingQuery"
PERMISSION = "ThreatHunting.Read.All"
QUERY_SECONDS = 210.0
"""One answer may take this long: the service runs a query for up to 200 s (the client's usual
120 s would cut a slow but valid answer); ``--deadline`` still bounds the whole read."""
LICENCE = "Defender for Office 365 Plan 2"
NOT_LICENSED = f"not available (no {LICENCE})"
RETENTION = timedelta(days=30)
T = TypeVar("T")
MAX_ROWS = 100_000  # the service's limit per query: an answer this long may be cut
_NO_TABLE = "failed to resolve table or column expression named 'emailevents'"
_EXPORT_HINT = (
    "export EmailEvents from advanced hunting or Threat Explorer as CSV (Export > CSV); "
    "see the README"
)


class HuntingPoster(Protocol):
    def post(
        self, path: str, body: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]: ...


class NotLicensed(LiveReadError):
    """The tenant has no advanced hunting data for email (no Defender for Office 365 Plan 2)."""


def scope_for(
    live: Sequence[Connector],
    approved: Sequence[Connector],
    accepted_domains: Sequence[str],
    start: datetime,
    end: datetime,
) -> Scope:
    """The live connectors, each judged against its baseline file (matched by Guid, else Name):
    IPs against the approved ``SenderIPAddresses``; P1/P2 and domains when the connector carries
    the organisation's own mail (OnPremises here or in the baseline) or is in no baseline file."""
    by_guid = {c.guid.lower(): c for c in approved if c.guid}
    by_name = {c.name.lower(): c for c in approved}
    ranges: dict[str, tuple[str, ...]] = {}
    judge: dict[str, bool] = {}
    for connector in sorted(live, key=lambda c: c.name.lower()):
        match = (by_guid.get(connector.guid.lower()) if connector.guid else None) or by_name.get(
            connector.name.lower()
        )
        found = match.settings.get("SenderIPAddresses") if match is not None else None
        ranges[connector.name] = tuple(str(r) for r in found) if isinstance(found, tuple) else ()
        kinds = {connector.settings.get("ConnectorType")}
        if match is not None:
            kinds.add(match.settings.get("ConnectorType"))
        judge[connector.name] = match is None or "OnPremises" in kinds
    return Scope(start, end, tuple(accepted_domains), ranges, judge)


# --------------------------------------------------------------------------- the service


def hunt(graph: HuntingPoster, scope: Scope, now: datetime) -> HuntingSection:
    """The section from the service; ``NotLicensed`` when the tenant has no such data. Per
    connector the daily query, and the foreign-senders query when it counted foreign mail."""
    start = window_start(scope.start, now)
    rows = queries = 0
    connectors = []
    for name, ranges in scope.ranges.items():
        query = HuntingQuery(name, start, scope.end, scope.accepted_domains, ranges)
        days: dict[date, DayCounts] = {}
        answer = _answer(graph, query)
        queries += 1
        rows += len(answer)
        for index, row in enumerate(answer):
            connectors_value, day, counts = _checked(day_from_row, row, index, query)
            if routed_through(connectors_value, name):
                days.setdefault(day, DayCounts()).merge(counts)
        pairs: dict[tuple[str, str], int] = {}
        if any(c.foreign for c in days.values()):
            query = dataclasses.replace(query, kind=QueryKind.FOREIGN)
            answer = _answer(graph, query)
            queries += 1
            rows += len(answer)
            for index, row in enumerate(answer):
                connectors_value, pair, messages = _checked(pair_from_row, row, index, query)
                if routed_through(connectors_value, name):
                    pairs[pair] = pairs.get(pair, 0) + messages
        connectors.append(connector_entry(name, days, scope, pairs))
    return HuntingSection(
        source=SOURCE,
        since=start,
        until=scope.end,
        queries=queries,
        rows=rows,
        accepted_domains=scope.accepted_domains,
        connectors=tuple(connectors),
    )


def window_start(start: datetime, now: datetime) -> datetime:
    """``start``, or the first midnight (UTC) the service still holds 30 days of: the same all
    day long, so reports of one day agree."""
    oldest = now - RETENTION
    midnight = oldest.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(start, midnight if midnight == oldest else midnight + timedelta(days=1))


def _answer(graph: HuntingPoster, query: HuntingQuery) -> list[Mapping[str, Any]]:
    """The rows of one query, its answer checked (schema, shape, the row limit)."""
    from driftguard.investigate.graph import GraphAuthError, GraphStatusError
    from driftguard.investigation import moment

    try:
        text = query.text
    except QueryValueError as exc:
        raise LiveReadError(f"hunting: connector {query.connector!r}: {exc}") from None
    body = {"Query": text, "Timespan": f"{moment(query.since)}/{moment(query.until)}"}
    try:
        payload = graph.post(PATH, body, timeout=QUERY_SECONDS)
    except GraphAuthError as exc:
        if _names_licence(exc.detail):
            raise NotLicensed(f"hunting: {exc.detail}") from None
        raise LiveReadError(
            f"hunting: advanced hunting was refused ({exc.status}): {exc.detail}; the app "
            f"needs the Graph application permission {PERMISSION}",
            hint="grant it with admin consent, or leave the source out with --skip hunting",
        ) from None
    except GraphStatusError as exc:
        if (exc.status == 400 and _NO_TABLE in exc.detail.lower()) or _names_licence(exc.detail):
            raise NotLicensed(f"hunting: {exc.detail}") from None
        if exc.status == 429:
            raise ServiceError(
                f"hunting: advanced hunting limit reached ({exc.status}): {exc.detail}",
                hint="advanced hunting allows about 45 queries a minute and a share of CPU per "
                "tenant; retry later, or leave the source out with --skip hunting",
            ) from None
        raise ServiceError(f"hunting: {exc}") from None
    what = f"hunting: the {query.kind.value} answer for connector {query.connector!r}"
    schema = payload.get("schema")
    results = payload.get("results")
    if not isinstance(schema, list) or not isinstance(results, list):
        raise ServiceError(f"{what} has no schema and results lists")
    found: dict[str, str] = {}
    for column in schema:
        if not isinstance(column, Mapping):
            raise ServiceError(f"{what}: a schema entry is not an object")
        found[str(column.get("name"))] = str(column.get("type"))
    for name, types in query.columns:
        if found.get(name) not in types:
            raise ServiceError(f"{what}: column {name} missing or not {types[0]}")
    if len(found) != len(query.columns):
        raise ServiceError(f"{what}: columns other than the query's")
    if len(results) >= MAX_ROWS:
        raise TruncatedReadError(f"{what} holds {len(results)} rows: the service's limit")
    for index, row in enumerate(results):
        if not isinstance(row, Mapping):
            raise ServiceError(f"{what}: row {index} is not an object")
    return results


def _checked(
    read: Callable[[Mapping[str, Any]], T], row: Mapping[str, Any], index: int, query: HuntingQuery
) -> T:
    try:
        return read(row)
    except HuntingRowError as exc:
        raise ServiceError(
            f"hunting: the {query.kind.value} answer for connector {query.connector!r}: "
            f"row {index}: {exc}"
        ) from None


def _names_licence(detail: str) -> bool:
    lowered = detail.lower()
    return ("licen" in lowered and "defender" in lowered) or "plan 2" in lowered


# --------------------------------------------------------------------------- an export


def read_export(path: str | Path, scope: Scope) -> tuple[HuntingSection, Skips]:
    """The section from an EmailEvents CSV export (Explorer or advanced hunting), counted with
    the same rules as the service's query; rows that cannot be read are skipped and named."""
    file = Path(path)
    skips = Skips(str(file))
    found = kind(file, export_hint=_EXPORT_HINT)
    match found:
        case Kind.CSV:
            pass
        case Kind.JSON:
            raise InputError(f"{file}: JSON, not the CSV export of EmailEvents", hint=_EXPORT_HINT)
        case _:
            assert_never(found)
    tally = Tally(scope)
    read = 0
    header: list[str] = []
    for line, names, row in csv_rows(file, skips):
        if not row:
            header = names
            missing = [c for c in EXPORT_COLUMNS if c not in header]
            if missing:
                raise InputError(
                    f"{file}:{line}: not an EmailEvents export: no {', '.join(missing)} column",
                    hint=_EXPORT_HINT,
                )
            continue
        try:
            tally.add(dict(zip(header, row, strict=True)))
        except HuntingRowError as exc:
            skips.add(line, str(exc))
            continue
        read += 1
    require_readable(file, read, skips, what="EmailEvents rows")
    if not tally.rows:
        raise InputError(
            f"{file}: none of its {tally.outside_window} rows falls in the window",
            hint="give --since/--until covering the export, or export the window",
        )
    section = HuntingSection(
        source=f"file:{file.name}",
        since=scope.start,
        until=scope.end,
        queries=0,
        rows=tally.rows,
        accepted_domains=scope.accepted_domains,
        connectors=tuple(
            connector_entry(name, days, scope, tally.pairs[name])
            for name, days in tally.days.items()
        ),
    )
    return section, skips
