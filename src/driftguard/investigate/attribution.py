"""Which audit events explain which finding, and which actors look compromised. Pure.

Matching (per finding, latest event first, only events inside the window):

- the same connector: by name (case-insensitive) or Guid, through the event's ObjectId, its
  ``Identity`` parameter, or its ``Name`` parameter (a rename or a creation names the new name);
- an operation that can have caused it: ``changed`` <- Set/New with a parameter of that field;
  ``unknown`` <- any operation on that connector (New first of all); ``missing`` <- Remove, or a
  Set with ``Name`` (renamed away); ``blocked`` findings are the service's own doing: none.

Only succeeded events explain a finding; failed attempts stay in the timeline.

A finding no event explains is flagged: the change was made outside the audited path (a
Microsoft-side or delegated change, a disabled audit pipeline) or before the window began.

An actor is flagged as a possibly compromised admin account when any of their connector events in
the window: comes from an actor not in ``admins``; comes from an unusual IP (outside
``trusted_ip_ranges`` and not used by that actor earlier in the window; with no trusted ranges
configured, an IP the actor had not used earlier when they had used another one); or carries
``ExternalAccess: true``. driftguard's own apps (the client ids of tenant.yaml's ``auth`` section,
read and write) are known actors, never flagged: their changes are the reviewed applies.

50,000 events against a report's findings: events are indexed once by every connector key they
carry, so each finding costs a dictionary lookup plus its own candidates.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from driftguard.investigate.auditlog import connector_name, is_connector_operation
from driftguard.model import AuditEvent, Finding, FindingKind, TenantConfig

MAX_EVENTS_PER_FINDING = 25

_NEW = "new-inboundconnector"
_SET = "set-inboundconnector"
_REMOVE = "remove-inboundconnector"


@dataclass(frozen=True)
class Unattributed:
    """A finding no audit event explains, and why that may be."""

    finding: Finding
    note: str
    index: int  # position of the finding in ``Attribution.findings``


@dataclass(frozen=True)
class ActorFlag:
    """A possibly compromised admin account: who, why, and the events that raised it."""

    actor: str
    reasons: tuple[str, ...]
    events: tuple[AuditEvent, ...]
    client_ips: tuple[str, ...]


@dataclass(frozen=True)
class Attribution:
    findings: tuple[Finding, ...]  # the input findings, ``events`` filled, same order
    matched: Mapping[int, int]  # finding index -> number of matching events (before the cap)
    unattributed: tuple[Unattributed, ...]
    actors: tuple[ActorFlag, ...]
    events_in_window: int


def attribute(
    findings: Sequence[Finding],
    events: Iterable[AuditEvent],
    tenant: TenantConfig,
    *,
    start: datetime,
    end: datetime,
    changed_at: Mapping[str, datetime] | None = None,
) -> Attribution:
    """Attach the explaining events to each finding; flag unexplained changes and odd actors.

    ``changed_at`` maps a lower-cased connector name or Guid to the connector's
    ``WhenChangedUTC``, when known, to tell "before the window" from "outside the audit path".
    """
    in_window = [e for e in events if start <= e.time <= end and is_connector_operation(e)]
    in_window.sort(key=lambda e: e.time, reverse=True)
    index = _index(in_window)
    out: list[Finding] = []
    matched: dict[int, int] = {}
    unattributed: list[Unattributed] = []
    for position, finding in enumerate(findings):
        if finding.kind is FindingKind.BLOCKED:
            out.append(finding)
            continue
        explaining = _explaining(finding, index)
        matched[position] = len(explaining)
        out.append(replace(finding, events=tuple(explaining[:MAX_EVENTS_PER_FINDING])))
        if not explaining:
            unattributed.append(
                Unattributed(
                    finding,
                    _unattributed_note(finding, start, end, changed_at or {}),
                    position,
                )
            )
    return Attribution(
        findings=tuple(out),
        matched=matched,
        unattributed=tuple(unattributed),
        actors=tuple(suspicious_actors(in_window, tenant)),
        events_in_window=len(in_window),
    )


# --------------------------------------------------------------------------- matching


def _keys_of_event(event: AuditEvent) -> set[str]:
    keys = {event.connector.lower()} if event.connector else set()
    for param in ("Identity", "Name"):
        value = _param(event, param)
        if value:
            keys.add(connector_name(value).lower())
    keys.discard("")
    return keys


def _index(events: Sequence[AuditEvent]) -> dict[str, list[AuditEvent]]:
    index: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in events:  # already latest first: every bucket stays sorted
        if not event.succeeded:
            continue
        for key in _keys_of_event(event):
            index[key].append(event)
    return index


def _keys_of_finding(finding: Finding) -> list[str]:
    keys = [finding.connector.lower()]
    if finding.guid:
        keys.append(finding.guid.lower())
    if finding.field == "Name":
        for value in (finding.baseline, finding.live):
            if isinstance(value, str) and value:
                keys.append(value.lower())
    return list(dict.fromkeys(keys))


def _explaining(finding: Finding, index: Mapping[str, list[AuditEvent]]) -> list[AuditEvent]:
    seen: set[int] = set()
    found: list[AuditEvent] = []
    for key in _keys_of_finding(finding):
        for event in index.get(key, ()):
            if id(event) in seen or not _explains(finding, event):
                continue
            seen.add(id(event))
            found.append(event)
    found.sort(key=lambda e: e.time, reverse=True)
    return found


def _explains(finding: Finding, event: AuditEvent) -> bool:
    operation = event.operation.lower()
    match finding.kind:
        case FindingKind.CHANGED:
            if operation not in (_SET, _NEW):
                return False
            return finding.field is not None and _param(event, finding.field) is not None
        case FindingKind.UNKNOWN:
            return True
        case FindingKind.MISSING:
            return operation == _REMOVE or (operation == _SET and _param(event, "Name") is not None)
        case FindingKind.BLOCKED:
            return False
    return False  # pragma: no cover


def _param(event: AuditEvent, name: str) -> str | None:
    if name in event.parameters:
        return event.parameters[name]
    low = name.lower()
    for key, value in event.parameters.items():
        if key.lower() == low:
            return value
    return None


def _unattributed_note(
    finding: Finding, start: datetime, end: datetime, changed_at: Mapping[str, datetime]
) -> str:
    when = None
    for key in (finding.guid or "", finding.connector.lower()):
        if key and key.lower() in changed_at:
            when = changed_at[key.lower()]
            break
    what = (
        "this change" if finding.kind is FindingKind.CHANGED else f"this {finding.kind} connector"
    )
    if when is not None and when < start:
        return (
            f"no audit record explains {what}: the connector last changed at "
            f"{when.isoformat()}, before the log window; widen it with --since"
        )
    if when is not None and when > end:
        return (
            f"no audit record explains {what}: the connector last changed at "
            f"{when.isoformat()}, after the log window; widen it with --until"
        )
    return (
        f"no audit record explains {what}: it was made outside the audited admin path "
        "(a delegated or Microsoft-side change, or auditing was off), or the log window is too "
        "short (widen it with --since)"
    )


# --------------------------------------------------------------------------- actors


def suspicious_actors(events: Iterable[AuditEvent], tenant: TenantConfig) -> list[ActorFlag]:
    """Actors whose connector events look like a compromised admin account (module doc)."""
    admins = {a.lower() for a in tenant.admins}
    own = known_apps(tenant)
    trusted = _networks(tenant.trusted_ip_ranges)
    history: dict[str, set[str]] = defaultdict(set)
    reasons: dict[str, dict[str, None]] = defaultdict(dict)
    flagged: dict[str, list[AuditEvent]] = defaultdict(list)
    ips: dict[str, dict[str, None]] = defaultdict(dict)
    for event in sorted(events, key=lambda e: e.time):
        actor = event.actor.lower()
        if (event.app_id or "").lower() in own:
            continue
        why: list[str] = []
        if admins and actor not in admins and (event.app_id or "").lower() not in admins:
            why.append("not a listed admin")
        if event.external_access:
            why.append("external (delegated or Microsoft) access")
        if event.client_ip:
            seen_before = event.client_ip in history[actor]
            if trusted:
                if not seen_before and not _trusted(event.client_ip, trusted):
                    why.append(f"unusual IP {event.client_ip} (outside trusted_ip_ranges)")
            elif history[actor] and not seen_before:
                why.append(f"unusual IP {event.client_ip} (not used by this actor before)")
            history[actor].add(event.client_ip)
            ips[actor][event.client_ip] = None
        if why:
            for reason in why:
                reasons[actor][reason] = None
            flagged[actor].append(event)
    out = []
    for actor, events_of in flagged.items():
        out.append(
            ActorFlag(
                actor=events_of[0].actor,
                reasons=tuple(reasons[actor]),
                events=tuple(sorted(events_of, key=lambda e: e.time, reverse=True)),
                client_ips=tuple(ips[actor]),
            )
        )
    out.sort(key=lambda f: f.events[0].time, reverse=True)
    return out


def known_apps(tenant: TenantConfig) -> frozenset[str]:
    """The client ids (lower case) of driftguard's own read and write apps in tenant.yaml."""
    auth = tenant.auth if isinstance(tenant.auth, Mapping) else {}
    write = auth.get("write")
    sections = [auth, write if isinstance(write, Mapping) else {}]
    ids = (s.get("client_id") for s in sections)
    return frozenset(i.strip().lower() for i in ids if isinstance(i, str) and i.strip())


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(ranges: Iterable[str]) -> tuple[_Network, ...]:
    out: list[_Network] = []
    for text in ranges:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            continue  # the baseline loader reports bad ranges; here they trust nothing
    return tuple(out)


def _trusted(ip: str, networks: Sequence[_Network]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address.version == n.version and address in n for n in networks)


def is_trusted(ip: str, ranges: Iterable[str]) -> bool:
    """Whether ``ip`` lies in one of ``ranges`` (tenant.yaml's ``trusted_ip_ranges``)."""
    return _trusted(ip, _networks(ranges))
