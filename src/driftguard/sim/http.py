"""Request and response values of the simulator app, and the registry of extra HTTP routes.

The app turns a WSGI environ into a :class:`Request`, finds a route and turns the handler's
:class:`Response` back into WSGI. Modules add routes with :func:`route`; the Graph alerts
endpoint of the investigation part is one::

    @route("GET", r"/(v1\\.0|beta)/security/alerts_v2", name="alerts")
    def alerts(request: Request, sim: SimState) -> Response:
        tenant, principal = exchange.authorize_graph(request, sim)  # 401 unless a Graph token
        ...
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from driftguard.sim.state import SimState


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the regional prefix, if any
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    host: str  # the Host header, e.g. "localhost:8443"
    remote_addr: str = "127.0.0.1"
    remote_port: int = 0
    raw_path: str = ""  # as received
    params: Mapping[str, str] = field(default_factory=dict)  # named groups of the route pattern

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}

    def query_params(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.raw_path or self.path}"


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Set by the reset fault: the server drops the connection instead of answering.
    reset: bool = False
    cmdlet: str | None = None  # for the request log

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        body = json.dumps(payload).encode("utf-8")
        return cls(
            status, body, [("Content-Type", "application/json; charset=utf-8"), *(headers or [])]
        )

    @classmethod
    def text(
        cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8"
    ) -> Response:
        return cls(status, text.encode("utf-8"), [("Content-Type", content_type)])


class HttpError(Exception):
    """Raised by handlers to answer with ``response`` (401, 403, 404, ...)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


RouteHandler = Callable[[Request, "SimState"], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler
    name: str
    faults: bool  # whether service faults (throttling, resets, ...) apply to it


ROUTES: list[Route] = []


def route(
    method: str, pattern: str, *, name: str | None = None, faults: bool = True
) -> Callable[[RouteHandler], RouteHandler]:
    """Register ``handler`` for ``method`` on paths fully matching ``pattern``."""

    def register(handler: RouteHandler) -> RouteHandler:
        ROUTES.append(
            Route(method.upper(), re.compile(pattern), handler, name or handler.__name__, faults)
        )
        return handler

    return register


def find_route(method: str, path: str) -> tuple[Route | None, re.Match[str] | None, bool]:
    """The route for ``method`` and ``path``, its match, and whether the path exists at all."""
    path_known = False
    for candidate in ROUTES:
        match = candidate.pattern.fullmatch(path)
        if match is None:
            continue
        path_known = True
        if candidate.method == method.upper():
            return candidate, match, True
    return None, None, path_known
