"""The admin API's wire format: records, warnings, error bodies, throttling headers."""

from __future__ import annotations

import json
from email.utils import formatdate

import pytest

from driftguard.errors import ServiceError
from driftguard.live import wire


def test_sidecar_keys_are_dropped_and_values_kept() -> None:
    payload = {
        "value": [{"Name": "A", "Size": 3, "Size@data.type": "System.Int32", "Enabled": True}],
        "@adminapi.warnings": [],
    }
    assert wire.records_of(payload, "Get-X") == [{"Name": "A", "Size": 3, "Enabled": True}]
    assert wire.warnings_of(payload) == []
    assert wire.next_link(payload) is None


@pytest.mark.parametrize(
    "payload",
    [
        {"value": {"a": 1}},
        {"value": ["x"]},
        {"value": [None]},
        {"value": None},
        {},
        {"@adminapi.warnings": [], "@odata.context": "x"},
        [],
        [{"Name": "A"}],
        "value",
        None,
    ],
)
def test_bad_shapes_are_service_errors(payload: object) -> None:
    with pytest.raises(ServiceError, match="Get-X: unexpected answer shape"):
        wire.records_of(payload, "Get-X")
    with pytest.raises(ServiceError, match="Graph: GET /p: unexpected answer shape"):
        wire.envelope_value(payload, "Graph: GET /p")


def test_an_empty_value_list_is_the_only_empty_answer() -> None:
    assert wire.envelope_value({"value": []}, "Get-X") == []


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        ({"value": [], "error": {"code": "Throttled", "message": "slow down"}}, "Throttled: slow"),
        ({"error": "invalid_grant", "error_description": "nope"}, "invalid_grant"),
        ({"odata.error": {"code": "E1", "message": {"value": "m"}}}, "E1"),
        ({"error": None}, "error"),
    ],
)
def test_an_error_object_inside_a_200_is_an_error(payload: dict[str, object], text: str) -> None:
    with pytest.raises(ServiceError, match="Get-X: the service answered with an error") as info:
        wire.envelope_value(payload, "Get-X")
    assert text in info.value.message
    with pytest.raises(ServiceError, match="answered with an error"):
        wire.checked_payload(payload, "Get-X")


def test_an_error_inside_a_200_is_redacted_and_bounded() -> None:
    payload = {"error": {"code": "X", "message": "token SECRET-TOKEN " + "y" * 5000}}
    with pytest.raises(ServiceError) as info:
        wire.checked_payload(payload, "Get-X", redact=lambda t: t.replace("SECRET-TOKEN", "***"))
    assert "SECRET-TOKEN" not in info.value.message
    assert "***" in info.value.message
    assert len(info.value.message) < 300


def test_warnings_and_next_link() -> None:
    payload = {"value": [], "@adminapi.warnings": ["WARNING: more"], "@odata.nextLink": "/p2"}
    assert wire.warnings_of(payload) == ["WARNING: more"]
    assert wire.warnings_of({"@adminapi.warnings": "one"}) == ["one"]
    assert wire.next_link(payload) == "/p2"


def test_error_text_comes_from_details_without_the_type_prefix() -> None:
    body = {
        "error": {
            "code": "BadRequest",
            "message": "Invalid Operation",
            "details": [{"message": "|Microsoft.Exchange.Tasks.ValidationException|The real text"}],
            "innererror": {"internalexception": {"message": "other", "type": "X"}},
        }
    }
    detail = wire.error_detail(json.dumps(body).encode())
    assert detail.is_json
    assert detail.text == "BadRequest: The real text"


def test_error_text_falls_back_to_the_inner_exception_then_the_message() -> None:
    inner = {
        "error": {
            "code": "C",
            "message": "Invalid Operation",
            "innererror": {"internalexception": {"message": "|T|Deep reason"}},
        }
    }
    assert wire.error_detail(json.dumps(inner).encode()).text == "C: Deep reason"
    plain = {"error": {"code": "Forbidden", "message": "Access denied"}}
    assert wire.error_detail(json.dumps(plain).encode()).text == "Forbidden: Access denied"
    oauth = {"error": "invalid_token", "error_description": "expired"}
    assert wire.error_detail(json.dumps(oauth).encode()).text == "invalid_token: expired"


def test_html_and_plain_bodies_become_short_safe_excerpts() -> None:
    page = (
        b"<html><head><title>Runtime Error</title><style>body{color:red}</style>"
        b"<script>alert(1)</script></head><body><h1>Server &amp; Error</h1>"
        + b"x" * 500
        + b"</body></html>"
    )
    detail = wire.error_detail(page, "text/html")
    assert not detail.is_json
    assert detail.text.startswith("Runtime Error Server & Error")
    assert "<" not in detail.text
    assert "alert" not in detail.text
    assert "color" not in detail.text
    assert len(detail.text) <= 200
    assert wire.error_detail(b"Forbidden").text == "Forbidden"


def test_concurrency_text_is_throttling() -> None:
    assert wire.is_concurrency_limit(
        "Fail to create a runspace because you have exceeded the maximum number of concurrent "
        "requests per tenant."
    )
    assert not wire.is_concurrency_limit("The operation couldn't be performed")


def test_server_delay_from_retry_after_and_rate_limit_reset() -> None:
    now = 1_800_000_000.0
    assert wire.server_delay({"Retry-After": "7"}, now) == 7.0
    assert wire.server_delay({"retry-after": "1.5"}, now) == 1.5
    http_date = formatdate(now + 30, usegmt=True)
    assert wire.server_delay({"Retry-After": http_date}, now) == pytest.approx(30, abs=1)
    assert wire.server_delay({"Rate-Limit-Reset": "12"}, now) == 12.0
    assert wire.server_delay({"Rate-Limit-Reset": str(int(now) + 9)}, now) == 9.0
    assert wire.server_delay({"Retry-After": "3", "Rate-Limit-Reset": "60"}, now) == 3.0
    assert wire.server_delay({"Retry-After": "-5"}, now) == 0.0
    assert wire.server_delay({"Retry-After": "soon"}, now) is None
    assert wire.server_delay({}, now) is None


def test_short_collapses_and_cuts() -> None:
    assert wire.short("a\n  b\tc", 10) == "a b c"
    assert wire.short("x" * 50, 10) == "x" * 9 + "…"


def test_a_secret_is_redacted_before_the_excerpt_is_cut() -> None:
    token = "eyJ" + "a" * 400
    body = b"x " * 95 + token.encode()  # the 200-character excerpt ends inside the token
    assert "eyJ" in wire.error_detail(body, "text/plain").text
    detail = wire.error_detail(body, "text/plain", redact=lambda t: t.replace(token, "***"))
    assert "eyJ" not in detail.text
    assert detail.text.endswith("***")
