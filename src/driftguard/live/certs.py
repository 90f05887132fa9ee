"""Client certificates for app-only sign-in: a PEM with its key, or a PFX/PKCS#12 with a password.

Both become the loaded private key and the matching certificate in PEM, which msal signs the
client assertion with (and sends as ``x5c``). Errors name the file, never the password.

Loading an RSA key validates it, which costs tens of milliseconds; a run over hundreds of tenants
usually shares one certificate file, so loaded files are cached per process (keyed by path, size,
modification time and a digest of the password). Across processes (a scheduled job, the demo's
cold start), an unencrypted PEM key that passed the checks once is not checked again: the SHA-256
of its PEM block is remembered in ``$XDG_CACHE_HOME/driftguard/checked-keys.json`` (owner-only;
the checks depend on those bytes alone). An unreadable or unwritable cache only means the checks
are made again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from driftguard import jsonsafe
from driftguard.errors import AuthError, JsonError, OutputError
from driftguard.fsutil import write_atomic

_KEY_BLOCK = re.compile(
    rb"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL
)
_CERT_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


@dataclass(frozen=True)
class LoadedCertificate:
    private_key: Any = field(repr=False)  # a cryptography private key object
    certificate_pem: str
    thumbprint_sha1: str


_CACHE: dict[tuple[str, int, int, str], LoadedCertificate] = {}
_CACHE_LOCK = threading.Lock()


def load_certificate_file(path: Path, password: bytes | None) -> LoadedCertificate:
    """:func:`load_certificate` of a file, cached while the file is unchanged."""
    try:
        stat = path.stat()
        key = (
            str(path.resolve()),
            stat.st_size,
            stat.st_mtime_ns,
            hashlib.sha256(password or b"").hexdigest(),
        )
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
        if cached is not None:
            return cached
        data = path.read_bytes()
    except OSError as exc:
        raise AuthError(f"cannot read certificate {path}: {exc.strerror}") from None
    loaded = load_certificate(data, password, str(path))
    with _CACHE_LOCK:
        _CACHE[key] = loaded
    return loaded


def load_certificate(data: bytes, password: bytes | None, path: str) -> LoadedCertificate:
    """Parse a PEM (key + certificate) or PFX file; raise AuthError naming ``path``."""
    key: object
    certs: list[x509.Certificate]
    data = _pem_text(data)
    if b"-----BEGIN" in data:
        key_match = _KEY_BLOCK.search(data)
        if key_match is None:
            raise AuthError(
                f"certificate file {path} has no private key",
                hint="use a PEM file holding both the private key and the certificate, or a PFX",
            )
        try:
            key = _pem_private_key(key_match.group(0), password)
        except TypeError:
            raise AuthError(
                f"the private key in {path} is encrypted and no password was given",
                hint="set auth.certificate_password_env to the name of a variable holding it",
            ) from None
        except ValueError:
            raise AuthError(
                f"cannot load the private key in {path}: wrong password or unsupported key"
            ) from None
        certs = []
        for block in _CERT_BLOCK.findall(data):
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                raise AuthError(f"{path} holds an unreadable certificate") from None
    else:
        try:
            loaded = pkcs12.load_key_and_certificates(data, password)
        except (ValueError, TypeError):
            raise _not_pfx(data, path) from None
        key, first, extra = loaded
        certs = ([first] if first else []) + list(extra or [])
        if key is None:
            raise AuthError(f"the PFX file {path} has no private key")
    if not certs:
        raise AuthError(
            f"certificate file {path} has no certificate",
            hint="the public certificate is sent with each sign-in (x5c); put it in the file",
        )
    cert = _matching(key, certs)
    return LoadedCertificate(
        private_key=key,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        thumbprint_sha1=cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
    )


_CHECKED_MAX = 64  # digests remembered, the latest kept
_CHECKED_BYTES = 16 * 1024  # a larger cache file is not read


def _pem_private_key(block: bytes, password: bytes | None) -> Any:
    """The key of a PEM block, its consistency checks made once per key (module docstring)."""
    if password is not None:  # an encrypted key: nothing derived from it is written anywhere
        return serialization.load_pem_private_key(block, password)
    digest = hashlib.sha256(block).hexdigest()
    path = _checked_path()
    known = _checked_digests(path)
    if digest in known:
        return serialization.load_pem_private_key(block, None, unsafe_skip_rsa_key_validation=True)
    key = serialization.load_pem_private_key(block, None)
    try:
        payload = json.dumps({"sha256": [*known, digest][-_CHECKED_MAX:]})
        write_atomic(path, payload, mode=0o600)
    except OutputError:
        pass  # a read-only home: the checks are made again next time
    return key


def _checked_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "driftguard" / "checked-keys.json"


def _checked_digests(path: Path) -> list[str]:
    """The digests the cache file holds; none if it is missing, too large or not ours."""
    try:
        with path.open("rb") as fh:
            data = fh.read(_CHECKED_BYTES + 1)
    except OSError:
        return []
    if len(data) > _CHECKED_BYTES:
        return []
    try:
        value = jsonsafe.loads(data, source=str(path))
    except JsonError:
        return []
    digests = value.get("sha256") if isinstance(value, dict) else None
    if not isinstance(digests, list):
        return []
    return [d for d in digests if isinstance(d, str) and _DIGEST.fullmatch(d)]


_DIGEST = re.compile("[0-9a-f]{64}")


def _pem_text(data: bytes) -> bytes:
    """A PEM saved with a byte-order mark or as UTF-16 (Windows PowerShell's ``Out-File``
    default), as the ASCII it holds; anything else unchanged."""
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                return data
            return text.encode("ascii", "replace") if "-----BEGIN" in text else data
    return data


def _not_pfx(data: bytes, path: str) -> AuthError:
    """Why ``data``, which is not PEM, did not open as a PFX: said by what the file holds."""
    if not data.startswith(b"\x30"):  # every PKCS#12 file is a DER SEQUENCE
        return AuthError(
            f"certificate file {path} is neither a PEM nor a PFX (PKCS#12) file",
            hint="use a PEM file holding the private key and the certificate, or a PFX",
        )
    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        return AuthError(
            f"cannot open the PFX file {path}: wrong password or a damaged file",
            hint="set auth.certificate_password_env to the name of a variable holding the password",
        )
    return AuthError(
        f"certificate file {path} holds a certificate (DER) without its private key",
        hint="use a PEM file holding the private key and the certificate, or a PFX",
    )


def _matching(key: object, certs: list[x509.Certificate]) -> x509.Certificate:
    """The certificate whose public key belongs to ``key`` (else the first one)."""
    try:
        wanted = key.public_key().public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except AttributeError:  # pragma: no cover - every supported key type has a public key
        return certs[0]
    for cert in certs:
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if spki == wanted:
            return cert
    return certs[0]
