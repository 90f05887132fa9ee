"""The InvokeCommand client against the HTTPS simulator: parsing, retries, redirects, writes.

Real msal + requests over TLS; only the sleep is injected (recording the delays) so retries are
instant. Every case ends in the right records or a LiveReadError naming the cause.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftguard.errors import AuthError, ServiceError, TruncatedReadError
from driftguard.live.exchange import RetryPolicy
from driftguard.live.service import ExchangeSource
from driftguard.model import TenantConfig
from driftguard.sim import ServerKnobs, Simulator
from livekit import FAST, Sleeps, config_for, read_app

T1 = "tenant-0001"


def expected(sim: Simulator) -> list[dict[str, Any]]:
    return sorted(
        ({k: v for k, v in c.items() if "@" not in k} for c in sim.tenant(T1).connectors),
        key=lambda r: str(r["Name"]),
    )


def read(config: TenantConfig, sleeps: Sleeps, policy: RetryPolicy = FAST) -> list[dict[str, Any]]:
    snapshot = ExchangeSource(policy=policy, sleep=sleeps).snapshot(config)
    return sorted((dict(r) for r in snapshot.records), key=lambda r: str(r["Name"]))


def invokes(sim: Simulator) -> list[Any]:
    return [r for r in sim.requests_log if r.endpoint in ("invoke", "foreign")]


@pytest.fixture
def one(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(tenants=1, knobs=ServerKnobs(timeout_seconds=2, retry_after=1))


def with_fault(sim: Simulator, name: str, rate: float = 1.0) -> None:
    sim.tenant(T1).faults = {name: rate}


def test_reads_every_connector_without_sidecars(one: Simulator, tmp_path: Path) -> None:
    records = read(config_for(one, tmp_path), Sleeps())
    assert records == expected(one)
    assert records and not any("@" in k for r in records for k in r)
    assert any("@data.type" in k for c in one.tenant(T1).connectors for k in c)
    [call] = invokes(one)
    assert (call.cmdlet, call.status, call.authorization) == ("Get-InboundConnector", 200, True)


def test_ca_bundle_wins_over_requests_ca_bundle(
    one: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    assert read(config_for(one, tmp_path), Sleeps()) == expected(one)


def test_throttling_honours_retry_after_then_gives_up(one: Simulator, tmp_path: Path) -> None:
    with_fault(one, "throttle")
    sleeps = Sleeps()
    with pytest.raises(ServiceError, match="HTTP 429") as info:
        read(config_for(one, tmp_path), sleeps)
    assert "gave up after 4 attempts" in info.value.message
    assert len(sleeps.delays) == 3
    assert all(1.0 <= d < 1.02 for d in sleeps.delays)  # Retry-After: 1, plus a little jitter
    assert info.value.hint is not None and "--concurrency" in info.value.hint


def test_throttling_without_retry_after_backs_off_exponentially(
    one: Simulator, tmp_path: Path
) -> None:
    with_fault(one, "throttle-no-retry-after")
    sleeps = Sleeps()
    policy = dataclasses.replace(FAST, max_attempts=6, base_delay=0.01, max_delay=0.04)
    with pytest.raises(ServiceError, match="HTTP 429"):
        read(config_for(one, tmp_path), sleeps, policy)
    caps = [0.01, 0.02, 0.04, 0.04, 0.04]
    assert len(sleeps.delays) == len(caps)
    for delay, cap in zip(sleeps.delays, caps, strict=True):
        assert cap / 2 <= delay <= cap


def test_the_deadline_stops_retries_early(
    sim_factory: Callable[..., Simulator], tmp_path: Path
) -> None:
    slow = sim_factory(tenants=1, knobs=ServerKnobs(retry_after=60))
    with_fault(slow, "throttle")  # Retry-After: 60 is longer than the whole deadline
    sleeps = Sleeps()
    policy = dataclasses.replace(FAST, deadline=10)  # sign-in included
    with pytest.raises(ServiceError, match="deadline reached"):
        read(config_for(slow, tmp_path), sleeps, policy)
    assert sleeps.delays == []


TRANSIENT = {
    "throttle": "HTTP 429",
    "throttle-no-retry-after": "HTTP 429",
    "concurrency-limit": "maximum number of concurrent requests",
    "unavailable": "HTTP 503",
    "reset": "connection reset",
    "truncated-json": "not valid JSON",
    "html-error": "HTTP 500: Runtime Error Server Error in '/adminapi' Application",
}


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_transient_faults_fail_closed_when_persistent(
    one: Simulator, tmp_path: Path, fault: str
) -> None:
    with_fault(one, fault)
    with pytest.raises(ServiceError) as info:
        read(config_for(one, tmp_path), Sleeps())
    assert TRANSIENT[fault] in info.value.message
    assert info.value.tenant == T1
    assert len(invokes(one)) == FAST.max_attempts


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_transient_faults_are_retried_to_the_right_result(
    one: Simulator, tmp_path: Path, fault: str
) -> None:
    with_fault(one, fault, 0.5)
    policy = dataclasses.replace(FAST, max_attempts=12)
    assert read(config_for(one, tmp_path), Sleeps(), policy) == expected(one)


def test_read_timeout_is_retried_then_fails_closed(one: Simulator, tmp_path: Path) -> None:
    with_fault(one, "timeout")
    policy = dataclasses.replace(FAST, max_attempts=2, read_timeout=0.3)
    with pytest.raises(ServiceError, match="read timeout talking to localhost") as info:
        read(config_for(one, tmp_path), Sleeps(), policy)
    assert "gave up after 2 attempts" in info.value.message


def test_non_json_403_names_status_and_role(one: Simulator, tmp_path: Path) -> None:
    with_fault(one, "forbidden-nonjson")
    with pytest.raises(ServiceError, match=r"access denied \(HTTP 403: Forbidden\)") as info:
        read(config_for(one, tmp_path), Sleeps())
    assert info.value.hint is not None and "Global Reader" in info.value.hint
    assert len(invokes(one)) == 1  # not retried


def test_warnings_mean_a_possibly_truncated_read(one: Simulator, tmp_path: Path) -> None:
    with_fault(one, "warnings")
    with pytest.raises(TruncatedReadError, match="result may be incomplete"):
        read(config_for(one, tmp_path), Sleeps())


def test_an_unfollowable_next_link_fails_closed(one: Simulator, tmp_path: Path) -> None:
    with_fault(one, "nextlink")
    with pytest.raises(TruncatedReadError, match="nextLink") as info:
        read(config_for(one, tmp_path), Sleeps())
    assert "Expired or Invalid pagination request" in info.value.message
    calls = invokes(one)
    assert len(calls) == 2 and calls[1].status == 400  # followed once, by re-POSTing


def test_token_expiry_mid_run_refreshes_once(one: Simulator, tmp_path: Path) -> None:
    with_fault(one, "token-expiry")
    assert read(config_for(one, tmp_path), Sleeps()) == expected(one)
    assert [r.status for r in invokes(one)] == [401, 200]
    assert [r.status for r in one.requests_log if r.endpoint == "token"] == [200, 200]


def test_a_token_without_the_permission_is_refused_after_one_refresh(
    one: Simulator, tmp_path: Path
) -> None:
    one.tenant(T1).grants[read_app(one).client_id].manage_as_app = False
    with pytest.raises(AuthError, match="refused the token") as info:
        read(config_for(one, tmp_path), Sleeps())
    assert info.value.hint is not None and "Exchange.ManageAsApp" in info.value.hint
    assert [r.status for r in invokes(one)] == [401, 401]


def test_no_role_is_a_403_with_the_service_text(one: Simulator, tmp_path: Path) -> None:
    one.tenant(T1).grants[read_app(one).client_id].role = "none"
    with pytest.raises(ServiceError, match="HTTP 403") as info:
        read(config_for(one, tmp_path), Sleeps())
    assert "not allowed to run 'Get-InboundConnector'" in info.value.message


def test_regional_redirect_is_followed_with_the_token(one: Simulator, tmp_path: Path) -> None:
    with_fault(one, "regional-redirect")
    config = config_for(one, tmp_path)
    with ExchangeSource(policy=FAST, sleep=Sleeps()).client(config) as client:
        first = client.invoke("Get-InboundConnector", {"ResultSize": "Unlimited"})
        assert "/regional/" in client.url
        client.invoke("Get-InboundConnector", {"ResultSize": "Unlimited"})
    assert sorted(r["Name"] for r in first) == [r["Name"] for r in expected(one)]
    calls = invokes(one)
    assert [c.status for c in calls][:2] in ([307, 200], [302, 200])
    assert calls[1].path.startswith("/regional/") and calls[1].authorization
    assert calls[2].path.startswith("/regional/")  # the next call goes straight there


def test_foreign_redirect_is_refused_and_the_token_never_follows(
    one: Simulator, tmp_path: Path
) -> None:
    with_fault(one, "foreign-redirect")
    with pytest.raises(ServiceError, match=r"redirected to 127\.0\.0\.1") as info:
        read(config_for(one, tmp_path), Sleeps())
    assert "outside localhost" in info.value.message
    assert one.foreign_requests() == []
    assert [r for r in one.requests_log if r.host.startswith("127.0.0.1")] == []


# --------------------------------------------------------------------------- writes


def write_client(sim: Simulator, tmp_path: Path, sleeps: Sleeps) -> Any:
    return ExchangeSource(policy=FAST, sleep=sleeps).client(
        config_for(sim, tmp_path), purpose="write"
    )


def test_a_write_reset_is_not_retried_blindly(one: Simulator, tmp_path: Path) -> None:
    name = expected(one)[0]["Name"]
    with write_client(one, tmp_path, Sleeps()) as client:
        with_fault(one, "reset")
        with pytest.raises(ServiceError, match="may or may not have been applied") as info:
            client.invoke("Set-InboundConnector", {"Identity": name, "Comment": "x"})
    assert info.value.hint is not None and "re-read" in info.value.hint
    assert len(invokes(one)) == 1


def test_a_throttled_write_is_retried(one: Simulator, tmp_path: Path) -> None:
    name = expected(one)[0]["Name"]
    sleeps = Sleeps()
    with write_client(one, tmp_path, sleeps) as client:
        with_fault(one, "throttle", 0.5)
        client.call("Set-InboundConnector", {"Identity": name, "Comment": "retried"})
    one.tenant(T1).faults = {}
    assert [c["Comment"] for c in one.tenant(T1).connectors if c["Name"] == name] == ["retried"]
    assert [r.status for r in invokes(one)].count(200) == 1


def test_write_warnings_are_returned_not_raised(one: Simulator, tmp_path: Path) -> None:
    name = expected(one)[0]["Name"]
    with write_client(one, tmp_path, Sleeps()) as client:
        with_fault(one, "warnings")
        result = client.call("Set-InboundConnector", {"Identity": name, "Comment": "w"})
    assert result.warnings and "incomplete" in result.warnings[0]


def test_cmdlet_errors_carry_the_real_text(one: Simulator, tmp_path: Path) -> None:
    with write_client(one, tmp_path, Sleeps()) as client, pytest.raises(ServiceError) as info:
        client.invoke("Set-InboundConnector", {"Identity": "no such connector", "Comment": "x"})
    assert "Set-InboundConnector failed: HTTP" in info.value.message
    assert "|" not in info.value.message.split("failed:")[1]


# --------------------------------------------------------------------------- environment


def test_a_netrc_entry_cannot_replace_the_bearer_token(
    one: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine localhost login someone password not-a-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert read(config_for(one, tmp_path), Sleeps()) == expected(one)


def test_proxy_settings_from_the_environment_are_honoured(
    one: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(one, tmp_path)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(AuthError, match="could not reach the sign-in service"):
        read(config, Sleeps(), dataclasses.replace(FAST, max_attempts=2))
    assert one.requests_log == []
    monkeypatch.setenv("NO_PROXY", "localhost")
    assert read(config, Sleeps()) == expected(one)


def test_client_errors_name_the_tenant_and_other_errors_pass_through(
    one: Simulator, tmp_path: Path
) -> None:
    from driftguard.errors import PlanError

    config = config_for(one, tmp_path)
    source = ExchangeSource(policy=FAST, sleep=Sleeps())
    with_fault(one, "forbidden-nonjson")
    with pytest.raises(ServiceError) as info, source.client(config) as client:
        client.invoke("Get-InboundConnector")
    assert info.value.tenant == T1
    with pytest.raises(PlanError), source.client(config):
        raise PlanError("not a live error")


def test_an_answer_that_comes_after_the_deadline_is_not_used(
    one: Simulator, tmp_path: Path
) -> None:
    import time

    from driftguard.live.clouds import resolve
    from driftguard.live.exchange import ExchangeClient
    from driftguard.live.http import make_session

    config = config_for(one, tmp_path)

    def late_clock() -> float:  # the clock passes the deadline while the answer travels
        return time.monotonic() + (1000.0 if invokes(one) else 0.0)

    endpoints = resolve(config)
    with make_session(endpoints.ca_bundle) as session:
        from driftguard.live.auth import token_provider

        client = ExchangeClient(
            session,
            endpoints,
            config.tenant_id,
            token_provider(config, endpoints, session),
            policy=FAST,
            clock=late_clock,
            sleep=Sleeps(),
        )
        with pytest.raises(ServiceError, match=r"after the 20 s deadline.*deadline reached"):
            client.invoke("Get-InboundConnector")
    [call] = invokes(one)  # answered (200), and still not used
    assert call.status == 200


@pytest.mark.parametrize("value", ["0.001", "0.5", "inf", "1e9", "nan"])
def test_a_deadline_no_read_could_meet_or_that_never_ends_is_refused(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main

    assert main(["diff", "--tenant", "demo", "--deadline", value]) == 1
    err = capsys.readouterr().err
    assert "--deadline" in err and ("between 1 and 86400 seconds" in err or "more than 0" in err)
