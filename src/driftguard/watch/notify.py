"""Where watch notifications go: one small interface, one class per target.

- ``log``: a line on stderr (the service's journal);
- ``command:PROGRAM ARGS``: runs PROGRAM with the notification JSON on stdin and its key in
  ``DRIFTGUARD_NOTIFICATION_KEY``; exit 0 means accepted;
- ``webhook:https://...``: POSTs the JSON with an ``Idempotency-Key`` header; 2xx means accepted;
- ``apprise:URL``: any Apprise URL (Teams, Slack, e-mail...), through the same sender as
  ``diff --notify`` (driftguard.notify): the summary line, escaped by Apprise for the target.

A target that does not accept a notification raises NotifyError; the outbox keeps it and the
next sweep (or the next start) sends it again. The key lets a receiver drop the one duplicate a
crash between "accepted" and "marked sent" can cause.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from driftguard.errors import InputError
from driftguard.notify import NotifyError

# driftguard's own credentials: a notification program has no use for them.
WITHHELD_ENV = frozenset(
    {
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PASSWORD",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "DRIFTGUARD_CLIENT_SECRET",
    }
)
COMMAND_TIMEOUT = 60.0
WEBHOOK_TIMEOUT = 30.0
_ERROR_CHARS = 300


@dataclass(frozen=True)
class Notification:
    key: str  # idempotency key: the same change of verdict always has the same key
    tenant: str
    summary: str  # one line for people
    payload: str  # the JSON document for programs


class Notifier(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, notification: Notification) -> None:
        """Deliver or raise NotifyError."""


@dataclass(frozen=True)
class LogNotifier:
    write: Callable[[str], None]
    name: str = "log"

    def send(self, notification: Notification) -> None:
        self.write(f"notify: {notification.summary} [{notification.key}]")


@dataclass(frozen=True)
class CommandNotifier:
    argv: tuple[str, ...]
    timeout: float = COMMAND_TIMEOUT
    # More variables to withhold: those the baseline names for secrets, as of the last load.
    secret_env: Callable[[], frozenset[str]] = frozenset

    @property
    def name(self) -> str:
        return f"command:{os.path.basename(self.argv[0])}#{_short_hash(repr(self.argv))}"

    def send(self, notification: Notification) -> None:
        withheld = WITHHELD_ENV | self.secret_env()
        env = {k: v for k, v in os.environ.items() if k not in withheld}
        env["DRIFTGUARD_NOTIFICATION_KEY"] = notification.key
        env["DRIFTGUARD_NOTIFICATION_TENANT"] = notification.tenant
        try:
            done = subprocess.run(  # noqa: S603 - the program is the operator's own setting
                self.argv,
                input=notification.payload,
                capture_output=True,
                text=True,
                env=env,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise NotifyError(f"{self.name}: no answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise NotifyError(f"{self.name}: cannot run: {exc.strerror or exc}") from None
        if done.returncode != 0:
            said = " ".join(done.stderr.split())[:_ERROR_CHARS]
            detail = f": {said}" if said else ""
            raise NotifyError(f"{self.name}: exit {done.returncode}{detail}")


@dataclass(frozen=True)
class WebhookNotifier:
    url: str
    ca_bundle: str | None = None
    timeout: float = WEBHOOK_TIMEOUT

    @property
    def name(self) -> str:
        from urllib.parse import urlsplit

        # Never the path (it may hold a token); the hash tells two hooks on one host apart.
        return f"webhook:{urlsplit(self.url).hostname}#{_short_hash(self.url)}"

    def send(self, notification: Notification) -> None:
        import requests

        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": notification.key,
        }
        try:
            with requests.Session() as session:
                response = session.post(
                    self.url,
                    data=notification.payload.encode("utf-8"),
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    verify=self.ca_bundle or True,
                    stream=True,
                )
                status = response.status_code
                response.close()
        except requests.RequestException as exc:
            raise NotifyError(f"{self.name}: {type(exc).__name__}") from None
        if not 200 <= status < 300:
            raise NotifyError(f"{self.name}: HTTP {status}")


@dataclass(frozen=True)
class AppriseNotifier:
    url: str

    @property
    def name(self) -> str:
        return f"apprise#{_short_hash(self.url)}"  # never the URL: it may hold a secret

    def send(self, notification: Notification) -> None:
        from driftguard.notify import Level, Notice, send

        level = Level.ERROR if "unreadable" in notification.key else Level.DRIFT
        body = f"{notification.summary}\n\nkey: {notification.key}"
        send(Notice(level, f"driftguard watch: {notification.tenant}", body), [self.url])


def notifier_for(
    spec: str,
    write: Callable[[str], None],
    secret_env: Callable[[], frozenset[str]] = frozenset,
) -> Notifier:
    """A ``--notify`` value as its target; a value that names none is an InputError.
    ``secret_env``: more environment variables a command target must not see."""
    text = spec.strip()
    if text == "log":
        return LogNotifier(write)
    kind, _, rest = text.partition(":")
    if kind == "command" and rest.strip():
        try:
            argv = tuple(shlex.split(rest))
        except ValueError as exc:
            raise InputError(f"--notify {spec!r}: {exc}") from None
        return CommandNotifier(argv, secret_env=secret_env)
    if kind == "webhook" and rest.startswith("https://"):
        return WebhookNotifier(rest, ca_bundle=os.environ.get("DRIFTGUARD_NOTIFY_CA") or None)
    if kind == "apprise" and rest.strip():
        return AppriseNotifier(rest.strip())
    raise InputError(
        f"--notify {_shown(spec)}: not a notification target",
        hint="use 'log', 'command:PROGRAM ARGS', 'webhook:https://HOST/PATH' or 'apprise:URL'",
    )


def _short_hash(text: str) -> str:
    """A stable name for a target across restarts (the outbox routes by it), not a secret's."""
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _shown(spec: str) -> str:
    """A bad spec in an error message, without what looks like a URL's path or query."""
    head = spec.split("?", 1)[0]
    return repr(head if len(head) <= 60 else head[:59] + "…")
