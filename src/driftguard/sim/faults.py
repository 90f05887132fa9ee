"""Service faults the simulator can emit, decided per tenant with a seeded, reproducible draw.

``rate`` is the share of requests hit (1 = every request). Each (tenant, fault) pair has its own
counter, so a given seed and request sequence always hits the same requests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from driftguard.sim.http import Request, Response
from driftguard.sim.state import SimState, TenantState

# Faults decided before the handler runs, in this order (the first hit answers).
PRE_FAULTS: tuple[str, ...] = (
    "foreign-redirect",
    "regional-redirect",
    "reset",
    "timeout",
    "throttle",
    "throttle-no-retry-after",
    "concurrency-limit",
    "unavailable",
    "html-error",
    "forbidden-nonjson",
)

REGIONAL_PREFIX = "/regional/"
FOREIGN_PREFIX = "/foreign"
_REGIONAL = re.compile(r"/regional/[^/]+(?P<rest>/.*)")


def rates(sim: SimState, tenant: TenantState | None) -> Mapping[str, float]:
    if tenant is not None and tenant.faults is not None:
        return tenant.faults
    return sim.knobs.faults


def hit(sim: SimState, tenant: TenantState | None, name: str) -> bool:
    """Whether this request is hit by fault ``name`` (counts the draw)."""
    rate = rates(sim, tenant).get(name, 0.0)
    if rate <= 0:
        return False
    key = (tenant.name if tenant else "", name)
    with sim.lock:
        n = sim.fault_counters[key]
        sim.fault_counters[key] = n + 1
    if rate >= 1:
        return True
    digest = hashlib.sha256(f"{sim.knobs.seed}:{key[0]}:{name}:{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def strip_regional(path: str) -> tuple[str, bool]:
    match = _REGIONAL.fullmatch(path)
    return (match.group("rest"), True) if match else (path, False)


def _error(status: int, code: str, message: str) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message}})


def pre_fault(
    sim: SimState, tenant: TenantState | None, request: Request, regional: bool
) -> Response | None:
    """The fault response for this request, or None to serve it normally."""
    for name in PRE_FAULTS:
        if name in ("regional-redirect", "foreign-redirect") and regional:
            continue
        if not hit(sim, tenant, name):
            continue
        response = _respond(sim, tenant, request, name)
        if response is not None:
            return response
    return None


def _respond(
    sim: SimState, tenant: TenantState | None, request: Request, name: str
) -> Response | None:
    target = request.path + (f"?{request.query}" if request.query else "")
    host, _, port = request.host.partition(":")
    port_part = f":{port}" if port else ""
    match name:
        case "regional-redirect":
            count = sim.fault_counters[(tenant.name if tenant else "", name)]
            location = f"https://{host}{port_part}{REGIONAL_PREFIX}nampr01{target}"
            return Response(302 if count % 2 else 307, b"", [("Location", location)])
        case "foreign-redirect":
            foreign = "127.0.0.1" if host != "127.0.0.1" else "localhost"
            location = f"https://{foreign}{port_part}{FOREIGN_PREFIX}{target}"
            return Response(307, b"", [("Location", location)])
        case "reset":
            return Response(0, reset=True)
        case "timeout":
            sim.stopping.wait(sim.knobs.timeout_seconds)
            return _error(504, "GatewayTimeout", "The operation timed out.")
        case "throttle":
            count = sim.fault_counters[(tenant.name if tenant else "", name)]
            response = _error(
                429, "TooManyRequests", "Too many requests. Please retry after some time."
            )
            response.headers.append(("Retry-After", str(sim.knobs.retry_after)))
            if count % 2 == 1:  # the first hit, the third, ...
                response.headers += [
                    ("Rate-Limit-Limit", "100"),
                    ("Rate-Limit-Remaining", "0"),
                    ("Rate-Limit-Reset", str(sim.knobs.retry_after)),
                ]
            return response
        case "throttle-no-retry-after":
            return _error(429, "TooManyRequests", "Too many requests.")
        case "concurrency-limit":
            text = (
                "Fail to create a runspace because you have exceeded the maximum number of "
                "concurrent requests per tenant. Please wait for the other requests to complete."
            )
            return Response.text(429, text)
        case "unavailable":
            return _error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        case "html-error":
            page = (
                "<!DOCTYPE html><html><head><title>Runtime Error</title></head><body>"
                "<h1>Server Error in '/adminapi' Application.</h1><h2><i>Runtime Error</i></h2>"
                "</body></html>"
            )
            return Response.text(500, page, "text/html; charset=utf-8")
        case "forbidden-nonjson":
            return Response.text(403, "Forbidden")
    return None
