"""Running the checks for one tenant through the clients a nightly run uses.

The Exchange client comes from ``ExchangeSource.client`` (the same session, token provider,
retries and redirect rules as ``diff``); the reads are the investigation's own functions with
small windows (reads.py); a hook on the session notes each answer's envelope (observe.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from driftguard.doctor import reads
from driftguard.doctor.claims import ClaimsError, TokenClaims, claim_checks, claims_of, role_check
from driftguard.doctor.model import Check, Status, TenantDoctor, Wire, fail, ok, skipped, warn
from driftguard.doctor.observe import WireObserver
from driftguard.doctor.shapes import shape_checks
from driftguard.errors import DriftguardError
from driftguard.model import TenantConfig

if TYPE_CHECKING:
    import requests

    from driftguard.live.auth import DeviceCodePrompt, MsalTokenProvider
    from driftguard.live.clouds import ResolvedEndpoints
    from driftguard.live.exchange import ExchangeClient, RetryPolicy

SessionFactory = Callable[["ResolvedEndpoints"], "requests.Session"]
Purpose = Literal["read", "write"]


@dataclass(frozen=True)
class Options:
    now: datetime
    policy: RetryPolicy | None = None
    audit_window: timedelta = timedelta(hours=1)
    trace_window: timedelta = timedelta(hours=1)
    trace_rows: int = 10
    device_code_prompt: DeviceCodePrompt | None = None
    graph_host: str | None = None  # the demo serves Graph on its own host


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
        endpoints = replace(endpoints, graph_host=options.graph_host)
    run = _Run(config, endpoints, sessions, options)
    checks = [_endpoints_check(endpoints), *run.read_side(), *run.write_side()]
    return TenantDoctor(config.name, config.tenant_id, tuple(checks), run.wire)


def _endpoints_check(endpoints: ResolvedEndpoints) -> Check:
    return ok(
        "endpoints",
        f"cloud {endpoints.cloud}: sign-in {endpoints.authority_host}, admin API "
        f"{endpoints.exchange_host} (token for {endpoints.exchange_resource}), Graph "
        f"{endpoints.graph_host}",
    )


@dataclass(frozen=True)
class _SignedIn:
    client: ExchangeClient | None  # None when there is no token
    checks: tuple[Check, ...]
    claims: TokenClaims | None = None


class _Run:
    """One tenant's checks; keeps what the reads returned until the result is built."""

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
        self.observer = WireObserver()
        self.providers: dict[str, MsalTokenProvider] = {}
        self.session: requests.Session | None = None
        self._sessions = sessions
        self.wire = Wire()

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
    def _client(self, purpose: Purpose) -> Iterator[ExchangeClient]:
        from driftguard.live.service import ExchangeSource

        source = ExchangeSource(
            policy=self.options.policy, session_factory=self._observed, tokens=self._tokens
        )
        with source.client(self.config, purpose=purpose) as client:
            yield client

    def _signed_in(self, stack: contextlib.ExitStack, purpose: Purpose) -> _SignedIn:
        """The client with a token, and the credential, token and claims checks."""
        app = f"{purpose} app"
        try:
            client = stack.enter_context(self._client(purpose))
        except DriftguardError as exc:
            return _SignedIn(None, (reads.failed(f"{app} credential", exc),))
        provider = self.providers[purpose]
        checks = [ok(f"{app} credential", provider.credential.label)]
        try:
            token = provider.token()
        except DriftguardError as exc:
            return _SignedIn(None, (*checks, reads.failed(f"{app} sign-in", exc)))
        checks.append(ok(f"{app} sign-in", f"token for {self.endpoints.exchange_scope}"))
        try:
            claims = claims_of(token)
        except ClaimsError as exc:
            return _SignedIn(client, (*checks, warn(f"{app} token", str(exc))))
        checks += claim_checks(
            claims,
            purpose=purpose,
            resource=self.endpoints.exchange_resource,
            tenant_id=self.config.tenant_id,
        )
        return _SignedIn(client, tuple(checks), claims)

    # ----------------------------------------------------------------- the read app

    def read_side(self) -> list[Check]:
        options = self.options
        with contextlib.ExitStack() as stack:
            signed = self._signed_in(stack, "read")
            client = signed.client
            if client is None:
                return list(signed.checks)
            got = [
                reads.connectors(client),
                reads.blocked(client),
                reads.audit(client, self.config, options.now, options.audit_window),
                reads.message_trace(client, options.now, options.trace_window, options.trace_rows),
            ]
            graph: list[Check] = []
            if self.session is not None:
                got.append(reads.alerts(self.config, self.endpoints, self.session))
                graph.append(reads.graph_permissions(self.config, self.endpoints, self.session))
        self.wire = Wire(*(r.rows for r in got))
        seen = self.observer.seen()
        checks = list(signed.checks)
        if signed.claims is not None and 403 in seen.statuses:
            checks = [
                role_check(signed.claims, "read", refused=True) if c.name == "read app role" else c
                for c in checks
            ]
        records = got[0].rows if got[0].check.status is Status.OK else None
        return [*checks, *(r.check for r in got), *graph, *shape_checks(records, seen)]

    # ----------------------------------------------------------------- the write app

    def write_side(self) -> list[Check]:
        from collections.abc import Mapping

        if not isinstance((self.config.auth or {}).get("write"), Mapping):
            return [
                skipped(
                    "write app", "no auth.write in tenant.yaml: apply signs in as the read app"
                ),
                *self.graph_write_side(),
            ]
        with contextlib.ExitStack() as stack:
            signed = self._signed_in(stack, "write")
            if signed.client is None:
                return list(signed.checks)
            read = reads.connectors(signed.client)
        check = replace(read.check, name="write app: admin API")
        return [*signed.checks, check, *self.graph_write_side()]

    def graph_write_side(self) -> list[Check]:
        """The separate Graph write app of containment (``auth.graph_write``), when configured."""
        from driftguard.live.credentials import has_graph_write

        if not has_graph_write(self.config) or self.session is None:
            return []
        return [
            reads.graph_permissions(
                self.config, self.endpoints, self.session, purpose="graph_write"
            )
        ]
