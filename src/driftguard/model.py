"""Frozen values that cross module boundaries.

The pure core (normalize, diff, risk, plan) takes and returns these; the edges (baseline loading,
live sources, renderers, the CLI) build or consume them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

from driftguard.jsontype import Json
from driftguard.properties import Value

if TYPE_CHECKING:
    from driftguard.investigation import Investigation

_EMPTY: Mapping[str, Json] = MappingProxyType({})


def _empty() -> Mapping[str, Json]:
    return _EMPTY


def _no_text() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Location:
    """Where something stands in an input file (1-based line and column)."""

    path: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


# --------------------------------------------------------------------------- connectors

_JOINED_FROM = 16


def comparable_form(settings: Mapping[str, Value]) -> tuple[object, ...]:
    """Keys and values of ``settings``, a long list of text as its members joined by newlines
    and its length when no member holds a newline (one string to compare rather than a string
    object per member: a big tenant's lists hold hundreds of thousands). Two equal forms are
    equal settings; two different forms may still be (another key order), so callers then
    compare the settings themselves."""
    out: list[object] = []
    for key, value in settings.items():
        out.append(key)
        if type(value) is tuple and len(value) > _JOINED_FROM:
            try:
                joined = "\n".join(value)
            except TypeError:  # not all text: compared as it is
                joined = None
            if joined is not None and joined.count("\n") == len(value) - 1:
                out.append((joined, len(value)))
                continue
        out.append(value)
    return tuple(out)


@dataclass(frozen=True)
class Connector:
    """An inbound connector in canonical form (see normalize.py), from either side.

    ``settings`` holds every compared property (``properties.COMPARED``) with canonical values,
    service defaults filled in. ``other`` holds read-only, bookkeeping and unknown properties
    exactly as received; ``unknown`` names the keys of ``other`` that driftguard does not know.
    ``unmodelled`` is, for a baseline connector, what its file pins under ``Unmodelled:``.
    ``notes`` say how a value was written when it was read in another form than canonical
    (e.g. a SenderIPAddresses range written with host bits set).
    """

    name: str
    guid: str | None
    settings: Mapping[str, Value]
    other: Mapping[str, Json] = field(default_factory=_empty)
    unknown: tuple[str, ...] = ()
    location: Location | None = None  # the baseline file, for baseline connectors
    unmodelled: Mapping[str, Json] = field(default_factory=_empty)
    notes: tuple[str, ...] = ()
    comparable: tuple[object, ...] = field(init=False, repr=False, compare=False)
    """``settings`` in a compact form (``comparable_form``), made once with the connector (also
    by ``dataclasses.replace``) while its text is fresh in memory; the diff compares these first."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "comparable", comparable_form(self.settings))

    @property
    def connector_type(self) -> str:
        return str(self.settings.get("ConnectorType") or "Partner")


@dataclass(frozen=True)
class Snapshot:
    """The live inbound connectors of one tenant as read, raw records kept verbatim."""

    tenant: str
    records: tuple[Mapping[str, Json], ...]
    source: str  # e.g. "exchange:https://outlook.office365.com", "file:live.json", "demo"
    taken_at: datetime
    warnings: tuple[str, ...] = ()
    read_digest: str | None = None
    """A digest of the bytes the records were parsed from (``wire.BodyDigest``), where the
    source has them: two snapshots of one source with equal digests hold equal records. None:
    unknown, so nothing may be assumed (a watch judges such a snapshot in full)."""


# --------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class Endpoints:
    """Overrides of the cloud's endpoints (tests and the simulator use them)."""

    authority_host: str | None = None
    exchange_host: str | None = None
    graph_host: str | None = None
    ca_bundle: str | None = None  # PEM file of CAs to trust (the simulator's throwaway CA)
    # Redirects of the admin API are followed only to hosts equal to or under this domain;
    # default: the cloud's Exchange domain (office365.com, office365.us, outlook.cn).
    exchange_domain: str | None = None


@dataclass(frozen=True)
class TenantConfig:
    """``baseline/<tenant>/tenant.yaml``: driftguard's settings for one tenant."""

    name: str  # the folder name, used on the CLI
    tenant_id: str
    cloud: str = "global"
    accepted_domains: tuple[str, ...] = ()
    trusted_ip_ranges: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    auth: Mapping[str, Json] = field(
        default_factory=_empty
    )  # references only (env var names, paths, client ids)
    endpoints: Endpoints = field(default_factory=Endpoints)
    location: Location | None = None


@dataclass(frozen=True)
class BaselineConnector:
    """One connector file: its canonical connector plus where each key stands in the file."""

    path: str
    raw: Mapping[str, Json]
    key_locations: Mapping[str, Location]
    connector: Connector


@dataclass(frozen=True)
class TenantBaseline:
    config: TenantConfig
    connectors: tuple[BaselineConnector, ...]


@dataclass(frozen=True)
class IgnoreEntry:
    """An accepted exception from ``.driftguardignore.yaml``."""

    tenant: str
    connector: str
    field: str | None  # None or "*" = every field of that connector
    reason: str | None
    owner: str | None
    expires: date | None
    location: Location | None = None

    def is_active(self, today: date) -> bool:
        return bool(self.reason) and (self.expires is None or self.expires >= today)


@dataclass(frozen=True)
class Baseline:
    root: str
    tenants: Mapping[str, TenantBaseline]
    ignores: tuple[IgnoreEntry, ...] = ()


# --------------------------------------------------------------------------- findings


class FindingKind(StrEnum):
    UNKNOWN = "unknown"  # live connector matched by no baseline file
    MISSING = "missing"  # baseline file matched by no live connector
    CHANGED = "changed"  # one drifted property
    BLOCKED = "blocked"  # the service restricted the connector (investigation)


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is worse; sort with ``key=lambda f: -f.severity.rank``."""
        return _RANK[self]


_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}


@dataclass(frozen=True)
class AuditEvent:
    """One admin action on a connector, from the unified audit log."""

    time: datetime
    actor: str
    client_ip: str | None
    operation: str  # New-InboundConnector, Set-InboundConnector, Remove-InboundConnector
    connector: str  # ObjectId reduced to the connector name
    parameters: Mapping[str, str] = field(default_factory=_no_text)
    app_id: str | None = None
    succeeded: bool = True
    external_access: bool = False
    record_id: str | None = None


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    connector: str
    guid: str | None
    severity: Severity
    reason: str
    field: str | None = None  # for CHANGED
    baseline: Value = None
    live: Value = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    location: Location | None = None  # baseline file (and line of the field) when there is one
    events: tuple[AuditEvent, ...] = ()  # filled by investigation when asked (--explain)


@dataclass(frozen=True)
class Suppressed:
    """A finding an active ignore entry suppressed; still shown in reports."""

    finding: Finding
    entry: IgnoreEntry


class Status(StrEnum):
    OK = "ok"
    DRIFT = "drift"
    ERROR = "error"


@dataclass(frozen=True)
class TenantReport:
    tenant: str
    status: Status
    error: str | None = None
    findings: tuple[Finding, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()
    warnings: tuple[str, ...] = ()
    evidence: Investigation | None = None  # investigate / --explain only
    location: Location | None = None  # the tenant's tenant.yaml, where reports point tenant-wide

    @property
    def suspicious(self) -> bool:
        """The investigation found something to look at even without drift (an odd actor, a
        mail-volume spike, an alert)."""
        return bool(self.evidence and self.evidence.suspicious)


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    tenants: tuple[TenantReport, ...]
    command: str = "diff"
    schema_version: int = 1

    @property
    def exit_code(self) -> int:
        """1 if any tenant errored, else 2 if any drift or suspicious evidence, else 0
        (CONTRACT.md). Every summary that prints an exit code prints this one."""
        statuses = {t.status for t in self.tenants}
        if Status.ERROR in statuses:
            return 1
        return 2 if Status.DRIFT in statuses or any(t.suspicious for t in self.tenants) else 0
