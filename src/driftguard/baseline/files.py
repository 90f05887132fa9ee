"""One baseline file at a time: a connector file, a tenant.yaml, the ignore file.

Each reader returns what it could build plus every problem it found, located at the key or value
at fault; it never raises on bad input. Cross-file checks live in ``load``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from driftguard.baseline import domains, rules, yamlsafe
from driftguard.baseline.schemas import schema_problems, suggest
from driftguard.baseline.yamlsafe import Document
from driftguard.errors import Problem
from driftguard.model import BaselineConnector, Endpoints, IgnoreEntry, Location, TenantConfig
from driftguard.normalize import NormalizeError, canonical_item, connector_from_baseline, domain
from driftguard.properties import (
    BY_LOWER,
    BY_NAME,
    COMPARED,
    READ_ONLY_LOWER,
    UNMODELLED,
    Kind,
    is_sidecar,
)
from driftguard.textsafe import shown

IGNORE_KEYS = ("tenant", "connector", "field", "reason", "owner", "expires")
_AUTH_PATHS = ("certificate_path", "federated_token_file")


def _at(loc: Location, message: str) -> Problem:
    return Problem(loc.path, loc.line, loc.column, message)


# --------------------------------------------------------------------------- connector files


@dataclass(frozen=True)
class Identity:
    """Name and Guid of a connector file, read even when the rest of the file is invalid."""

    path: str
    name: str
    guid: str | None
    name_at: Location
    guid_at: Location | None


def _identity(doc: Document) -> Identity | None:
    if not isinstance(doc.data, dict):
        return None
    name, guid = doc.data.get("Name"), doc.data.get("Guid")
    if not isinstance(name, str) or not name.strip():
        return None
    has_guid = isinstance(guid, str) and bool(guid.strip())
    return Identity(
        path=doc.path,
        name=name,
        guid=str(guid).strip().lower() if has_guid else None,
        name_at=doc.key_at(("Name",)),
        guid_at=doc.key_at(("Guid",)) if has_guid else None,
    )


def connector_file(
    path: Path, display: str
) -> tuple[BaselineConnector | None, list[Problem], Identity | None]:
    """The connector in ``path``, or every problem found; its Name and Guid whenever readable."""
    doc, problems = yamlsafe.read(path, display)
    if doc is None:
        return None, problems, None
    ident = _identity(doc)
    problems = schema_problems("connector", doc)
    if isinstance(doc.data, dict):
        problems.extend(_item_problems(doc))
        problems.extend(_unmodelled_problems(doc))
    if problems:
        return None, problems, ident
    data: dict[str, Any] = doc.data
    name_loc = doc.key_at(("Name",))
    try:
        connector = connector_from_baseline(data, location=name_loc)
    except NormalizeError as exc:  # the schema should have caught it; still never a traceback
        return None, [_at(doc.value_at(()), str(exc))], ident
    problems = [
        _at(doc.key_at((field,)) if field in data else doc.value_at(()), message)
        for field, message in rules.violations(connector.settings)
    ]
    if problems:
        return None, problems, ident
    key_locations = {key: doc.key_at((key,)) for key in data}
    return (
        BaselineConnector(
            path=display,
            raw=MappingProxyType(data),
            key_locations=MappingProxyType(key_locations),
            connector=connector,
        ),
        [],
        ident,
    )


def _item_problems(doc: Document) -> list[Problem]:
    """Members of list properties that cannot be put in canonical form, each at its own line."""
    out: list[Problem] = []
    for key, value in doc.data.items():
        prop = BY_NAME.get(key)
        if prop is None or not prop.kind.is_list:
            continue
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            continue
        if (prop.kind is Kind.IPV4_NETWORKS and rules.sender_ips_allowed(items)) or (
            prop.kind is Kind.DOMAINS and domains.all_allowed(prop.name, items)
        ):
            continue  # the common case, checked over the whole list at once
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                continue  # the schema reports it
            at = (key,) if isinstance(value, str) else (key, index)
            if prop.kind is Kind.IPV4_NETWORKS:
                message = rules.sender_ip_problem(item)
            elif prop.kind is Kind.DOMAINS:
                message = domains.domain_problem_of(prop.name, item)
            else:
                try:
                    canonical_item(prop.kind, item)
                    message = None
                except NormalizeError as exc:
                    message = str(exc)
            if message:
                # The IP and host checks quote the whole member; quote at most its start.
                quoted = message.replace(repr(item.strip()), shown(item.strip()))
                out.append(_at(doc.value_at(at), f"{key}: {quoted}"))
    return out


def _unmodelled_problems(doc: Document) -> list[Problem]:
    """Keys under ``Unmodelled`` must be properties driftguard neither models nor treats as
    read-only: a modelled one belongs at the top level (where it is compared with its own
    rules), a read-only one changes with no admin action and is never compared."""
    pinned = doc.data.get(UNMODELLED)
    if not isinstance(pinned, dict):
        return []  # absent, or the schema reports it
    out: list[Problem] = []
    for key in pinned:
        loc = doc.key_at((UNMODELLED, key))
        text = str(key)
        if not isinstance(key, str) or not text.strip() or is_sidecar(text):
            message = f"{text!r} is not a property name"
        elif text.lower() in BY_LOWER:
            modelled = BY_LOWER[text.lower()].name
            message = (
                f"{text} is modelled by driftguard: move it out of {UNMODELLED} to the top "
                f"level as {modelled}"
            )
        elif text.lower() in READ_ONLY_LOWER:
            message = (
                f"{text} is read-only (the service sets it and it changes with no admin "
                "action): remove it"
            )
        elif text.lower() == UNMODELLED.lower():
            message = f"{text} cannot be nested"
        else:
            continue
        out.append(_at(loc, f"{UNMODELLED}.{text}: {message}"))
    return out


# --------------------------------------------------------------------------- tenant.yaml


def tenant_file(path: Path, display: str, name: str) -> tuple[TenantConfig | None, list[Problem]]:
    doc, problems = yamlsafe.read(path, display)
    if doc is None:
        return None, problems
    problems = schema_problems("tenant", doc)
    if not isinstance(doc.data, dict):
        return None, problems
    data: dict[str, Any] = doc.data
    for index, item in enumerate(_str_list(data.get("accepted_domains"))):
        if message := domains.domain_problem(item):
            loc = doc.value_at(("accepted_domains", index))
            problems.append(_at(loc, f"accepted_domains: {message}"))
    ranges: list[str] = []
    for index, item in enumerate(_str_list(data.get("trusted_ip_ranges"))):
        try:
            ranges.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            loc = doc.value_at(("trusted_ip_ranges", index))
            problems.append(
                _at(loc, f"trusted_ip_ranges: {shown(item)} is not an IP address or range")
            )
    if problems:
        return None, problems
    base = path.parent
    endpoints = dict(data.get("endpoints") or {})
    if endpoints.get("ca_bundle"):
        endpoints["ca_bundle"] = _resolve(base, endpoints["ca_bundle"])
    return (
        TenantConfig(
            name=name,
            tenant_id=str(data["tenant_id"]).strip(),
            cloud=str(data.get("cloud") or "global"),
            accepted_domains=tuple(
                sorted({domain(d) for d in _str_list(data.get("accepted_domains"))})
            ),
            trusted_ip_ranges=tuple(dict.fromkeys(ranges)),
            admins=tuple(a.strip().lower() for a in _str_list(data.get("admins"))),
            auth=_auth(base, data.get("auth") or {}),
            endpoints=Endpoints(**endpoints),
            location=doc.value_at(()),
        ),
        [],
    )


def _auth(base: Path, auth: Mapping[str, Any]) -> Mapping[str, Any]:
    out: dict[str, Any] = {}
    for key, value in auth.items():
        if key in ("write", "graph_write") and isinstance(value, Mapping):
            out[key] = _auth(base, value)
        elif key in _AUTH_PATHS and isinstance(value, str):
            out[key] = _resolve(base, value)
        else:
            out[key] = value
    return MappingProxyType(out)


def _resolve(base: Path, value: str) -> str:
    """A path from tenant.yaml, relative to the folder tenant.yaml is in."""
    return os.path.abspath(base / os.path.expanduser(value))


def _str_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# --------------------------------------------------------------------------- .driftguardignore.yaml


def ignore_file(path: Path, display: str) -> tuple[list[IgnoreEntry], list[Problem]]:
    """Every well-formed entry; those without reason or past expiry are kept (diff reports them)."""
    doc, problems = yamlsafe.read(path, display, allow_empty=True)
    if doc is None:
        return [], problems
    if doc.data is None:
        return [], []
    if not isinstance(doc.data, list):
        return [], [
            _at(
                doc.value_at(()),
                "the ignore file is a list of entries "
                "(- {tenant, connector, field, reason, owner, expires})",
            )
        ]
    entries: list[IgnoreEntry] = []
    for index, item in enumerate(doc.data):
        entry, entry_problems = _ignore_entry(doc, index, item)
        problems.extend(entry_problems)
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _ignore_entry(doc: Document, index: int, item: Any) -> tuple[IgnoreEntry | None, list[Problem]]:
    where = doc.value_at((index,))
    if not isinstance(item, dict):
        message = f"entry {index + 1}: expected a mapping of {', '.join(IGNORE_KEYS)}"
        return None, [_at(where, message)]
    problems: list[Problem] = []
    for key in item:
        if key not in IGNORE_KEYS:
            message = f"entry {index + 1}: unknown key {shown(key)}{suggest(key, IGNORE_KEYS)}"
            problems.append(_at(doc.key_at((index, key)), message))
    texts: dict[str, str | None] = {}
    for key in ("tenant", "connector", "field", "reason", "owner"):
        value = item.get(key)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            texts[key] = None
            if key in ("tenant", "connector"):
                problems.append(_at(where, f"entry {index + 1}: {key} is required"))
        elif isinstance(value, str):
            texts[key] = value.strip()
        else:
            texts[key] = None
            message = f"entry {index + 1}: {key} must be text"
            problems.append(_at(doc.value_at((index, key)), message))
    field: str | None = texts["field"]
    if field is not None and field != "*":
        by_lower = {c.lower(): c for c in COMPARED}
        if field.lower() in by_lower:
            field = by_lower[field.lower()]
        elif (
            field.lower().startswith(f"{UNMODELLED.lower()}.") and len(field) > len(UNMODELLED) + 1
        ):
            field = UNMODELLED + field[len(UNMODELLED) :]  # a pinned unmodelled property
        else:
            message = f"entry {index + 1}: unknown field {shown(field)}{suggest(field, COMPARED)}"
            problems.append(_at(doc.value_at((index, "field")), message))
    expires, bad_date = _date(item.get("expires"))
    if bad_date:
        problems.append(_at(doc.value_at((index, "expires")), f"entry {index + 1}: {bad_date}"))
    if problems:
        return None, problems
    return (
        IgnoreEntry(
            tenant=texts["tenant"] or "",
            connector=texts["connector"] or "",
            field=field,
            reason=texts["reason"],
            owner=texts["owner"],
            expires=expires,
            location=where,
        ),
        [],
    )


def _date(value: Any) -> tuple[date | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, datetime):
        return None, "expires: a date like 2026-12-31, without a time"
    if isinstance(value, date):
        return value, None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()), None
        except ValueError:
            pass
    return None, f"expires: {shown(value)} is not a date like 2026-12-31"
