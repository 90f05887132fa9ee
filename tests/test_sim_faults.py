"""Every fault of the matrix is emitted as specified (what the client must survive)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from driftguard.sim import ServerKnobs, Simulator
from simulator import invoke, pinned_session, sim_token

T = "tenant-0001"


@pytest.fixture
def faulty(sim_factory: Callable[..., Simulator]) -> Callable[..., Simulator]:
    def make(fault: str, rate: float = 1.0, **knobs: Any) -> Simulator:
        sim = sim_factory(tenants=1, knobs=ServerKnobs(**knobs))
        sim.tenant(T).faults = {fault: rate}
        return sim

    return make


def get(sim: Simulator, token: str | None = None, **kwargs: Any) -> requests.Response:
    return invoke(sim, T, token or sim_token(sim, T), "Get-InboundConnector", **kwargs)


def test_throttle_with_retry_after(faulty: Callable[..., Simulator]) -> None:
    sim = faulty("throttle", retry_after=3)
    first, second = get(sim), get(sim)
    for response in (first, second):
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
    assert first.headers["Rate-Limit-Remaining"] == "0"
    assert "Rate-Limit-Limit" not in second.headers


def test_throttle_without_retry_after(faulty: Callable[..., Simulator]) -> None:
    response = get(faulty("throttle-no-retry-after"))
    assert response.status_code == 429
    assert "Retry-After" not in response.headers


def test_concurrency_limit_text(faulty: Callable[..., Simulator]) -> None:
    response = get(faulty("concurrency-limit"))
    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "maximum number of concurrent requests per tenant" in response.text


def test_unavailable(faulty: Callable[..., Simulator]) -> None:
    assert get(faulty("unavailable")).status_code == 503


def test_reset_drops_the_connection(faulty: Callable[..., Simulator]) -> None:
    sim = faulty("reset")
    token = sim_token(sim, T)
    with pytest.raises(requests.ConnectionError):
        get(sim, token)
    sim.tenant(T).faults = {}
    assert get(sim, token).status_code == 200  # the server is still fine afterwards


def test_timeout_outlasts_the_read_timeout(faulty: Callable[..., Simulator]) -> None:
    sim = faulty("timeout", timeout_seconds=3)
    token = sim_token(sim, T)
    with pytest.raises(requests.ReadTimeout):
        invoke(sim, T, token, "Get-InboundConnector", timeout=0.5)


def test_truncated_json(faulty: Callable[..., Simulator]) -> None:
    response = get(faulty("truncated-json"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()
    assert response.text.startswith('{"@odata.context"')


def test_html_error_page(faulty: Callable[..., Simulator]) -> None:
    response = get(faulty("html-error"))
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_forbidden_not_json(faulty: Callable[..., Simulator]) -> None:
    response = get(faulty("forbidden-nonjson"))
    assert response.status_code == 403
    with pytest.raises(ValueError):
        response.json()


def test_warnings(faulty: Callable[..., Simulator]) -> None:
    body = get(faulty("warnings")).json()
    assert body["@adminapi.warnings"]
    assert len(body["value"]) == 2


def test_nextlink_cannot_be_followed(faulty: Callable[..., Simulator]) -> None:
    sim = faulty("nextlink")
    token = sim_token(sim, T)
    link = get(sim, token).json()["@odata.nextLink"]
    session = pinned_session(sim.ca_path)
    auth = {"Authorization": f"Bearer {token}"}
    body = {"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": {}}}
    for response in (
        session.get(link, headers=auth, timeout=10),
        session.post(link, json=body, headers=auth, timeout=10),
    ):
        assert response.status_code == 400
        assert (
            "Expired or Invalid pagination request"
            in response.json()["error"]["details"][0]["message"]
        )


def test_token_expiry_once(faulty: Callable[..., Simulator]) -> None:
    sim = faulty("token-expiry")
    token = sim_token(sim, T)
    first = get(sim, token)
    assert first.status_code == 401
    assert 'error="invalid_token"' in first.headers["WWW-Authenticate"]
    assert get(sim, token).status_code == 401  # that token stays expired
    assert get(sim, sim_token(sim, T)).status_code == 200  # a fresh one works, from then on
    assert get(sim).status_code == 200


def test_regional_redirect_serves_at_the_new_location(faulty: Callable[..., Simulator]) -> None:
    sim = faulty("regional-redirect")
    token = sim_token(sim, T)
    first, second = get(sim, token), get(sim, token)
    assert {first.status_code, second.status_code} == {302, 307}
    location = first.headers["Location"]
    assert location.startswith(f"https://localhost:{sim.port}/regional/")
    assert location.endswith(f"/adminapi/beta/{sim.tenant(T).tenant_id}/InvokeCommand")
    response = pinned_session(sim.ca_path).post(
        location,
        json={"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": {}}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200
    assert len(response.json()["value"]) == 2


def test_foreign_redirect_records_whether_the_token_followed(
    faulty: Callable[..., Simulator],
) -> None:
    sim = faulty("foreign-redirect")
    token = sim_token(sim, T)
    response = get(sim, token)
    assert response.status_code == 307
    location = response.headers["Location"]
    assert location.startswith(f"https://127.0.0.1:{sim.port}/foreign/")
    session = pinned_session(sim.ca_path)
    body = {"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": {}}}
    assert session.post(location, json=body, timeout=10).status_code == 401
    assert [r.authorization for r in sim.foreign_requests()] == [False]
    session.post(location, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert [r.authorization for r in sim.foreign_requests()] == [False, True]
    assert sim.foreign_requests()[0].host == f"127.0.0.1:{sim.port}"


def test_rates_are_seeded_and_reproducible(sim_factory: Callable[..., Simulator]) -> None:
    def statuses(seed: int) -> list[int]:
        sim = sim_factory(tenants=1, knobs=ServerKnobs(faults={"unavailable": 0.5}, seed=seed))
        token = sim_token(sim, T)
        return [get(sim, token).status_code for _ in range(16)]

    first, again = statuses(3), statuses(3)
    assert first == again
    assert set(first) == {200, 503}


def test_faults_spare_entra_and_are_counted(sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory(tenants=2, faults={"unavailable": 1.0})
    token = sim_token(sim, "tenant-0002")  # Entra ID is not hit by admin API faults
    assert get(sim, token).status_code == 503
    assert get(sim, token).status_code == 503
    counts = sim.state.request_counts()
    assert counts[("tenant-0002", "token")] == 1
    assert counts[("tenant-0001", "invoke")] == 2
    assert [r.status for r in sim.requests_log if r.endpoint == "invoke"] == [503, 503]


class _Rendezvous:
    """Stands in for the simulator's stop event while requests wait out their latency: the wait
    ends when ``parties`` requests are waiting at once, which only a server that serves them side
    by side reaches. No clock is read, so a busy machine cannot fail it."""

    def __init__(self, parties: int, stopping: threading.Event) -> None:
        self.barrier = threading.Barrier(parties, timeout=60)
        self.stopping = stopping

    def wait(self, timeout: float | None = None) -> bool:
        self.barrier.wait()
        return False

    def is_set(self) -> bool:
        return self.stopping.is_set()

    def set(self) -> None:
        self.stopping.set()
        self.barrier.abort()


def test_latency_is_concurrent(
    sim_factory: Callable[..., Simulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(tenants=1)
    token = sim_token(sim, T)
    sim.state.knobs.latency_ms = 400
    results: list[int] = []

    def one() -> None:
        results.append(get(sim, token).status_code)

    threads = [threading.Thread(target=one) for _ in range(8)]
    with monkeypatch.context() as patched:
        patched.setattr(sim.state, "stopping", _Rendezvous(8, sim.state.stopping))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == [200] * 8  # all eight were in their latency wait together


class _Clock:
    """The simulator's token clock: the real time until the test sets ``now``."""

    def __init__(self) -> None:
        self.now: float | None = None

    def time(self) -> float:
        return time.time() if self.now is None else self.now


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_tokens_expire_by_their_lifetime(
    sim_factory: Callable[..., Simulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftguard.sim import tokens

    clock = _Clock()
    monkeypatch.setattr(tokens, "time", clock)
    sim = sim_factory(tenants=1, knobs=ServerKnobs(token_lifetime=600))
    token = sim_token(sim, T)
    claims = _claims(token)
    assert claims["exp"] - claims["iat"] == 600
    assert get(sim, token).status_code == 200  # verified once, then kept with its expiry
    clock.now = claims["exp"] - 1
    assert get(sim, token).status_code == 200
    clock.now = claims["exp"]  # the lifetime is over
    expired = get(sim, token)
    assert expired.status_code == 401
    assert "expired" in expired.headers["WWW-Authenticate"]
