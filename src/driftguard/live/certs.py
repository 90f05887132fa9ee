"""Client certificates for app-only sign-in: a PEM with its key, or a PFX/PKCS#12 with a password.

Both become one unencrypted PKCS#8 key and the matching certificate in PEM, which msal signs the
client assertion with (and sends as ``x5c``). Errors name the file, never the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from driftguard.errors import AuthError

_KEY_BLOCK = re.compile(
    rb"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL
)
_CERT_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


@dataclass(frozen=True)
class LoadedCertificate:
    private_key_pem: str = field(repr=False)
    certificate_pem: str
    thumbprint_sha1: str


def load_certificate(data: bytes, password: bytes | None, path: str) -> LoadedCertificate:
    """Parse a PEM (key + certificate) or PFX file; raise AuthError naming ``path``."""
    key: object
    certs: list[x509.Certificate]
    if b"-----BEGIN" in data:
        key_match = _KEY_BLOCK.search(data)
        if key_match is None:
            raise AuthError(
                f"certificate file {path} has no private key",
                hint="use a PEM file holding both the private key and the certificate, or a PFX",
            )
        try:
            key = serialization.load_pem_private_key(key_match.group(0), password)
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
            raise AuthError(
                f"cannot open the PFX file {path}: wrong password or not a PKCS#12 file",
                hint="set auth.certificate_password_env to the name of a variable holding the "
                "password",
            ) from None
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
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return LoadedCertificate(
        private_key_pem=key_pem,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        thumbprint_sha1=cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
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
