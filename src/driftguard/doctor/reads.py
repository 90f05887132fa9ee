"""One small read from every source a nightly run uses, each through the investigation's or the
live reader's own function, each turned into a Check and the rows it returned."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from driftguard.doctor.model import Check, fail, ok, skipped, warn
from driftguard.errors import DriftguardError

if TYPE_CHECKING:
    import requests

    from driftguard.live.clouds import ResolvedEndpoints
    from driftguard.live.exchange import ExchangeClient
    from driftguard.model import TenantConfig

CONNECTORS = "read: connectors"
ALERTS_PATH = "/v1.0/security/alerts_v2"
ALERTS_HINT = (
    "grant the read app the Microsoft Graph application permission SecurityAlert.Read.All with "
    "admin consent, or leave alerts out of investigations with --skip alerts"
)
AUDIT_HINT = "the app needs the View-Only Audit Logs (or Audit Logs) Exchange role"
SAMPLE_HINT = "save a sample with --save-sample and attach it to a driftguard bug report"

Rows = tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Read:
    check: Check
    rows: Rows = ()


def failed(name: str, exc: DriftguardError, hint: str | None = None) -> Check:
    return fail(name, exc.message, hint or exc.hint or "")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def connectors(client: ExchangeClient) -> Read:
    from driftguard.live.service import READ_CMDLET, READ_PARAMETERS

    name = CONNECTORS
    try:
        rows = tuple(client.invoke(READ_CMDLET, READ_PARAMETERS))
    except DriftguardError as exc:
        return Read(failed(name, exc))
    return Read(ok(name, f"{READ_CMDLET}: {plural(len(rows), 'connector')}"), rows)


def blocked(client: ExchangeClient) -> Read:
    from driftguard.investigate.blocked import get_blocked

    name = "read: blocked connectors"
    try:
        found = get_blocked(client)
    except DriftguardError as exc:
        return Read(failed(name, exc))
    return Read(
        ok(name, f"Get-BlockedConnector: {len(found)} blocked"), tuple(b.raw for b in found)
    )


def audit(client: ExchangeClient, config: TenantConfig, now: datetime, span: timedelta) -> Read:
    from driftguard.investigate.auditlog import (
        AuditRecordError,
        AuditWindow,
        event_from_row,
        unified_audit_rows,
    )

    name = "read: audit log"
    if config.cloud == "china":
        return Read(skipped(name, "Search-UnifiedAuditLog returns nothing in the China cloud"))
    rows: list[Mapping[str, Any]] = []
    operations: set[str] = set()
    try:
        for row in unified_audit_rows(client, AuditWindow(now - span, now)):
            operations.add(event_from_row(row).operation)  # the investigation's own parser
            rows.append(row)
    except AuditRecordError as exc:
        return Read(fail(name, f"audit record {len(rows) + 1} cannot be read: {exc}", SAMPLE_HINT))
    except DriftguardError as exc:
        return Read(failed(name, exc, None if exc.hint else AUDIT_HINT))
    kinds = f" ({', '.join(sorted(operations))})" if operations else ""
    hours = span / timedelta(hours=1)
    detail = f"{plural(len(rows), 'connector event')}{kinds} in the last {hours:g} h"
    return Read(ok(name, f"Search-UnifiedAuditLog: {detail}"), tuple(rows))


def message_trace(client: ExchangeClient, now: datetime, span: timedelta, limit: int) -> Read:
    from driftguard.investigate.messagetrace import TraceRowError, received_at, trace_rows

    name = "read: message trace"
    try:
        rows = tuple(itertools.islice(trace_rows(client, now - span, now, page_size=limit), limit))
    except DriftguardError as exc:
        return Read(failed(name, exc))
    latest: datetime | None = None
    for number, row in enumerate(rows, start=1):
        try:
            received = received_at(row.get("Received"))
        except TraceRowError as exc:
            return Read(
                fail(name, f"message trace row {number} cannot be read: {exc}", SAMPLE_HINT)
            )
        latest = received if latest is None else max(latest, received)
    newest = f", newest {latest:%Y-%m-%d %H:%M} UTC" if latest else ""
    detail = f"{plural(len(rows), 'row')} (first page of at most {limit}){newest}"
    return Read(ok(name, f"Get-MessageTraceV2: {detail}"), rows)


def alerts(config: TenantConfig, endpoints: ResolvedEndpoints, session: requests.Session) -> Read:
    from driftguard.investigate.alerts import SERVICE_SOURCE
    from driftguard.investigate.graph import graph_client

    name = "read: alerts"
    if endpoints.cloud == "china":
        return Read(skipped(name, "Graph alerts are not read in the China cloud"))
    params = {"$top": "1", "$filter": f"serviceSource eq '{SERVICE_SOURCE}'"}
    try:
        payload = graph_client(config, endpoints, session).get(ALERTS_PATH, params)
    except DriftguardError as exc:
        return Read(failed(name, exc, ALERTS_HINT))
    value = payload.get("value")
    if not isinstance(value, list):
        return Read(fail(name, "Graph alerts_v2 answered without a value list", ALERTS_HINT))
    rows = tuple(v for v in value[:1] if isinstance(v, dict))
    return Read(ok(name, f"Graph alerts_v2 ($top=1): {plural(len(value), 'alert')}"), rows)


# Graph application permissions per evidence source: (source, permission, licence or "").
GRAPH_READ_PERMISSIONS: tuple[tuple[str, str, str], ...] = (
    ("alerts", "SecurityAlert.Read.All", ""),
    ("hunting", "ThreatHunting.Read.All", "Defender for Office 365 Plan 2"),
    ("accounts: users", "User.Read.All", ""),
    ("accounts: sign-ins and security info", "AuditLog.Read.All", "Entra ID P1"),
    ("accounts: risky users", "IdentityRiskyUser.Read.All", "Entra ID P2"),
    ("accounts: role assignments", "RoleManagement.Read.Directory", ""),
)
GRAPH_WRITE_PERMISSIONS: tuple[tuple[str, str, str], ...] = (
    ("revoke sign-in sessions", "User.RevokeSessions.All", ""),
    ("block sign-in (--block-sign-in)", "User.EnableDisableAccount.All", ""),
)


def graph_permissions(
    config: TenantConfig,
    endpoints: ResolvedEndpoints,
    session: requests.Session,
    *,
    purpose: Literal["read", "graph_write"] = "read",
) -> Check:
    """Which Graph evidence sources (or containment actions) the app's token allows: the
    ``roles`` claim of a Graph token against each source's application permission. A missing
    read permission is a warning (``investigate`` fails that source; ``--skip`` leaves it out);
    a Graph write app without the revocation permission fails."""
    from driftguard.doctor.claims import ClaimsError, claims_of
    from driftguard.investigate.graph import graph_client

    write = purpose == "graph_write"
    name = "Graph write app" if write else "read: Graph permissions"
    if endpoints.cloud == "china":
        return skipped(name, "Graph evidence is not read in the China cloud")
    try:
        token = graph_client(config, endpoints, session, purpose=purpose).access_token()
        roles = set(claims_of(token).roles)
    except DriftguardError as exc:
        return failed(name, exc)
    except ClaimsError as exc:
        return fail(name, str(exc))
    wanted = GRAPH_WRITE_PERMISSIONS if write else GRAPH_READ_PERMISSIONS
    missing = [(source, perm, licence) for source, perm, licence in wanted if perm not in roles]
    if not missing:
        return ok(name, "granted: " + ", ".join(perm for _s, perm, _licence in wanted))
    shown = "; ".join(
        f"{source} needs {perm}" + (f" (and {licence})" if licence else "")
        for source, perm, licence in missing
    )
    if write:
        hint = "grant the Graph write app these application permissions with admin consent"
        fatal = any(perm == GRAPH_WRITE_PERMISSIONS[0][1] for _s, perm, _licence in missing)
        return (fail if fatal else warn)(name, f"missing: {shown}", hint)
    hint = (
        "grant the read app these Graph application permissions with admin consent, or leave "
        "the sources out of investigations with --skip"
    )
    return warn(name, f"missing: {shown}", hint)
