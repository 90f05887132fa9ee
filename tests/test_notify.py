"""--notify: one message on drift or error through Apprise, to a loopback HTTP server here.

Apprise's own `json://` and `form://` services post to the server below; `?format=html` and
`?format=markdown` make a target of that kind, to see Apprise escape the plain-text message for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from driftguard.cli import main
from driftguard.model import Report, Status, TenantReport
from driftguard.notify import (
    ENV,
    Level,
    NotifyError,
    notice_for_error,
    notice_for_plan,
    notice_for_report,
    send,
)
from driftguard.sim import Simulator
from report_samples import GENERATED_AT, hostile_report, sample_report

SECRET = "s3cr3t-webhook-pass"


@dataclass
class Hook:
    port: int
    status: int = 200
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def url(self, scheme: str = "json", query: str = "") -> str:
        return f"{scheme}://user:{SECRET}@127.0.0.1:{self.port}/hook{query}"

    def json_bodies(self) -> list[dict[str, str]]:
        return [json.loads(body) for _, _, body in self.received]


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(min(length, 1_000_000))
            state.received.append((self.path, dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_no_message_when_clean_or_nothing_planned() -> None:
    clean = Report(generated_at=GENERATED_AT, tenants=(TenantReport("a", Status.OK),))
    assert notice_for_report(clean) is None
    assert notice_for_plan("a", 0) is None


def test_the_message_says_what_drifted_and_what_was_not_checked() -> None:
    notice = notice_for_report(sample_report())
    assert notice is not None and notice.level is Level.ERROR  # one tenant not checked
    assert notice.title == "driftguard diff: error"
    lines = notice.body.splitlines()
    assert lines[0] == "3 tenant(s) checked: 1 with drift (5 finding(s)), 1 not checked."
    assert "- contoso (5 finding(s))" in lines
    assert any(line.startswith("- northwind: the service returned a truncated") for line in lines)
    plan = notice_for_plan("contoso", 3)
    assert plan is not None and plan.level is Level.DRIFT
    assert plan.body == "contoso: 3 action(s) planned to restore the approved baseline."


def test_untrusted_text_is_one_bounded_line_per_item() -> None:
    notice = notice_for_report(hostile_report())
    assert notice is not None
    assert "\x1b" not in notice.body and "\r" not in notice.body and "\u202e" not in notice.body
    assert all(len(line) < 400 for line in notice.body.splitlines())
    assert not any(line.startswith("line2") for line in notice.body.splitlines())
    long = notice_for_error("diff", "x" * 10_000)
    assert len(long.body) < 400 and "more characters not shown" in long.body


def test_apprise_escapes_the_message_for_each_target(hook: Hook) -> None:
    notice = notice_for_report(hostile_report())
    assert notice is not None
    # One target at a time: Apprise may deliver to several targets in any order.
    send(notice, [hook.url(query="?format=html")])
    send(notice, [hook.url(query="?format=markdown")])
    html, markdown = (body["message"] for body in hook.json_bodies())
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\\*em\\*" in markdown and "\\[click\\]" in markdown
    assert "*em*" in notice.body  # the message itself is plain text


def test_diff_sends_one_message_on_drift(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diff", "--tenant", "demo", "--format", "json", "--notify", hook.url()])
    assert code == 2
    (body,) = hook.json_bodies()
    assert body["title"] == "driftguard diff: drift found"
    assert body["type"] == "warning"
    assert "- demo (" in body["message"]
    assert SECRET not in body["message"] + body["title"]
    assert SECRET not in "".join(capsys.readouterr())


def test_form_targets_from_the_environment(
    hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV, f"  {hook.url('form')}\n")
    assert main(["diff", "--tenant", "demo", "--format", "json"]) == 2
    ((path, headers, body),) = hook.received
    assert path == "/hook"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert _form(body)["title"] == "driftguard diff: drift found"
    assert SECRET not in "".join(capsys.readouterr())


def test_an_error_is_sent_too(hook: Hook, tmp_path: Path) -> None:
    argv = ["diff", "--baseline", str(tmp_path / "missing"), "--notify", hook.url()]
    assert main(argv) == 1
    (body,) = hook.json_bodies()
    assert body["title"] == "driftguard diff: error" and body["type"] == "failure"


def test_a_failed_delivery_is_an_error_that_names_no_url(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    hook.status = 500
    code = main(["diff", "--tenant", "demo", "--format", "json", "--notify", hook.url()])
    assert code == 1
    err = capsys.readouterr().err
    assert "did not reach every one of the 1 target(s)" in err
    assert SECRET not in err and str(hook.port) not in err


def test_a_url_apprise_does_not_know_is_refused_without_showing_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["diff", "--tenant", "demo", "--notify", f"nope://{SECRET}@example.invalid/"])
    assert code == 1
    err = capsys.readouterr().err
    assert "is not a URL Apprise understands" in err and SECRET not in err
    with pytest.raises(NotifyError):
        send(notice_for_error("diff", "x"), [f"nope://{SECRET}"])


def test_clean_diff_sends_nothing(
    hook: Hook, sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    simulator = sim_factory(tenants=2)
    baseline = simulator.write_baseline(tmp_path / "baseline")
    assert main(["diff", "--baseline", str(baseline), "--notify", hook.url()]) == 0
    assert hook.received == []


def test_plan_sends_the_number_of_actions(hook: Hook, tmp_path: Path) -> None:
    argv = ["plan", "--tenant", "demo", "--out", str(tmp_path / "plan.json")]
    assert main([*argv, "--notify", hook.url("form")]) == 2
    ((_, _, body),) = hook.received
    fields = _form(body)
    assert fields["title"] == "driftguard plan: drift found"
    assert fields["message"] == "demo: 3 action(s) planned to restore the approved baseline."


def _form(body: bytes) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(body.decode("utf-8")).items()}


def test_watch_sends_to_an_apprise_url_through_the_same_sender(hook: Hook) -> None:
    from driftguard.watch.notify import Notification, notifier_for

    target = notifier_for(f"apprise:{hook.url()}", write=lambda _line: None)
    assert SECRET not in target.name
    key = "driftguard:contoso:sweep-2:new_drift"
    target.send(Notification(key, "contoso", "contoso: new drift, 1 critical", "{}"))
    (body,) = hook.json_bodies()
    assert body["title"] == "driftguard watch: contoso"
    assert "new drift, 1 critical" in body["message"] and key in body["message"]
    hook.status = 500
    with pytest.raises(NotifyError):
        target.send(Notification(key, "contoso", "again", "{}"))
