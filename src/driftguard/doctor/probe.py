"""Running the checks for one tenant through the clients a nightly run uses.

The Exchange client comes from ``ExchangeSource.client`` (the same session, token provider,
retries and redirect rules as ``diff``), the evidence reads are the investigation's own functions
with small windows, alerts go through the investigation's Graph client. A response hook on the
session notes what the admin API's answers looked like (paging, warnings, redirects, statuses)
without a second client.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit

from driftguard.doctor.claims import ClaimsError, claim_checks, claims_of
from driftguard.doctor.model import Check, Status, TenantDoctor, Wire, fail, ok, skipped, warn
from driftguard.doctor.shapes import Seen, shape_checks
from driftguard.errors import DriftguardError
from driftguard.model import TenantConfig

if TYPE_CHECKING:
    import requests

    from driftguard.investigate.graph import GraphClient
    from driftguard.live.auth import DeviceCodePrompt, MsalTokenProvider
    from driftguard.live.clouds import ResolvedEndpoints
    from driftguard.live.exchange import ExchangeClient, RetryPolicy

SessionFactory = Callable[["ResolvedEndpoints"], "requests.Session"]
MAX_OBSERVED_BODY = 32 * 1024 * 1024  # bytes of one answer parsed again for its envelope
ALERTS_PATH = "/v1.0/security/alerts_v2"
ALERTS_HINT = (
    "grant the read app the Microsoft Graph application permission SecurityAlert.Read.All with "
    "admin consent, or leave alerts out of investigations with --skip alerts"
)


@dataclass(frozen=True)
class Options:
    now: datetime
    policy: RetryPolicy | None = None
    audit_window: timedelta = timedelta(hours=1)
    trace_window: timedelta = timedelta(hours=1)
    trace_rows: int = 10
    device_code_prompt: DeviceCodePrompt | None = None
    graph_host: str | None = None  # the demo serves Graph on its own host


@dataclass
class _Observer:
    """Notes each admin API answer's envelope; called by requests for every response."""

    answers: int = 0
    next_links: int = 0
    warnings: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        url = response.url or ""
        if not urlsplit(url).path.endswith("/InvokeCommand"):
            return
        with self.lock:
            self.answers += 1
            self.statuses.append(response.status_code)
            location = response.headers.get("Location")
            if 300 <= response.status_code < 400 and location:
                self.redirects.append(urlsplit(urljoin(url, location)).netloc or "?")
                return
            if not 200 <= response.status_code < 300 or len(response.content) > MAX_OBSERVED_BODY:
                return
            try:
                payload = json.loads(response.content)
            except ValueError:
                return
            if not isinstance(payload, dict):
                return
            if payload.get("@odata.nextLink"):
                self.next_links += 1
            found = payload.get("@adminapi.warnings")
            if isinstance(found, list):
                self.warnings.extend(str(w)[:300] for w in found[:10])

    def seen(self) -> Seen:
        with self.lock:
            return Seen(
                answers=self.answers,
                next_links=self.next_links,
                warnings=tuple(self.warnings),
                redirects=tuple(self.redirects),
            )


def examine(config: TenantConfig, sessions: SessionFactory, options: Options) -> TenantDoctor:
    """Every check of ``config``'s tenant; never raises for a check that failed."""
    from driftguard.errors import InputError
    from driftguard.live import clouds

    try:
        endpoints = clouds.resolve(config)
    except InputError as exc:
        return TenantDoctor(
            config.name, config.tenant_id, (fail("endpoints", exc.message, exc.hint or ""),)
        )
    if options.graph_host:
        endpoints = _with_graph(endpoints, options.graph_host)
    run = _Run(config, endpoints, sessions, options)
    checks = [_endpoints_check(endpoints), *run.read_side(), *run.write_side()]
    return TenantDoctor(config.name, config.tenant_id, tuple(checks), run.wire())


def _with_graph(endpoints: ResolvedEndpoints, host: str) -> ResolvedEndpoints:
    from dataclasses import replace

    return replace(endpoints, graph_host=host)


def _endpoints_check(endpoints: ResolvedEndpoints) -> Check:
    return ok(
        "endpoints",
        f"cloud {endpoints.cloud}: sign-in {endpoints.authority_host}, admin API "
        f"{endpoints.exchange_host} (token for {endpoints.exchange_resource}), Graph "
        f"{endpoints.graph_host}",
    )


def _failed(name: str, exc: DriftguardError, hint: str | None = None) -> Check:
    return fail(name, exc.message, hint or exc.hint or "")


class _Run:
    """One tenant's checks; holds what the reads returned until the result is built."""

    def __init__(
        self,
        config: TenantConfig,
        endpoints: ResolvedEndpoints,
        sessions: SessionFactory,
        options: Options,
    ) -> None:
        self.config = config
        self.endpoints = endpoints
        self.options = options
        self.observer = _Observer()
        self.providers: dict[str, MsalTokenProvider] = {}
        self.session: requests.Session | None = None
        self._sessions = sessions
        self.connectors: tuple[Mapping[str, Any], ...] = ()
        self.blocked: tuple[Mapping[str, Any], ...] = ()
        self.audit: tuple[Mapping[str, Any], ...] = ()
        self.trace: tuple[Mapping[str, Any], ...] = ()
        self.alerts: tuple[Mapping[str, Any], ...] = ()

    def wire(self) -> Wire:
        return Wire(self.connectors, self.blocked, self.audit, self.trace, self.alerts)

    # ----------------------------------------------------------------- the client, as diff's

    def _observed(self, endpoints: ResolvedEndpoints) -> requests.Session:
        session = self._sessions(endpoints)
        hooks = session.hooks["response"]
        if self.observer not in hooks:  # the demo hands out one session for every client
            hooks.append(self.observer)
        self.session = session
        return session

    def _tokens(
        self,
        tenant: TenantConfig,
        endpoints: ResolvedEndpoints,
        session: requests.Session,
        purpose: str,
    ) -> MsalTokenProvider:
        from driftguard.live.auth import token_provider

        provider = token_provider(
            tenant,
            endpoints,
            session,
            purpose="write" if purpose == "write" else "read",
            device_code_prompt=self.options.device_code_prompt,
        )
        self.providers[purpose] = provider
        return provider

    @contextlib.contextmanager
    def _client(self, purpose: Literal["read", "write"]) -> Iterator[ExchangeClient]:
        from driftguard.live.service import ExchangeSource

        source = ExchangeSource(
            policy=self.options.policy, session_factory=self._observed, tokens=self._tokens
        )
        with source.client(self.config, purpose=purpose) as client:
            yield client

    def _signed_in(
        self, stack: contextlib.ExitStack, purpose: Literal["read", "write"]
    ) -> tuple[ExchangeClient | None, list[Check]]:
        """The client with a token, and the credential, token and claims checks."""
        app = f"{purpose} app"
        try:
            client = stack.enter_context(self._client(purpose))
        except DriftguardError as exc:
            return None, [_failed(f"{app} credential", exc)]
        provider = self.providers[purpose]
        checks = [ok(f"{app} credential", provider.credential.label)]
        try:
            token = provider.token()
        except DriftguardError as exc:
            return None, [*checks, _failed(f"{app} sign-in", exc)]
        checks.append(ok(f"{app} sign-in", f"token for {self.endpoints.exchange_scope}"))
        try:
            claims = claims_of(token)
        except ClaimsError as exc:
            return client, [*checks, warn(f"{app} token", str(exc))]
        checks += claim_checks(
            claims,
            purpose=purpose,
            resource=self.endpoints.exchange_resource,
            tenant_id=self.config.tenant_id,
        )
        return client, checks

    # ----------------------------------------------------------------- the read app

    def read_side(self) -> list[Check]:
        with contextlib.ExitStack() as stack:
            client, checks = self._signed_in(stack, "read")
            if client is None:
                return checks
            reads = [
                self._connectors(client),
                self._blocked(client),
                self._audit(client),
                self._trace(client),
                self._alerts(),
            ]
        seen = self.observer.seen()
        if 403 in self.observer.statuses:
            checks = [_refused(c) for c in checks]
        records = self.connectors if reads[0].status is Status.OK else None
        return [*checks, *reads, *shape_checks(records, seen)]

    def _connectors(self, client: ExchangeClient) -> Check:
        from driftguard.live.service import READ_CMDLET, READ_PARAMETERS

        try:
            self.connectors = tuple(client.invoke(READ_CMDLET, READ_PARAMETERS))
        except DriftguardError as exc:
            return _failed("read: connectors", exc)
        count = len(self.connectors)
        return ok("read: connectors", f"{READ_CMDLET}: {count} connector{_s(count)}")

    def _blocked(self, client: ExchangeClient) -> Check:
        from driftguard.investigate.blocked import get_blocked

        try:
            found = get_blocked(client)
        except DriftguardError as exc:
            return _failed("read: blocked connectors", exc)
        self.blocked = tuple(b.raw for b in found)
        return ok("read: blocked connectors", f"Get-BlockedConnector: {len(found)} blocked")

    def _audit(self, client: ExchangeClient) -> Check:
        from driftguard.investigate.auditlog import (
            AuditRecordError,
            AuditWindow,
            event_from_row,
            unified_audit_rows,
        )

        name = "read: audit log"
        if self.config.cloud == "china":
            return skipped(name, "Search-UnifiedAuditLog returns nothing in the China cloud")
        now = self.options.now
        window = AuditWindow(now - self.options.audit_window, now)
        rows: list[Mapping[str, Any]] = []
        operations: set[str] = set()
        try:
            for row in unified_audit_rows(client, window):
                operations.add(event_from_row(row).operation)  # the investigation's parser
                rows.append(row)
        except AuditRecordError as exc:
            return fail(
                name,
                f"audit record {len(rows) + 1} cannot be read: {exc}",
                "save a sample with --save-sample and attach it to a driftguard bug report",
            )
        except DriftguardError as exc:
            return _failed(
                name,
                exc,
                None
                if exc.hint
                else "the app needs the View-Only Audit Logs (or Audit Logs) Exchange role",
            )
        self.audit = tuple(rows)
        hours = self.options.audit_window / timedelta(hours=1)
        kinds = f" ({', '.join(sorted(operations))})" if operations else ""
        return ok(
            name,
            f"Search-UnifiedAuditLog: {len(rows)} connector event{_s(len(rows))}{kinds} in the "
            f"last {hours:g} h",
        )

    def _trace(self, client: ExchangeClient) -> Check:
        from driftguard.investigate.messagetrace import TraceRowError, received_at, trace_rows

        name = "read: message trace"
        now = self.options.now
        limit = self.options.trace_rows
        try:
            rows = list(
                itertools.islice(
                    trace_rows(client, now - self.options.trace_window, now, page_size=limit),
                    limit,
                )
            )
        except DriftguardError as exc:
            return _failed(name, exc)
        latest: datetime | None = None
        for number, row in enumerate(rows, start=1):
            try:
                received = received_at(row.get("Received"))
            except TraceRowError as exc:
                return fail(
                    name,
                    f"message trace row {number} cannot be read: {exc}",
                    "save a sample with --save-sample and attach it to a driftguard bug report",
                )
            latest = received if latest is None else max(latest, received)
        self.trace = tuple(rows)
        newest = f", newest {latest:%Y-%m-%d %H:%M} UTC" if latest else ""
        return ok(
            name,
            f"Get-MessageTraceV2: {len(rows)} row{_s(len(rows))} (first page of at most "
            f"{limit}){newest}",
        )

    def _alerts(self) -> Check:
        from driftguard.investigate.alerts import SERVICE_SOURCE
        from driftguard.investigate.graph import graph_client

        name = "read: alerts"
        if self.endpoints.cloud == "china" or self.session is None:
            return skipped(name, "Graph alerts are not read in the China cloud")
        graph: GraphClient = graph_client(self.config, self.endpoints, self.session)
        params = {"$top": "1", "$filter": f"serviceSource eq '{SERVICE_SOURCE}'"}
        try:
            payload = graph.get(ALERTS_PATH, params)
        except DriftguardError as exc:
            return _failed(name, exc, ALERTS_HINT)
        value = payload.get("value")
        if not isinstance(value, list):
            return fail(name, "Graph alerts_v2 answered without a value list", ALERTS_HINT)
        self.alerts = tuple(v for v in value[:1] if isinstance(v, dict))
        return ok(name, f"Graph alerts_v2 ($top=1): {len(value)} alert{_s(len(value))}")

    # ----------------------------------------------------------------- the write app

    def write_side(self) -> list[Check]:
        auth = self.config.auth or {}
        if not isinstance(auth.get("write"), Mapping):
            return [
                skipped("write app", "no auth.write in tenant.yaml: apply signs in as the read app")
            ]
        with contextlib.ExitStack() as stack:
            client, checks = self._signed_in(stack, "write")
            if client is None:
                return checks
            from driftguard.live.service import READ_CMDLET, READ_PARAMETERS

            try:
                count = len(client.invoke(READ_CMDLET, READ_PARAMETERS))
            except DriftguardError as exc:
                return [*checks, _failed("write app: admin API", exc)]
        return [*checks, ok("write app: admin API", f"{READ_CMDLET}: {count} connector{_s(count)}")]


def _refused(check: Check) -> Check:
    """The read app's missing role, once the admin API has answered 403: a failure."""
    if check.name == "read app role" and check.status is Status.WARN:
        return fail(
            check.name, check.detail.split(";")[0] + "; the admin API answered 403", check.hint
        )
    return check


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def utc_now() -> datetime:
    return datetime.now(UTC)
