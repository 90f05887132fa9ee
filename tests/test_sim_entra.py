"""The simulated Entra ID, driven by the real msal over HTTPS (trustme CA)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import jwt
import msal
import pytest
from cryptography import x509

from driftguard.sim import Simulator, TenantState
from driftguard.sim.state import EXCHANGE_ADMIN, GLOBAL_READER, App, FederatedCredential, Grant
from driftguard.sim.tls import make_app_certificate
from driftguard.sim.tokens import FEDERATED_ISSUER, mint_federated_token
from simulator import pinned_session

SCOPE = ["https://outlook.office365.com/.default"]


def confidential(sim: Simulator, tenant: TenantState, client_id: str, credential: Any) -> Any:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{sim.url}/{tenant.tenant_id}",
        instance_discovery=False,
        http_client=pinned_session(sim.ca_path),
    )


def public_client(sim: Simulator, tenant: TenantState, session: Any) -> Any:
    """The device-code app (``sim.apps[2]``) as a real msal public client."""
    return msal.PublicClientApplication(
        sim.apps[2].client_id,
        authority=f"{sim.url}/{tenant.tenant_id}",
        instance_discovery=False,
        http_client=session,
    )


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def cert_credential(pem_key: bytes, pem_cert: bytes) -> dict[str, str]:
    der = x509.load_pem_x509_certificate(pem_cert).public_bytes(
        __import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]
        ).Encoding.DER
    )
    return {
        "private_key": pem_key.decode(),
        "thumbprint": hashlib.sha1(der).hexdigest(),  # noqa: S324 - x5t is SHA-1 by spec
        "public_certificate": pem_cert.decode(),
    }


def invoke(sim: Simulator, tenant: TenantState, token: str, cmdlet: str, **params: Any) -> Any:
    return pinned_session(sim.ca_path).post(
        f"{sim.url}/adminapi/beta/{tenant.tenant_id}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_secret_gives_a_read_token_for_exchange(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0001")
    read, _write, _public = sim.apps
    result = confidential(sim, tenant, read.client_id, read.secret).acquire_token_for_client(SCOPE)
    assert "access_token" in result, result
    got = claims(result["access_token"])
    assert got["aud"] == "https://outlook.office365.com"
    assert got["tid"] == tenant.tenant_id
    assert got["appid"] == read.client_id
    assert got["roles"] == ["Exchange.ManageAsApp"]
    assert got["wids"] == [GLOBAL_READER]
    assert got["exp"] > time.time() + 3000
    assert invoke(sim, tenant, result["access_token"], "Get-InboundConnector").status_code == 200


def test_wrong_secret_is_aadsts7000215(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0001")
    read = sim.apps[0]
    result = confidential(sim, tenant, read.client_id, "not-the-secret").acquire_token_for_client(
        SCOPE
    )
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215:")
    assert "not-the-secret" not in result["error_description"]


def test_unknown_app_and_unknown_tenant(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0001")
    result = confidential(
        sim, tenant, "11111111-2222-3333-4444-555555555555", "x"
    ).acquire_token_for_client(SCOPE)
    assert result["error"] == "unauthorized_client"
    assert "AADSTS700016" in result["error_description"]
    with pytest.raises(ValueError, match="authority configuration"):
        msal.ConfidentialClientApplication(
            sim.apps[0].client_id,
            client_credential="x",
            authority=f"{sim.url}/00000000-0000-0000-0000-000000000000",
            instance_discovery=False,
            http_client=pinned_session(sim.ca_path),
        )
    discovery = pinned_session(sim.ca_path).get(
        f"{sim.url}/nowhere.example/v2.0/.well-known/openid-configuration", timeout=10
    )
    assert discovery.status_code == 400
    assert discovery.json()["error_description"].startswith("AADSTS90002:")


def test_missing_consent_is_aadsts65001(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0002")
    read = sim.apps[0]
    tenant.grants[read.client_id] = Grant(role="read", consented=False)
    result = confidential(sim, tenant, read.client_id, read.secret).acquire_token_for_client(SCOPE)
    assert "AADSTS65001" in result["error_description"]


def test_certificate_assertion_is_verified(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0001")
    _read, write, _public = sim.apps
    pair = sim.state.app_certificate(write.client_id)
    app = confidential(sim, tenant, write.client_id, cert_credential(pair.key_pem, pair.cert_pem))
    result = app.acquire_token_for_client(SCOPE)
    assert "access_token" in result, result
    assert claims(result["access_token"])["wids"] == [EXCHANGE_ADMIN]


def test_certificate_signed_by_another_key_is_refused(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0001")
    write = sim.apps[1]
    registered = sim.state.app_certificate(write.client_id)
    other = make_app_certificate("impostor")
    credential = cert_credential(other.key_pem, registered.cert_pem)  # right thumbprint, wrong key
    result = confidential(sim, tenant, write.client_id, credential).acquire_token_for_client(SCOPE)
    assert result["error"] == "invalid_client"
    assert "AADSTS700027" in result["error_description"]


def _post_assertion(sim: Simulator, tenant: TenantState, client_id: str, assertion: str) -> Any:
    return (
        pinned_session(sim.ca_path)
        .post(
            f"{sim.url}/{tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "scope": SCOPE[0],
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
            timeout=10,
        )
        .json()
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"aud": "https://login.microsoftonline.com/common/oauth2/v2.0/token"}, "AADSTS700023"),
        ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 1200}, "AADSTS700024"),
        ({"sub": "someone-else"}, "AADSTS700021"),
        ({}, None),
    ],
)
def test_assertion_claims(sim: Simulator, change: dict[str, Any], code: str | None) -> None:
    tenant = sim.tenant("tenant-0001")
    write = sim.apps[1]
    pair = sim.state.app_certificate(write.client_id)
    now = int(time.time())
    payload = {
        "aud": f"{sim.url}/{tenant.tenant_id}/oauth2/v2.0/token",
        "iss": write.client_id,
        "sub": write.client_id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "x",
        **change,
    }
    assertion = jwt.encode(payload, pair.key_pem, algorithm="RS256")
    body = _post_assertion(sim, tenant, write.client_id, assertion)
    if code is None:
        assert "access_token" in body, body
    else:
        assert body["error_description"].startswith(code), body


def test_federated_assertion(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0001")
    read = sim.apps[0]
    read.federated.append(
        FederatedCredential(FEDERATED_ISSUER, "repo:contoso/mail:ref:refs/heads/main")
    )
    token = mint_federated_token(sim.state, subject="repo:contoso/mail:ref:refs/heads/main")
    result = confidential(
        sim, tenant, read.client_id, {"client_assertion": lambda: token}
    ).acquire_token_for_client(SCOPE)
    assert "access_token" in result, result
    other = mint_federated_token(sim.state, subject="repo:evil/fork:pull_request")
    refused = confidential(
        sim, tenant, read.client_id, {"client_assertion": lambda: other}
    ).acquire_token_for_client(SCOPE)
    assert "AADSTS70021" in refused["error_description"]
    expired = mint_federated_token(
        sim.state, subject="repo:contoso/mail:ref:refs/heads/main", lifetime=-60
    )
    late = confidential(
        sim, tenant, read.client_id, {"client_assertion": lambda: expired}
    ).acquire_token_for_client(SCOPE)
    assert "AADSTS700024" in late["error_description"]


def test_device_code_pending_then_approved(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0001")
    public = sim.apps[2]
    session = pinned_session(sim.ca_path)
    app = public_client(sim, tenant, session)
    flow = app.initiate_device_flow(scopes=SCOPE)
    assert flow["user_code"] in flow["message"]
    pending = session.post(
        f"{sim.url}/{tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": public.client_id,
            "device_code": flow["device_code"],
        },
        timeout=10,
    ).json()
    assert pending["error"] == "authorization_pending"
    assert sim.approve_device_code("exadmin@tenant-0001.example.com") == flow["user_code"]
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert claims(result["access_token"])["upn"] == "exadmin@tenant-0001.example.com"
    token = result["access_token"]
    assert invoke(sim, tenant, token, "Get-InboundConnector").status_code == 200
    assert (
        invoke(sim, tenant, token, "Remove-InboundConnector", Identity="Partner TLS").status_code
        == 403
    )


def test_device_code_denied(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0001")
    app = public_client(sim, tenant, pinned_session(sim.ca_path))
    flow = app.initiate_device_flow(scopes=SCOPE)
    sim.approve_device_code("someone@example.com", deny=True)
    result = app.acquire_token_by_device_flow(flow)
    assert result["error"] == "authorization_declined"


def test_other_clouds_get_their_own_audience(sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory(tenants=2)
    tenant = sim.tenant("tenant-0002")
    tenant.cloud = "gcc-high"
    read = sim.apps[0]
    app = confidential(sim, tenant, read.client_id, read.secret)
    wrong = app.acquire_token_for_client(SCOPE)
    assert "AADSTS500011" in wrong["error_description"]
    right = app.acquire_token_for_client(["https://outlook.office365.us/.default"])
    assert claims(right["access_token"])["aud"] == "https://outlook.office365.us"
    assert invoke(sim, tenant, right["access_token"], "Get-InboundConnector").status_code == 200
    # A global-cloud token for another tenant is refused.
    other = confidential(sim, sim.tenant("tenant-0001"), read.client_id, read.secret)
    token = other.acquire_token_for_client(SCOPE)["access_token"]
    assert invoke(sim, tenant, token, "Get-InboundConnector").status_code == 401


def test_app_without_grant_or_role(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0003")
    extra = sim.state.add_app(App("aaaaaaaa-0000-4000-8000-000000000001", "no-role", secret="s"))
    tenant.grants[extra.client_id] = Grant(role="none")
    token = confidential(sim, tenant, extra.client_id, "s").acquire_token_for_client(SCOPE)
    assert invoke(sim, tenant, token["access_token"], "Get-InboundConnector").status_code == 403
    tenant.grants[extra.client_id] = Grant(role="read", manage_as_app=False)
    token = confidential(sim, tenant, extra.client_id, "s").acquire_token_for_client(
        SCOPE, claims_challenge=None
    )
    fresh = msal.ConfidentialClientApplication(
        extra.client_id,
        client_credential="s",
        authority=f"{sim.url}/{tenant.tenant_id}",
        instance_discovery=False,
        http_client=pinned_session(sim.ca_path),
    ).acquire_token_for_client(SCOPE)
    response = invoke(sim, tenant, fresh["access_token"], "Get-InboundConnector")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_certificate_with_public_certificate_signs_ps256(sim: Simulator) -> None:
    """msal 1.39 signs with PS256 and an x5t#S256 header when given the certificate only."""
    tenant = sim.tenant("tenant-0002")
    write = sim.apps[1]
    pair = sim.state.app_certificate(write.client_id)
    seen: list[str] = []
    session = pinned_session(sim.ca_path)

    def spy(response: Any, *args: Any, **kwargs: Any) -> Any:
        body = response.request.body or ""
        if isinstance(body, str) and "client_assertion=" in body:
            assertion = body.split("client_assertion=")[1].split("&")[0]
            seen.append(jwt.get_unverified_header(assertion)["alg"])
        return response

    session.hooks["response"].append(spy)
    app = msal.ConfidentialClientApplication(
        write.client_id,
        client_credential={
            "private_key": pair.key_pem.decode(),
            "public_certificate": pair.cert_pem.decode(),
        },
        authority=f"{sim.url}/{tenant.tenant_id}",
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_for_client(SCOPE)
    assert "access_token" in result, result
    assert seen == ["PS256"]


def test_device_code_approved_over_http(sim: Simulator) -> None:
    """A test driving `driftguard sim serve` in a subprocess approves through the admin route."""
    tenant = sim.tenant("tenant-0001")
    session = pinned_session(sim.ca_path)
    app = public_client(sim, tenant, session)
    flow = app.initiate_device_flow(scopes=SCOPE)
    approved = session.post(
        f"{sim.url}/_sim/devicecode/approve",
        json={"user_code": flow["user_code"], "user": "exadmin@example.com", "role": "write"},
        timeout=10,
    )
    assert approved.json() == {"approved": True}
    result = app.acquire_token_by_device_flow(flow)
    assert claims(result["access_token"])["wids"] == [EXCHANGE_ADMIN]
    again = session.post(
        f"{sim.url}/_sim/devicecode/approve", json={"user_code": flow["user_code"]}, timeout=10
    )
    assert again.status_code == 404


def test_github_actions_oidc_endpoint(sim: Simulator) -> None:
    tenant = sim.tenant("tenant-0001")
    session = pinned_session(sim.ca_path)
    url = sim.actions_id_token_request_url + "&audience=api://AzureADTokenExchange"
    request_token = sim.state.knobs.actions_request_token
    assert (
        session.get(url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    )
    issued = session.get(url, headers={"Authorization": f"Bearer {request_token}"}, timeout=10)
    assertion = issued.json()["value"]
    assert claims(assertion)["sub"] == sim.state.knobs.github_subject
    assert claims(assertion)["aud"] == "api://AzureADTokenExchange"
    for app in sim.apps[:2]:
        result = confidential(
            sim, tenant, app.client_id, {"client_assertion": lambda: assertion}
        ).acquire_token_for_client(SCOPE)
        assert "access_token" in result, result
