"""GraphClient error messages: the service's text is redacted and bounded before it is shown."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from driftguard.errors import AuthError, DriftguardError, ServiceError
from driftguard.investigate.graph import GraphClient

TOKEN = "eyJ0eXAiOiJKV1QifQ." + "p" * 300 + ".sig"
SECRET = "canary-secret-42"


class _Tokens:
    def token(self, *, force_refresh: bool = False) -> str:
        return TOKEN

    def redact(self, text: str) -> str:
        return text.replace(SECRET, "***")


class _Answers:
    """A stand-in transport: every request gets the same canned response."""

    def __init__(self, status: int, body: bytes, reason: str) -> None:
        self.status, self.body, self.reason = status, body, reason
        self.calls = 0

    def request(self, method: str, url: str, **_kwargs: Any) -> requests.Response:
        self.calls += 1
        resp = requests.Response()
        resp.status_code = self.status
        resp._content = self.body
        resp.reason = self.reason
        resp.headers["Content-Type"] = "application/json"
        resp.url = url
        return resp


def _client(answers: _Answers) -> GraphClient:
    session: Any = answers
    return GraphClient(session, "graph.example", _Tokens(), sleep=lambda _s: None, max_attempts=1)


@pytest.mark.parametrize(("status", "error"), [(403, AuthError), (400, ServiceError)])
def test_error_text_never_carries_the_token_or_a_secret(
    status: int, error: type[DriftguardError]
) -> None:
    text = f"bad request from {TOKEN} using {SECRET}; " + "y" * 500
    body = json.dumps({"error": {"code": "X", "message": text}}).encode()
    with pytest.raises(error) as info:
        _client(_Answers(status, body, "Nope")).get("/v1.0/security/alerts_v2")
    message = str(info.value)
    assert "eyJ" not in message
    assert SECRET not in message
    assert "bad request from *** using ***" in message
    assert len(message) < 300


def test_a_long_reason_phrase_is_bounded() -> None:
    with pytest.raises(ServiceError) as info:
        _client(_Answers(400, b"not json", "R" * 5000)).get("/v1.0/x")
    assert 100 <= str(info.value).count("R") <= 101


class _Recording(_Answers):
    def __init__(self) -> None:
        super().__init__(200, b'{"value": []}', "OK")
        self.timeouts: list[object] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.timeouts.append(kwargs.get("timeout"))
        return super().request(method, url, **kwargs)


def test_a_long_running_operation_gets_its_own_answer_time_and_others_keep_the_clients() -> None:
    from driftguard.investigate.hunting import QUERY_SECONDS

    recording = _Recording()
    client = _client(recording)
    client.post("/v1.0/security/runHuntingQuery", {"Query": "x"}, timeout=QUERY_SECONDS)
    client.get("/v1.0/security/alerts_v2")
    client.post("/v1.0/users/x/revokeSignInSessions", {})
    assert recording.timeouts == [QUERY_SECONDS, client.timeout, client.timeout]
    assert QUERY_SECONDS > 200 > client.timeout  # the service runs a hunting query up to 200 s
