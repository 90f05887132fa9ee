"""Notification targets: parsing ``--notify``, the webhook over real HTTPS, the command target."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from driftguard.errors import InputError
from driftguard.watch.notify import (
    CommandNotifier,
    LogNotifier,
    Notification,
    NotifyError,
    WebhookNotifier,
    notifier_for,
)

NOTE = Notification("driftguard:t:sweep-2:new_drift", "t", "t: new drift", '{"a": 1}')


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]
    status = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        if self.server.status == 302:  # type: ignore[attr-defined]
            self.send_header("Location", "https://127.0.0.1:1/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def hook(sim_tls: tuple[Path, Path, bytes], tmp_path: Path) -> Iterator[Any]:
    cert, key, ca = sim_tls
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.received = []  # type: ignore[attr-defined]
    server.status = 204  # type: ignore[attr-defined]
    (tmp_path / "ca.pem").write_bytes(ca)
    server.ca = str(tmp_path / "ca.pem")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_posts_the_json_with_its_idempotency_key(hook: Any) -> None:
    url = f"https://localhost:{hook.server_address[1]}/hooks/secret-token"
    notifier = WebhookNotifier(url, ca_bundle=hook.ca)
    assert notifier.name.startswith("webhook:localhost#")  # the path may hold a token
    assert "secret" not in notifier.name and "hooks" not in notifier.name
    other = WebhookNotifier(url.replace("secret-token", "other"), ca_bundle=hook.ca)
    assert other.name != notifier.name  # two hooks on one host are two targets
    notifier.send(NOTE)
    [(headers, body)] = hook.received
    assert headers["Idempotency-Key"] == NOTE.key
    assert json.loads(body) == {"a": 1}

    for status in (500, 302):
        hook.status = status
        with pytest.raises(NotifyError, match=f"HTTP {status}") as caught:
            notifier.send(NOTE)
        assert "secret-token" not in caught.value.message
    assert len(hook.received) == 3  # the redirect was not followed


def test_webhook_refuses_a_certificate_it_does_not_trust(hook: Any) -> None:
    url = f"https://localhost:{hook.server_address[1]}/hooks/secret-token"
    with pytest.raises(NotifyError, match="SSLError") as caught:
        WebhookNotifier(url, timeout=5).send(NOTE)
    assert "secret-token" not in caught.value.message


def test_command_target_gets_the_key_and_fails_closed(tmp_path: Path) -> None:
    import sys

    script = tmp_path / "r.py"
    script.write_text(
        "import os, sys\n"
        "data = sys.stdin.read()\n"
        "open(sys.argv[1], 'w').write(os.environ['DRIFTGUARD_NOTIFICATION_KEY'] + ' ' + data)\n"
        "sys.exit(int(sys.argv[2]))\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.txt"
    CommandNotifier((sys.executable, str(script), str(out), "0")).send(NOTE)
    assert out.read_text(encoding="utf-8") == f'{NOTE.key} {{"a": 1}}'
    with pytest.raises(NotifyError, match="exit 4"):
        CommandNotifier((sys.executable, str(script), str(out), "4")).send(NOTE)
    with pytest.raises(NotifyError, match="cannot run"):
        CommandNotifier((str(tmp_path / "missing"),)).send(NOTE)


def test_notify_specs() -> None:
    said: list[str] = []
    log = notifier_for("log", said.append)
    assert isinstance(log, LogNotifier)
    log.send(NOTE)
    assert said == [f"notify: t: new drift [{NOTE.key}]"]
    assert isinstance(notifier_for("command:notify-send 'a b'", said.append), CommandNotifier)
    assert notifier_for("command:notify-send 'a b'", said.append).argv == ("notify-send", "a b")  # type: ignore[attr-defined]
    assert isinstance(notifier_for("webhook:https://h.example/x", said.append), WebhookNotifier)
    for bad in ("webhook:http://h.example/x", "command:", "mailto:x@y", "command:'open"):
        with pytest.raises(InputError):
            notifier_for(bad, said.append)


def test_command_target_is_not_given_driftguards_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setenv("AZURE_CLIENT_SECRET", "s3cret-azure")
    monkeypatch.setenv("CONTOSO_APP_SECRET", "s3cret-named-by-the-baseline")
    monkeypatch.setenv("SLACK_HOOK", "kept-for-the-program")
    script = tmp_path / "env.py"
    script.write_text(
        "import json, os, sys\nopen(sys.argv[1], 'w').write(json.dumps(dict(os.environ)))\n",
        encoding="utf-8",
    )
    out = tmp_path / "env.json"
    notifier = notifier_for(
        f"command:{sys.executable} {script} {out}",
        print,
        lambda: frozenset({"CONTOSO_APP_SECRET"}),
    )
    notifier.send(NOTE)
    env = json.loads(out.read_text(encoding="utf-8"))
    assert "AZURE_CLIENT_SECRET" not in env and "CONTOSO_APP_SECRET" not in env
    assert env["SLACK_HOOK"] == "kept-for-the-program"
    assert env["DRIFTGUARD_NOTIFICATION_KEY"] == NOTE.key
