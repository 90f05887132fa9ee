"""The simulator as one WSGI application: Entra ID and the Exchange admin API on one host.

Serving (``server.py``) and the in-process demo transport (``inprocess.py``) both call it. A
response flagged ``reset`` is raised as :class:`ResetConnection`, which the server turns into a
dropped connection and the in-process transport into a connection error.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from driftguard.sim import (
    admin,
    devicecode,
    entra,
    exchange,
    faults,
    graph_alerts,
    graph_identity,
    hunting,
)
from driftguard.sim.cmdlets import load_all
from driftguard.sim.http import HttpError, Request, Response, find_route
from driftguard.sim.state import RequestRecord, SimState

# Importing the modules registers their routes; keep the names referenced.
_ROUTE_MODULES = (admin, entra, devicecode, exchange, graph_alerts, hunting)
_IDENTITY_ROUTES = (graph_identity,)

StartResponse = Callable[..., Any]
_log = logging.getLogger("driftguard.sim")


class ResetConnection(Exception):
    """The reset fault: drop the connection without an answer."""


class SimApp:
    def __init__(self, sim: SimState) -> None:
        self.sim = sim
        load_all()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        response = self.handle(request_from_environ(environ))
        if response.reset:
            raise ResetConnection
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        headers = [h for h in response.headers if h[0].lower() != "content-length"]
        headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {reason}", headers)
        return [response.body]

    def handle(self, request: Request) -> Response:
        sim = self.sim
        path, regional = faults.strip_regional(request.path)
        if path.startswith(faults.FOREIGN_PREFIX + "/"):
            refused = Response.json(
                401, {"error": {"code": "Unauthorized", "message": "Unknown host."}}
            )
            self._log(request, None, "foreign", refused)
            return refused
        found, match, known = find_route(request.method, path)
        if found is None or match is None:
            status = 405 if known else 404
            missing = Response.json(status, {"error": {"code": "NotFound", "message": path}})
            self._log(request, None, "unknown", missing)
            return missing
        params = {k: v for k, v in match.groupdict().items() if v is not None}
        request = dataclasses.replace(request, path=path, params=params)
        tenant = sim.tenant(params["tenant"]) if "tenant" in params else None
        latency = sim.knobs.latency_ms
        if tenant is not None and tenant.latency_ms is not None:
            latency = tenant.latency_ms
        if latency and (found.faults or sim.knobs.latency_on_entra):
            sim.stopping.wait(latency / 1000)
        response: Response | None = None
        if found.faults:
            response = faults.pre_fault(sim, tenant, request, regional)
        if response is None:
            try:
                response = found.handler(request, sim)
            except HttpError as exc:
                response = exc.response
            except Exception:  # a simulator bug must look like a server error, not a hang-up
                _log.exception("simulator: %s %s failed", request.method, path)
                response = Response.json(
                    500, {"error": {"code": "InternalServerError", "message": "Internal error"}}
                )
        self._log(request, tenant.name if tenant else params.get("tenant"), found.name, response)
        return response

    def _log(self, request: Request, tenant: str | None, endpoint: str, response: Response) -> None:
        self.sim.record(
            RequestRecord(
                tenant=tenant,
                endpoint=endpoint,
                method=request.method,
                path=request.raw_path or request.path,
                host=request.host,
                status=response.status,
                authorization=request.header("Authorization") is not None,
                cmdlet=response.cmdlet,
            )
        )


def request_from_environ(environ: dict[str, Any]) -> Request:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    path = str(environ.get("PATH_INFO") or "/")
    query = str(environ.get("QUERY_STRING") or "")
    host = headers.get("host") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    return Request(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        path=path,
        query=query,
        headers=headers,
        body=body,
        host=host,
        remote_addr=str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
        remote_port=int(environ.get("REMOTE_PORT") or 0),
        raw_path=path + (f"?{query}" if query else ""),
    )
