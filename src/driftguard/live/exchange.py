"""The Exchange Online admin API client: cmdlets over ``POST .../adminapi/beta/<t>/InvokeCommand``.

It fails closed: a result is returned only when the service answered completely (no warnings, every
page read). Reads are retried on throttling, unavailability, resets and timeouts with capped,
jittered exponential backoff under an overall deadline; writes are retried only when the request
cannot have reached the service (throttled, or never connected): after a timeout or reset the
outcome is unknown, so the caller re-reads instead. Redirects are followed by hand, only to hosts
of the cloud's Exchange domain, and the bearer token goes nowhere else.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from driftguard.errors import AuthError, LiveReadError, ServiceError, TruncatedReadError
from driftguard.live import waits, wire
from driftguard.live.auth import TokenProvider, TokenUnavailable
from driftguard.live.clouds import ResolvedEndpoints
from driftguard.live.http import json_body
from driftguard.live.throttle import AppBudget
from driftguard.live.transport import ResponseTooLarge, ResponseTooSlow, time_limit

log = logging.getLogger(__name__)

ANCHOR_MAILBOX = "APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{tenant}"
READ_VERBS = ("Get-", "Search-", "Test-")
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 1.0  # first backoff, doubled per attempt, jittered
    max_delay: float = 60.0  # cap of one computed backoff
    deadline: float = 900.0  # overall seconds for one cmdlet, all pages and retries included
    connect_timeout: float = 15.0
    read_timeout: float = 300.0
    max_redirects: int = 3
    max_pages: int = 100


@dataclass(frozen=True)
class InvokeResult:
    records: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...] = ()
    digest: str | None = None  # of the answer's bytes, every page (wire.BodyDigest)


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another one."""

    def __init__(
        self,
        cause: str,
        headers: Mapping[str, str] | None = None,
        *,
        error: type[LiveReadError] = ServiceError,
        hint: str | None = None,
        cut: bool = False,
        why: str | None = None,
        throttled: bool = False,
    ) -> None:
        super().__init__(cause)
        self.cause = cause
        self.why = why or cause  # what a wait before the next attempt says it waits for
        self.headers = headers or {}
        self.error = error  # what giving up raises
        self.hint = hint
        self.cut = cut  # the answer was cut off at the deadline
        self.throttled = throttled  # the service asked to slow down (429 or a concurrency limit)


class ExchangeClient:
    """Runs cmdlets for one tenant. Not shared between threads (one client per tenant read)."""

    def __init__(
        self,
        session: requests.Session,
        endpoints: ResolvedEndpoints,
        tenant_id: str,
        tokens: TokenProvider,
        *,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = waits.pause,
        rand: Callable[[], float] = random.random,
        wall: Callable[[], float] = time.time,
        label: str | None = None,
        budget: AppBudget | None = None,
        app: str = "",
    ) -> None:
        self._session = session
        self.endpoints = endpoints
        self.tenant_id = tenant_id
        self._tokens = tokens
        self.policy = policy or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._wall = wall
        self._label = f"tenant {label or tenant_id}"
        self._budget = budget  # throttling shared with the other tenants of the app (throttle.py)
        self._app = app
        self._url = endpoints.invoke_url(tenant_id)
        self._verify: str | bool = endpoints.ca_bundle or True
        self._token: str | None = None
        self._refresh = False

    def __repr__(self) -> str:
        return f"ExchangeClient({self._url})"

    @property
    def url(self) -> str:
        """Where the next call goes (a regional host once the service redirected there)."""
        return self._url

    # ----------------------------------------------------------------- public

    def invoke(
        self, cmdlet: str, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run ``cmdlet``; its records, complete, or an error. Writes' warnings: use ``call``."""
        return list(self.call(cmdlet, parameters).records)

    def call(
        self, cmdlet: str, parameters: Mapping[str, Any] | None = None, *, write: bool | None = None
    ) -> InvokeResult:
        is_write = not cmdlet.startswith(READ_VERBS) if write is None else write
        body = json.dumps(
            {"CmdletInput": {"CmdletName": cmdlet, "Parameters": dict(parameters or {})}}
        ).encode("utf-8")
        deadline = self._clock() + self.policy.deadline
        payload, final_url, raw = self._post(self._url, body, cmdlet, is_write, deadline)
        self._url = final_url
        digest = wire.BodyDigest()
        digest.add(raw)
        records = wire.records_of(payload, cmdlet)
        warnings = wire.warnings_of(payload)
        pages = 1
        link = wire.next_link(payload)
        while link:
            if is_write:
                break  # a write's answer is the changed object; nothing to page
            pages += 1
            if pages > self.policy.max_pages:
                raise TruncatedReadError(
                    f"{cmdlet}: more than {self.policy.max_pages} pages; the result is incomplete"
                )
            payload, raw = self._next_page(link, final_url, body, cmdlet, deadline)
            digest.add(raw)
            records.extend(wire.records_of(payload, cmdlet))
            warnings.extend(wire.warnings_of(payload))
            link = wire.next_link(payload)
        if warnings and not is_write:
            raise TruncatedReadError(
                f"{cmdlet} answered with warnings, so the result may be incomplete: "
                f"{self._safe(warnings[0], 200)}",
                hint="a read with warnings is never treated as complete; retry later",
            )
        log.debug("%s for %s: %d records in %d pages", cmdlet, self._label, len(records), pages)
        return InvokeResult(tuple(records), tuple(warnings), digest.hexdigest())

    # ----------------------------------------------------------------- paging

    def _next_page(
        self, link: str, base: str, body: bytes, cmdlet: str, deadline: float
    ) -> tuple[dict[str, Any], bytes]:
        url = urljoin(base, link)
        target = self._allowed(url)
        if target is None:
            raise TruncatedReadError(
                f"{cmdlet}: the service paged the result to {self._host_of(url)}, outside "
                f"{self.endpoints.exchange_domain}; not followed, so the result is incomplete"
            )
        try:
            payload, _, raw = self._post(target, body, cmdlet, False, deadline)
        except LiveReadError as exc:
            raise TruncatedReadError(
                f"{cmdlet}: the service paged the result (@odata.nextLink) and the next page "
                f"could not be read ({exc.message}); the result is incomplete",
                hint="driftguard asks for everything at once (ResultSize Unlimited) and never "
                "uses a partial read",
            ) from None
        return payload, raw

    # ----------------------------------------------------------------- one request, with retries

    def _post(
        self, url: str, body: bytes, cmdlet: str, is_write: bool, deadline: float
    ) -> tuple[dict[str, Any], str, bytes]:
        """The answer's JSON body, the URL that gave it (after redirects) and its bytes."""
        attempt = 0
        redirects = 0
        refreshed = False
        earlier: _Retry | None = None  # the last failure that was not a cut at the deadline
        while True:
            attempt += 1
            try:
                self._hold(deadline)
                resp = self._send(url, body, cmdlet, is_write, deadline)
                status = resp.status_code
                if status in _REDIRECTS and resp.headers.get("Location"):
                    url = self._redirect(url, resp.headers["Location"], cmdlet)
                    redirects += 1
                    if redirects > self.policy.max_redirects:
                        raise ServiceError(f"{cmdlet}: too many redirects (last to {url})")
                    attempt -= 1
                    continue
                if status == 401 and not refreshed:
                    refreshed = True  # an expired or revoked token: one fresh token, one retry
                    self._token = None
                    self._refresh = True
                    attempt -= 1
                    continue
                if 200 <= status < 300:
                    return self._parsed(resp, cmdlet, is_write), url, resp.content
                raise self._failure(resp, cmdlet, is_write)
            except _Retry as retry:
                delay = self._delay(retry.headers, attempt)
                if retry.throttled and self._budget is not None:
                    self._budget.throttled(self._app, self.tenant_id, delay)
                remaining = deadline - self._clock()
                if attempt >= self.policy.max_attempts or delay > remaining:
                    why = f"gave up after {attempt} attempt{'s' if attempt > 1 else ''}" + (
                        "" if attempt >= self.policy.max_attempts else ", deadline reached"
                    )
                    # A retry cut short by the deadline says less than the failure before it.
                    shown = earlier if retry.cut and earlier is not None else retry
                    raise shown.error(
                        f"{cmdlet}: {self._safe(shown.cause, 300)} ({why})",
                        hint=shown.hint
                        or "the service is throttling or unavailable; try again later or "
                        "lower --concurrency",
                    ) from None
                if not retry.cut:
                    earlier = retry
                log.info(
                    "%s for %s: attempt %d failed: %s",
                    cmdlet,
                    self._label,
                    attempt,
                    self._safe(retry.cause, 200),
                )
                waits.announce(
                    delay,
                    self._label,
                    self._safe(retry.why, 120),
                    attempt,
                    self.policy.max_attempts - 1,
                )
                self._sleep(delay)

    def _hold(self, deadline: float) -> None:
        """Wait while the app is held for throttling elsewhere (throttle.py), within the
        deadline: what is left of it after the hold is this request's."""
        if self._budget is None:
            return
        seconds = min(self._budget.hold(self._app), deadline - self._clock())
        if seconds <= 0:
            return
        if seconds >= waits.ANNOUNCE_FROM:
            waits.progress_log.info(
                "waiting %.0f s for %s: the service is throttling its app on other tenants",
                seconds,
                self._label,
            )
        self._sleep(seconds)

    def _send(
        self, url: str, body: bytes, cmdlet: str, is_write: bool, deadline: float
    ) -> requests.Response:
        # Sign-in and the request itself, body included, end by the cmdlet's deadline.
        waits.check()
        with time_limit(deadline - self._clock()):
            resp = self._send_within(url, body, cmdlet, is_write)
        # A transport that does not watch the clock (or an answer that came in the watchdog's
        # grace) may finish late: an answer after the deadline is not used.
        if self._clock() > deadline and not is_write:
            raise _Retry(f"the answer came after the {self.policy.deadline:g} s deadline", cut=True)
        return resp

    def _send_within(self, url: str, body: bytes, cmdlet: str, is_write: bool) -> requests.Response:
        try:
            if self._token is None:
                self._token = self._tokens.token(force_refresh=self._refresh)
                self._refresh = False
        except TokenUnavailable as exc:
            raise _Retry(exc.message, error=AuthError, hint=exc.hint) from None
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-AnchorMailbox": ANCHOR_MAILBOX.format(tenant=self.tenant_id),
            "client-request-id": str(uuid.uuid4()),
        }
        try:
            resp = self._session.post(
                url,
                data=body,
                headers=headers,
                timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                verify=self._verify,
                allow_redirects=False,
            )
            _ = resp.content  # read the whole body here, where resets and timeouts are caught
        except requests.RequestException as exc:
            raise self._transport(exc, url, cmdlet, is_write) from None
        return resp

    def _transport(
        self, exc: requests.RequestException, url: str, cmdlet: str, is_write: bool
    ) -> Exception:
        host = self._host_of(url)
        kind = wire.transport_kind(exc)
        cause = f"{kind} talking to {host}"
        if isinstance(exc, requests.exceptions.SSLError):
            return ServiceError(
                f"TLS verification failed for {host}",
                hint="check the endpoints.ca_bundle setting or the proxy's certificate",
            )
        if is_write and not wire.never_sent(exc):
            return ServiceError(
                f"{cause}: the change may or may not have been applied",
                hint="re-read the connector before trying again (apply verifies by re-reading)",
            )
        if isinstance(exc, ResponseTooLarge):
            return ServiceError(
                f"{cmdlet}: {cause}: not read",
                hint="driftguard never reads an answer past its size limit; a legitimate "
                "answer this large means too many records for one read",
            )
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return ServiceError(f"invalid admin API address {host}")
        return _Retry(cause, cut=isinstance(exc, ResponseTooSlow))

    # ----------------------------------------------------------------- responses

    def _parsed(self, resp: requests.Response, cmdlet: str, is_write: bool) -> dict[str, Any]:
        if is_write and resp.status_code == 204:
            return {"value": []}  # a change with nothing to return
        try:
            payload = json_body(resp.content)
        except ValueError:
            cause = f"HTTP {resp.status_code} with a body that is not valid JSON (truncated?)"
            if is_write:
                raise ServiceError(
                    f"{cmdlet}: {cause}; the change may or may not have been applied",
                    hint="re-read the connector to see the outcome",
                ) from None
            raise _Retry(cause) from None
        return wire.checked_payload(payload, cmdlet, redact=self._redact)

    def _failure(self, resp: requests.Response, cmdlet: str, is_write: bool) -> Exception:
        status = resp.status_code
        detail = wire.error_detail(
            resp.content, resp.headers.get("Content-Type", ""), redact=self._redact
        )
        text = self._safe(detail.text, 300)
        cause = f"HTTP {status}" + (f": {text}" if text else "")
        throttled = status == 429 or wire.is_concurrency_limit(detail.text)
        if throttled:
            return _Retry(cause, resp.headers, why=f"throttled (HTTP {status})", throttled=True)
        if not is_write and (status in {502, 503, 504} or (status == 500 and not detail.is_json)):
            return _Retry(cause, resp.headers, why=f"unavailable (HTTP {status})")
        if status == 401:
            return AuthError(
                f"{cmdlet}: the admin API refused the token ({cause})",
                hint="the app needs the application permission Exchange.ManageAsApp on 'Office 365 "
                "Exchange Online' with admin consent",
            )
        if status == 403:
            return ServiceError(
                f"{cmdlet}: access denied ({cause})",
                hint="assign the app an Exchange role: Global Reader or View-Only Organization "
                "Management to read, Exchange Administrator to change connectors",
            )
        if is_write and status in {502, 503, 504}:
            return ServiceError(
                f"{cmdlet}: {cause}; the change may or may not have been applied",
                hint="re-read the connector to see the outcome",
            )
        return ServiceError(f"{cmdlet} failed: {cause}")

    # ----------------------------------------------------------------- redirects and hosts

    def _redirect(self, current: str, location: str, cmdlet: str) -> str:
        target = urljoin(current, location)
        allowed = self._allowed(target)
        if allowed is None:
            raise ServiceError(
                f"{cmdlet}: the admin API redirected to {self._host_of(target)}, outside "
                f"{self.endpoints.exchange_domain}; not followed (the token is only sent to "
                "Exchange hosts)",
                hint="if this host is legitimate, set endpoints.exchange_domain in tenant.yaml",
            )
        return allowed

    def _allowed(self, url: str) -> str | None:
        """``url`` rewritten for use (port 446 -> 443) when it is https within the domain."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "https" or not parts.hostname:
            return None
        if not self.endpoints.is_exchange_host(parts.hostname):
            return None
        if parts.username or parts.password:
            return None
        try:
            port = parts.port
        except ValueError:
            return None
        netloc = parts.hostname if port in (None, 443, 446) else f"{parts.hostname}:{port}"
        return urlunsplit(("https", netloc, parts.path, parts.query, ""))

    @staticmethod
    def _host_of(url: str) -> str:
        try:
            parts = urlsplit(url)
            host = parts.hostname or "?"
            return f"{host}:{parts.port}" if parts.port else host
        except ValueError:
            return "?"

    # ----------------------------------------------------------------- helpers

    def _delay(self, headers: Mapping[str, str], attempt: int) -> float:
        backoff = min(self.policy.max_delay, self.policy.base_delay * 2.0 ** (attempt - 1))
        jittered = backoff * (0.5 + 0.5 * self._rand())
        server = wire.server_delay(headers, self._wall())
        if server is None:
            return jittered
        return server + self._rand() * min(1.0, self.policy.base_delay)

    def _redact(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "***")
        return self._tokens.redact(text)

    def _safe(self, text: str, limit: int) -> str:
        return wire.short(self._redact(text), limit)
