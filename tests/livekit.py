"""Helpers for the live-read tests: tenant configs pointing at the simulator, credentials."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from driftguard.baseline.load import load_baseline
from driftguard.live.exchange import RetryPolicy
from driftguard.model import TenantConfig
from driftguard.sim import Simulator

# Fast retries for tests: tiny backoff, short timeouts, a few attempts.
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, deadline=20, read_timeout=1.0)


def config_for(
    sim: Simulator, folder: Path, tenant: str = "tenant-0001", **auth: Any
) -> TenantConfig:
    """The tenant's config from a simulator-written baseline; ``auth`` replaces its auth block."""
    root = folder / "baseline"
    if not (root / tenant / "tenant.yaml").exists():
        sim.write_baseline(root)
    config = load_baseline(root, [tenant]).tenants[tenant].config
    if auth:
        config = dataclasses.replace(config, auth=auth)
    return config


def read_app(sim: Simulator) -> Any:
    return sim.apps[0]


def encrypted_key_files(sim: Simulator, folder: Path, password: bytes) -> tuple[Path, Path]:
    """The read app's certificate as a password-protected PFX and an encrypted PEM."""
    pair = sim.state.app_certificate(read_app(sim).client_id)
    key = serialization.load_pem_private_key(pair.key_pem, password=None)
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    pfx = pkcs12.serialize_key_and_certificates(
        b"driftguard",
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(password),  # type: ignore[arg-type]
    )
    pem = (
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )
        + pair.cert_pem
    )
    pfx_path, pem_path = folder / "app.pfx", folder / "app-encrypted.pem"
    pfx_path.write_bytes(pfx)
    pem_path.write_bytes(pem)
    return pfx_path, pem_path


class Sleeps:
    """An injected sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# --------------------------------------------------------------------------- the fault matrix

# Faults that, hitting every request, must end in an error for that tenant.
FATAL: tuple[str, ...] = (
    "throttle",
    "throttle-no-retry-after",
    "concurrency-limit",
    "unavailable",
    "reset",
    "timeout",
    "truncated-json",
    "html-error",
    "forbidden-nonjson",
    "warnings",
    "nextlink",
    "foreign-redirect",
)
# Faults the client must survive, ending in the same verdict as a clean read.
RECOVERABLE: tuple[dict[str, float], ...] = (
    {"token-expiry": 1.0},
    {"regional-redirect": 1.0},
    {"throttle": 0.5},
    {"reset": 0.5},
    {"unavailable": 0.5},
    {"truncated-json": 0.5},
    {"html-error": 0.4},
)
CLEAN = 2
MATRIX_TENANTS = len(FATAL) + len(RECOVERABLE) + CLEAN
# What each fatal fault must be reported as (a phrase of the error text).
CAUSES: dict[str, str] = {
    "throttle": "HTTP 429",
    "throttle-no-retry-after": "HTTP 429",
    "concurrency-limit": "maximum number of concurrent requests",
    "unavailable": "HTTP 503",
    "reset": "connection reset",
    "timeout": "read timeout",
    "truncated-json": "not valid JSON",
    "html-error": "HTTP 500",
    "forbidden-nonjson": "HTTP 403",
    "warnings": "may be incomplete",
    "nextlink": "nextLink",
    "foreign-redirect": "redirected to 127.0.0.1",
}


def tenant_name(i: int) -> str:
    return f"tenant-{i:04d}"


def arm_faults(sim: Simulator) -> tuple[dict[str, str], dict[str, dict[str, float]]]:
    """Give each matrix tenant its fault; returns (tenant -> fatal fault, tenant -> recoverable)."""
    fatal: dict[str, str] = {}
    recoverable: dict[str, dict[str, float]] = {}
    for i, fault in enumerate(FATAL, start=1):
        sim.tenant(tenant_name(i)).faults = {fault: 1.0}
        fatal[tenant_name(i)] = fault
    for j, faults in enumerate(RECOVERABLE, start=len(FATAL) + 1):
        sim.tenant(tenant_name(j)).faults = dict(faults)
        recoverable[tenant_name(j)] = faults
    return fatal, recoverable


MATRIX_KNOBS = {"timeout_seconds": 2.0, "retry_after": 1}
MATRIX_ARGS = ["--deadline", "3", "--concurrency", "32"]
