"""The values doctor produces: one Check per thing looked at, grouped per tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's answer: what was looked at, how it went, how to fix it."""

    name: str
    status: Status
    detail: str
    hint: str = ""


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def warn(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, Status.WARN, detail, hint)


def fail(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, Status.FAIL, detail, hint)


def skipped(name: str, detail: str) -> Check:
    return Check(name, Status.SKIPPED, detail)


_NOTHING: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Seen:
    """What the admin API's answers looked like on the wire (from the session's responses)."""

    answers: int = 0
    next_links: int = 0
    warnings: tuple[str, ...] = ()
    followed: tuple[str, ...] = ()  # hosts the admin API redirected to, reached afterwards
    refused: tuple[str, ...] = ()  # hosts it redirected to that driftguard did not follow
    statuses: tuple[int, ...] = ()


@dataclass(frozen=True)
class Wire:
    """What the reads returned, as received (for the shapes and the redacted sample)."""

    connectors: tuple[Mapping[str, Any], ...] = ()
    blocked: tuple[Mapping[str, Any], ...] = ()
    audit: tuple[Mapping[str, Any], ...] = ()
    message_trace: tuple[Mapping[str, Any], ...] = ()
    alerts: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class TenantDoctor:
    """Every check of one tenant, in the order they ran, and what the reads returned."""

    tenant: str
    tenant_id: str
    checks: tuple[Check, ...]
    wire: Wire = field(default_factory=Wire)

    @property
    def failed(self) -> bool:
        return any(c.status is Status.FAIL for c in self.checks)


def exit_code(results: Sequence[TenantDoctor]) -> int:
    """0 when every check passed (warnings allowed), 1 when one failed."""
    return 1 if any(r.failed for r in results) else 0
