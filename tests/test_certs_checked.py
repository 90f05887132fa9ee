"""A client key's consistency checks are made once per key, not once per process: a key never
seen is always checked (a broken key is refused), one that passed is remembered by the digest of
its PEM block in an owner-only cache file, and nothing of an encrypted key is written."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from driftguard.errors import AuthError
from driftguard.live import certs
from driftguard.sim.tls import make_app_certificate


def _cache() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "driftguard" / "checked-keys.json"


def _load(path: Path, password: bytes | None = None) -> certs.LoadedCertificate:
    certs._CACHE.clear()  # as a new process would
    return certs.load_certificate_file(path, password)


def _key_block(pem: bytes) -> bytes:
    found = certs._KEY_BLOCK.search(pem)
    assert found is not None
    return found.group(0)


def test_a_checked_key_is_remembered_by_its_digest_only(tmp_path: Path) -> None:
    pair = make_app_certificate("app")
    path = tmp_path / "app.pem"
    path.write_bytes(pair.combined_pem)
    first = _load(path)
    saved = _cache().read_text("utf-8")
    assert json.loads(saved) == {"sha256": [hashlib.sha256(_key_block(pair.key_pem)).hexdigest()]}
    assert "PRIVATE" not in saved
    assert stat.S_IMODE(_cache().stat().st_mode) == 0o600
    again = _load(path)  # read back without the checks: the same key
    assert again.private_key.private_numbers() == first.private_key.private_numbers()
    assert again.thumbprint_sha1 == first.thumbprint_sha1
    assert json.loads(_cache().read_text("utf-8"))["sha256"] == json.loads(saved)["sha256"]


def _broken_pem(tmp_path: Path) -> tuple[Path, bytes]:
    """A PEM whose key fails the checks (its CRT coefficient is wrong), with its certificate."""
    good = make_app_certificate("app")
    key = serialization.load_pem_private_key(good.key_pem, None)
    assert isinstance(key, rsa.RSAPrivateKey)
    n = key.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        n.p, n.q, n.d, n.dmp1, n.dmq1, (n.iqmp + 1) % n.p, n.public_numbers
    ).private_key(unsafe_skip_rsa_key_validation=True)
    block = broken.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "broken.pem"
    path.write_bytes(block + good.cert_pem)
    return path, block


def test_a_key_never_seen_is_checked(tmp_path: Path) -> None:
    path, block = _broken_pem(tmp_path)
    other = make_app_certificate("other")  # a remembered key does not vouch for another
    (tmp_path / "other.pem").write_bytes(other.combined_pem)
    _load(tmp_path / "other.pem")
    with pytest.raises(AuthError, match="cannot load the private key"):
        _load(path)
    digests = json.loads(_cache().read_text("utf-8"))["sha256"]
    assert hashlib.sha256(block).hexdigest() not in digests


def test_nothing_of_an_encrypted_key_is_written(tmp_path: Path) -> None:
    pair = make_app_certificate("app")
    key = serialization.load_pem_private_key(pair.key_pem, None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret-pw"),
    )
    path = tmp_path / "enc.pem"
    path.write_bytes(encrypted + pair.cert_pem)
    _load(path, b"s3cret-pw")
    assert not _cache().exists()


@pytest.mark.parametrize("content", [b"{not json", b'{"sha256": "x"}', b"[" * 20_000])
def test_a_damaged_cache_is_ignored_and_replaced(tmp_path: Path, content: bytes) -> None:
    _cache().parent.mkdir(parents=True, exist_ok=True)
    _cache().write_bytes(content)
    pair = make_app_certificate("app")
    path = tmp_path / "app.pem"
    path.write_bytes(pair.combined_pem)
    _load(path)
    assert len(json.loads(_cache().read_text("utf-8"))["sha256"]) == 1


def test_an_unwritable_cache_only_means_checking_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be", "utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    pair = make_app_certificate("app")
    path = tmp_path / "app.pem"
    path.write_bytes(pair.combined_pem)
    assert _load(path).thumbprint_sha1 == _load(path).thumbprint_sha1
