"""Sign-in through the real msal stack against the simulated Entra ID over HTTPS (trustme CA).

Every method: certificate (PEM, encrypted PEM, PFX with password), client secret, workload
identity federation (token file and the GitHub Actions OIDC endpoint), device code driven by the
test; and msal's errors turned into AuthError with a hint.
"""

from __future__ import annotations

import dataclasses
import io
import json
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from driftguard.errors import AuthError
from driftguard.live.auth import credential_for, token_provider
from driftguard.live.clouds import resolve
from driftguard.live.http import make_session
from driftguard.live.service import ExchangeSource
from driftguard.model import TenantConfig
from driftguard.sim import Simulator
from driftguard.sim.state import FederatedCredential, Grant
from driftguard.sim.tls import make_app_certificate
from driftguard.sim.tokens import FEDERATED_ISSUER, mint_federated_token
from livekit import FAST, config_for, encrypted_key_files, read_app

SUBJECT = "repo:contoso/connectors:ref:refs/heads/main"


def names(sim: Simulator, tenant: str = "tenant-0001") -> list[str]:
    return sorted(str(c["Name"]) for c in sim.tenant(tenant).connectors)


def read_names(config: TenantConfig, **kwargs: object) -> list[str]:
    snapshot = ExchangeSource(policy=FAST, **kwargs).snapshot(config)  # type: ignore[arg-type]
    assert snapshot.source == f"exchange:https://{config.endpoints.exchange_host}"
    return sorted(str(r["Name"]) for r in snapshot.records)


def sign_in_error(config: TenantConfig, env: dict[str, str] | None = None) -> AuthError:
    endpoints = resolve(config)
    with make_session(endpoints.ca_bundle) as session:
        provider = token_provider(config, endpoints, session, env=env or {})
        with pytest.raises(AuthError) as info:
            provider.token()
    return info.value


# --------------------------------------------------------------------------- certificates


def test_certificate_pem_with_key(sim: Simulator, tmp_path: Path) -> None:
    config = config_for(sim, tmp_path)
    assert config.auth["certificate_path"].endswith("read.pem")
    assert read_names(config) == names(sim)
    tokens = [r for r in sim.requests_log if r.endpoint == "token"]
    assert [r.status for r in tokens] == [200]


@pytest.mark.parametrize("form", ["pfx", "encrypted-pem"])
def test_certificate_with_password(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    pfx, pem = encrypted_key_files(sim, tmp_path, b"pfx-pass-123")
    monkeypatch.setenv("DG_CERT_PASSWORD", "pfx-pass-123")
    monkeypatch.setenv("DG_CERT", str(pfx if form == "pfx" else pem))
    config = config_for(
        sim,
        tmp_path,
        client_id=read_app(sim).client_id,
        certificate_path_env="DG_CERT",
        certificate_password_env="DG_CERT_PASSWORD",
    )
    assert read_names(config) == names(sim)


def test_a_pem_saved_as_utf16_by_windows_powershell_signs_in(
    sim: Simulator, tmp_path: Path
) -> None:
    config = config_for(sim, tmp_path)
    pem = Path(config.auth["certificate_path"]).read_text(encoding="ascii")
    utf16 = tmp_path / "read-utf16.pem"
    utf16.write_bytes(b"\xff\xfe" + pem.encode("utf-16-le"))  # Out-File's default encoding
    assert read_names(
        dataclasses.replace(config, auth={**config.auth, "certificate_path": str(utf16)})
    ) == names(sim)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("der-certificate", "holds a certificate (DER) without its private key"),
        ("key-only-text", "is neither a PEM nor a PFX (PKCS#12) file"),
    ],
)
def test_a_certificate_file_that_is_no_pfx_is_not_called_a_pfx(
    sim: Simulator, tmp_path: Path, content: str, said: str
) -> None:
    config = config_for(sim, tmp_path)
    pem = Path(config.auth["certificate_path"]).read_bytes()
    path = tmp_path / "app.cer"
    if content == "der-certificate":
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = x509.load_pem_x509_certificate(pem[pem.index(b"-----BEGIN CERTIFICATE") :])
        path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    else:
        path.write_text("thumbprint: 0123456789ABCDEF\n", encoding="ascii")
    error = sign_in_error(
        dataclasses.replace(config, auth={**config.auth, "certificate_path": str(path)})
    )
    assert said in error.message and str(path) in error.message
    assert "wrong password" not in error.message


def test_wrong_certificate_password_names_the_file_not_the_password(
    sim: Simulator, tmp_path: Path
) -> None:
    pfx, _ = encrypted_key_files(sim, tmp_path, b"right-password")
    config = config_for(
        sim,
        tmp_path,
        client_id=read_app(sim).client_id,
        certificate_path=str(pfx),
        certificate_password_env="DG_PW",
    )
    error = sign_in_error(config, {"DG_PW": "wrong-password-42"})
    assert str(pfx) in error.message
    assert "wrong password" in error.message
    assert "wrong-password-42" not in " ".join(error.lines())
    missing = sign_in_error(config, {})
    assert "DG_PW" in missing.message


def test_certificate_not_registered_on_the_app(sim: Simulator, tmp_path: Path) -> None:
    other = make_app_certificate("someone else")
    path = tmp_path / "other.pem"
    path.write_bytes(other.combined_pem)
    config = config_for(
        sim, tmp_path, client_id=read_app(sim).client_id, certificate_path=str(path)
    )
    error = sign_in_error(config)
    assert "AADSTS700027" in error.message
    assert error.hint is not None and "upload the certificate" in error.hint


def test_missing_certificate_file(sim: Simulator, tmp_path: Path) -> None:
    config = config_for(
        sim, tmp_path, client_id=read_app(sim).client_id, certificate_path=str(tmp_path / "no.pem")
    )
    error = sign_in_error(config)
    assert "cannot read certificate" in error.message
    assert "no.pem" in error.message


# --------------------------------------------------------------------------- secrets


def test_client_secret_from_a_named_variable(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_SECRET", str(read_app(sim).secret))
    config = config_for(
        sim, tmp_path, client_id=read_app(sim).client_id, client_secret_env="DG_SECRET"
    )
    assert read_names(config) == names(sim)


def test_client_secret_from_the_usual_azure_variables(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", read_app(sim).client_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", str(read_app(sim).secret))
    config = dataclasses.replace(config_for(sim, tmp_path), auth={})
    assert credential_for(config).method == "secret"
    assert read_names(config) == names(sim)


def test_wrong_secret_gets_the_aadsts_hint(sim: Simulator, tmp_path: Path) -> None:
    config = config_for(sim, tmp_path, client_id=read_app(sim).client_id, client_secret_env="S")
    error = sign_in_error(config, {"S": "not-the-secret"})
    assert "invalid_client" in error.message
    assert "AADSTS7000215" in error.message
    assert error.hint is not None and "Value (not its ID)" in error.hint
    assert "not-the-secret" not in " ".join(error.lines())


# --------------------------------------------------------------------------- federation


def federate(sim: Simulator) -> str:
    app = read_app(sim)
    app.federated.append(FederatedCredential(issuer=FEDERATED_ISSUER, subject=SUBJECT))
    return mint_federated_token(sim.state, subject=SUBJECT)


def test_federated_token_file(sim: Simulator, tmp_path: Path) -> None:
    token_file = tmp_path / "federated.jwt"
    token_file.write_text(federate(sim) + "\n")
    config = config_for(
        sim, tmp_path, client_id=read_app(sim).client_id, federated_token_file=str(token_file)
    )
    assert credential_for(config).method == "federated"
    assert read_names(config) == names(sim)


def test_federated_token_for_another_subject_is_refused(sim: Simulator, tmp_path: Path) -> None:
    federate(sim)
    token_file = tmp_path / "federated.jwt"
    token_file.write_text(mint_federated_token(sim.state, subject="repo:evil/fork:pull_request"))
    config = config_for(
        sim, tmp_path, client_id=read_app(sim).client_id, federated_token_file=str(token_file)
    )
    error = sign_in_error(config)
    assert "AADSTS70021" in error.message
    assert error.hint is not None and "federated identity credential" in error.hint


@pytest.fixture
def github_oidc(
    sim_tls: tuple[Path, Path, bytes],
) -> Iterator[Callable[[str], tuple[str, list[dict[str, str]]]]]:
    """A stand-in for GitHub Actions' OIDC token endpoint over HTTPS; returns (url, requests)."""
    servers: list[ThreadingHTTPServer] = []

    def start(token: str) -> tuple[str, list[dict[str, str]]]:
        seen: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                seen.append(
                    {
                        "authorization": self.headers.get("Authorization", ""),
                        "audience": query.get("audience", [""])[0],
                    }
                )
                ok = self.headers.get("Authorization") == "bearer request-token-1"
                body = json.dumps({"value": token} if ok else {"message": "no"}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(sim_tls[0]), str(sim_tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        port = server.server_address[1]
        return f"https://localhost:{port}/_apis/token?api-version=2.0", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_github_actions_oidc_token(
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    github_oidc: Callable[[str], tuple[str, list[dict[str, str]]]],
) -> None:
    url, seen = github_oidc(federate(sim))
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", url)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-1")
    config = config_for(sim, tmp_path, client_id=read_app(sim).client_id)
    credential = credential_for(config)
    assert credential.method == "federated"
    assert credential.federated_token_file is None
    assert read_names(config) == names(sim)
    assert seen == [
        {"authorization": "bearer request-token-1", "audience": "api://AzureADTokenExchange"}
    ]


def test_github_actions_without_id_token_permission(
    sim: Simulator,
    tmp_path: Path,
    github_oidc: Callable[[str], tuple[str, list[dict[str, str]]]],
) -> None:
    url, _ = github_oidc("unused")
    config = config_for(sim, tmp_path, client_id=read_app(sim).client_id, method="federated")
    env = {"ACTIONS_ID_TOKEN_REQUEST_URL": url, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "wrong"}
    error = sign_in_error(config, env)
    assert "HTTP 401" in error.message
    assert error.hint is not None and "id-token: write" in error.hint


# --------------------------------------------------------------------------- device code


def test_device_code_sign_in_driven_by_the_test(sim: Simulator, tmp_path: Path) -> None:
    public = sim.apps[2]
    config = config_for(sim, tmp_path, client_id=public.client_id, method="device_code")
    shown: list[str] = []

    def prompt(message: str) -> None:
        shown.append(message)
        threading.Timer(
            0.2, sim.approve_device_code, args=("exadmin@tenant-0001.example.com",)
        ).start()

    assert read_names(config, device_code_prompt=prompt) == names(sim)
    assert len(shown) == 1
    assert "enter the code" in shown[0].lower() or "code" in shown[0].lower()


def test_device_code_is_inferred_only_for_a_person_at_a_terminal(
    sim: Simulator, tmp_path: Path
) -> None:
    config = dataclasses.replace(config_for(sim, tmp_path), auth={"client_id": "x"})
    assert credential_for(config, env={}, interactive=True).method == "device_code"
    with pytest.raises(AuthError, match="no credential configured") as info:
        credential_for(config, env={})
    assert info.value.hint is not None and "AZURE_CLIENT_SECRET" in info.value.hint


def test_declined_device_code(sim: Simulator, tmp_path: Path) -> None:
    config = config_for(sim, tmp_path, client_id=sim.apps[2].client_id, method="device_code")

    def prompt(message: str) -> None:
        sim.approve_device_code("x@y", deny=True)  # the person says no before the first poll

    endpoints = resolve(config)
    with make_session(endpoints.ca_bundle) as session:
        provider = token_provider(config, endpoints, session, device_code_prompt=prompt, env={})
        with pytest.raises(AuthError, match="authorization_declined") as info:
            provider.token()
    assert info.value.hint == "the person declined the sign-in"


# --------------------------------------------------------------------------- directory errors


def test_unknown_application(sim: Simulator, tmp_path: Path) -> None:
    config = config_for(
        sim, tmp_path, client_id="11111111-2222-3333-4444-555555555555", client_secret_env="S"
    )
    error = sign_in_error(config, {"S": "whatever-secret"})
    assert "AADSTS700016" in error.message
    assert error.hint is not None and "client_id" in error.hint


def test_unknown_tenant(sim: Simulator, tmp_path: Path) -> None:
    config = dataclasses.replace(
        config_for(sim, tmp_path), tenant_id="99999999-9999-4999-8999-999999999999"
    )
    error = sign_in_error(config)
    assert "does not know tenant 99999999-9999-4999-8999-999999999999" in error.message
    assert error.hint is not None and "tenant not found" in error.hint


def test_missing_admin_consent(sim: Simulator, tmp_path: Path) -> None:
    app = read_app(sim)
    sim.tenant("tenant-0001").grants[app.client_id] = Grant(consented=False)
    error = sign_in_error(config_for(sim, tmp_path))
    assert "AADSTS65001" in error.message
    assert error.hint is not None and "admin consent" in error.hint


def test_without_the_ca_bundle_tls_verification_fails(sim: Simulator, tmp_path: Path) -> None:
    config = config_for(sim, tmp_path)
    config = dataclasses.replace(
        config, endpoints=dataclasses.replace(config.endpoints, ca_bundle=None)
    )
    error = sign_in_error(config)
    assert "TLS verification failed" in error.message


# --------------------------------------------------------------------------- configuration


def test_write_credential_uses_auth_write_and_falls_back_to_read(
    sim: Simulator, tmp_path: Path
) -> None:
    config = config_for(sim, tmp_path)
    write = credential_for(config, purpose="write", env={})
    assert write.client_id == sim.apps[1].client_id
    assert write.certificate_path is not None and write.certificate_path.endswith("write.pem")
    read_only = dataclasses.replace(config, auth={"client_id": "abc", "client_secret_env": "S"})
    fallback = credential_for(read_only, purpose="write", env={})
    assert (fallback.client_id, fallback.method, fallback.purpose) == ("abc", "secret", "write")
    inherits = dataclasses.replace(
        config, auth={"client_id": "abc", "write": {"client_secret_env": "W"}}
    )
    assert credential_for(inherits, purpose="write", env={}).client_id == "abc"


def test_writes_through_the_write_credential(sim: Simulator, tmp_path: Path) -> None:
    config = config_for(sim, tmp_path)
    source = ExchangeSource(policy=FAST)
    with source.client(config, purpose="write") as client:
        client.invoke("Set-InboundConnector", {"Identity": names(sim)[0], "Comment": "via write"})
    with source.client(config) as client:
        changed = client.invoke("Get-InboundConnector", {"Identity": names(sim)[0]})
    assert [r["Comment"] for r in changed] == ["via write"]


def test_a_path_variable_that_is_not_set(tmp_path: Path) -> None:
    config = TenantConfig(
        name="t", tenant_id="tid", auth={"client_id": "c", "certificate_path_env": "NOPE"}
    )
    with pytest.raises(AuthError, match="environment variable NOPE is not set"):
        credential_for(config, env={})


def test_repr_holds_no_secret(sim: Simulator, tmp_path: Path) -> None:
    read_app(sim).secret = "canary-secret-77"
    config = config_for(sim, tmp_path, client_id=read_app(sim).client_id, client_secret_env="S")
    endpoints = resolve(config)
    with make_session(endpoints.ca_bundle) as session:
        provider = token_provider(config, endpoints, session, env={"S": "canary-secret-77"})
        token = provider.token()
        assert token.count(".") == 2
        for text in (repr(provider), repr(provider.credential), str(vars(provider.credential))):
            assert "canary-secret-77" not in text
            assert token not in text
        assert provider.redact(f"x canary-secret-77 {token} y") == "x *** *** y"


def _device_code_baseline(sim: Simulator, tmp_path: Path) -> Path:
    """A baseline for tenant-0001 whose auth is the device-code flow of the public app."""
    import yaml

    base = sim.write_baseline(tmp_path / "baseline", tenants=["tenant-0001"])
    path = base / "tenant-0001" / "tenant.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["auth"] = {"client_id": sim.apps[2].client_id, "method": "device_code"}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return base


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Person(_Tty):
    """A terminal with a person at it: the person approves the sign-in when the code is shown
    (the simulator holds the code by then), so no polling loop races the command."""

    def __init__(self, sim: Simulator, user: str) -> None:
        super().__init__()
        self.sim, self.user, self.approved = sim, user, False

    def write(self, text: str) -> int:
        written = super().write(text)
        if not self.approved and "code" in text.lower():
            self.sim.approve_device_code(self.user)
            self.approved = True
        return written


def test_cli_device_code_prompt_goes_to_stderr_on_a_terminal(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftguard.cli import main

    base = _device_code_baseline(sim, tmp_path)
    stderr = _Person(sim, "exadmin@tenant-0001.example.com")
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdin", _Tty())
    code = main(["diff", "--baseline", str(base), "--tenant", "tenant-0001", "--deadline", "20"])
    assert stderr.approved
    assert code in (0, 2)
    assert "code" in stderr.getvalue().lower()
    assert [r.endpoint for r in sim.requests_log].count("devicecode") == 1


def test_cli_without_a_terminal_never_waits_for_a_person(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftguard.cli import main

    base = _device_code_baseline(sim, tmp_path)
    assert main(["diff", "--baseline", str(base), "--tenant", "tenant-0001"]) == 1
    assert "needs a person at a terminal" in capsys.readouterr().err


def test_federated_token_file_from_azure_variables(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(federate(sim))
    monkeypatch.setenv("AZURE_CLIENT_ID", read_app(sim).client_id)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    config = dataclasses.replace(config_for(sim, tmp_path), auth={})
    assert credential_for(config).federated_token_file == str(token_file)
    assert read_names(config) == names(sim)


def test_certificate_from_azure_variables(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(sim, tmp_path)
    monkeypatch.setenv("AZURE_CLIENT_ID", read_app(sim).client_id)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", config.auth["certificate_path"])
    config = dataclasses.replace(config, auth={})
    assert credential_for(config).method == "certificate"
    assert read_names(config) == names(sim)


@pytest.mark.parametrize("cloud", ["global", "gcc-high", "dod", "china"])
def test_each_cloud_asks_for_its_own_exchange_resource(
    sim: Simulator, tmp_path: Path, cloud: str
) -> None:
    sim.tenant("tenant-0001").cloud = cloud
    config = dataclasses.replace(config_for(sim, tmp_path), cloud=cloud)
    assert read_names(config) == names(sim)


def test_a_tenant_in_another_cloud_is_refused_with_a_hint(sim: Simulator, tmp_path: Path) -> None:
    config = config_for(sim, tmp_path)
    assert config.cloud == "global"
    sim.tenant("tenant-0001").cloud = "gcc-high"  # the service says otherwise
    error = sign_in_error(config)
    assert "AADSTS500011" in error.message
    assert "outlook.office365.com" in error.message
    assert error.hint is not None and "cloud" in error.hint
