"""Baseline vs live: which connector is which, and what changed, as driftguard Findings.

Both sides arrive canonical (normalize.py): lists are sorted tuples of canonical strings, so
deepdiff compares them position by position (no ``ignore_order``, which is several times slower
on big lists) and we compute list members added/removed with sets. Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from driftguard.model import (
    BaselineConnector,
    Connector,
    Finding,
    FindingKind,
    Location,
    TenantBaseline,
    TenantConfig,
)
from driftguard.properties import BY_NAME, COMPARED, Kind, Value
from driftguard.risk import Change, rate

_ORDER = {name: i for i, name in enumerate(COMPARED)}
_DEFAULTS = {name: BY_NAME[name].default for name in COMPARED}
_KIND_ORDER = {FindingKind.UNKNOWN: 0, FindingKind.MISSING: 1, FindingKind.CHANGED: 2}


@dataclass(frozen=True)
class Matching:
    """Baseline connectors paired with live ones; the rest are missing or unknown."""

    pairs: tuple[tuple[BaselineConnector, Connector], ...]
    missing: tuple[BaselineConnector, ...]
    unknown: tuple[Connector, ...]


def match(baseline: Sequence[BaselineConnector], live: Sequence[Connector]) -> Matching:
    """Pinned Guid first, then case-insensitive Name among the live connectors left over.

    A pinned baseline connector matches by Guid: a live connector with the same Name but another
    Guid is a different object (deleted and re-created, or an impostor) and shows as unknown,
    while the pinned one shows as missing. Only a live record that carries no Guid at all (an
    export that left it out) can match a pinned connector by Name; core warns about such records.
    """
    claimed: set[int] = set()
    by_guid: dict[str, int] = {}
    for i, conn in enumerate(live):
        if conn.guid:
            by_guid.setdefault(conn.guid.lower(), i)
    pairs: list[tuple[BaselineConnector, Connector]] = []
    by_name_only: list[BaselineConnector] = []
    for bc in baseline:
        guid = bc.connector.guid
        index = by_guid.get(guid.lower()) if guid else None
        if index is None or index in claimed:
            by_name_only.append(bc)
        else:
            claimed.add(index)
            pairs.append((bc, live[index]))
    by_name: dict[str, int] = {}
    for i, conn in enumerate(live):
        if i not in claimed:
            by_name.setdefault(conn.name.lower(), i)
    missing: list[BaselineConnector] = []
    for bc in by_name_only:
        index = by_name.get(bc.connector.name.lower())
        pinned = bc.connector.guid is not None
        if index is None or index in claimed or (pinned and live[index].guid is not None):
            missing.append(bc)
        else:
            claimed.add(index)
            pairs.append((bc, live[index]))
    unknown = tuple(conn for i, conn in enumerate(live) if i not in claimed)
    return Matching(tuple(pairs), tuple(missing), unknown)


def changed_fields(pairs: Sequence[tuple[Connector, Connector]]) -> list[set[str]]:
    """For each (baseline, live) pair, the compared properties whose canonical values differ.

    Equal properties are skipped with a plain comparison (most pairs have none left); deepdiff
    then compares what is left, in one call, and names the properties that really differ.
    """
    from deepdiff import DeepDiff

    result: list[set[str]] = [set() for _ in pairs]
    left: dict[int, dict[str, Any]] = {}
    right: dict[int, dict[str, Any]] = {}
    for i, (base, live) in enumerate(pairs):
        if base.settings == live.settings:
            continue
        b, lv = _compared(base), _compared(live)
        keys = [k for k in COMPARED if b[k] != lv[k]]
        if keys:
            left[i] = {k: b[k] for k in keys}
            right[i] = {k: lv[k] for k in keys}
    if not left:
        return result
    diff = DeepDiff(left, right, verbose_level=0, view="tree")
    for report_items in diff.values():
        for item in report_items:
            path = item.path(output_format="list")
            if len(path) < 2 or not isinstance(path[0], int):  # pragma: no cover
                raise AssertionError(f"unexpected deepdiff path {path!r}")
            result[path[0]].add(str(path[1]))
    for i, props in left.items():  # fail closed: a difference deepdiff did not name still counts
        result[i].update(props)
    return result


def findings_for(tenant: TenantBaseline, live: Sequence[Connector]) -> tuple[Finding, ...]:
    """Every difference between the tenant's baseline and its live connectors, rated, in a
    deterministic order (worst first, then connector name, then property order)."""
    matching = match(tenant.connectors, live)
    config = tenant.config
    findings: list[Finding] = []
    for conn in matching.unknown:
        findings.append(_finding(Change(FindingKind.UNKNOWN, conn), config, None))
    for bc in matching.missing:
        change = Change(FindingKind.MISSING, bc.connector)
        findings.append(_finding(change, config, bc.connector.location))
    fields = changed_fields([(bc.connector, lv) for bc, lv in matching.pairs])
    for (bc, lv), names in zip(matching.pairs, fields, strict=True):
        for name in sorted(names, key=_ORDER.__getitem__):
            drift = _change(bc.connector, lv, name)
            if drift is not None:
                findings.append(_finding(drift, config, _location(bc, name)))
    return tuple(sorted(findings, key=finding_sort_key))


def finding_sort_key(f: Finding) -> tuple[int, str, str, int, int]:
    return (
        -f.severity.rank,
        f.connector.lower(),
        f.guid or "",
        _KIND_ORDER.get(f.kind, 9),
        _ORDER.get(f.field or "", -1),
    )


# --------------------------------------------------------------------------- helpers


def _compared(conn: Connector) -> dict[str, Any]:
    """The compared properties, defaults filled in; Name lower-cased (Kind.NAME is compared
    case-insensitively and kept as written)."""
    settings: Mapping[str, Value] = conn.settings
    out: dict[str, Any] = {name: settings.get(name, _DEFAULTS[name]) for name in COMPARED}
    name = out["Name"]
    if isinstance(name, str):
        out["Name"] = name.lower()
    return out


def _change(base: Connector, live: Connector, name: str) -> Change | None:
    prop = BY_NAME[name]
    old = base.settings.get(name, prop.default)
    new = live.settings.get(name, prop.default)
    if prop.kind.is_list:
        old_set = set(old) if isinstance(old, tuple) else set()
        new_set = set(new) if isinstance(new, tuple) else set()
        added = tuple(i for i in _tuple(new) if i not in old_set)
        removed = tuple(i for i in _tuple(old) if i not in new_set)
        if not added and not removed:
            return None
        return Change(
            FindingKind.CHANGED, live, name, old, new, added, removed, baseline_connector=base
        )
    if prop.kind is Kind.NAME and isinstance(old, str) and isinstance(new, str):
        if old.lower() == new.lower():
            return None
    elif old == new:
        return None
    return Change(FindingKind.CHANGED, live, name, old, new, baseline_connector=base)


def _tuple(value: Value) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()


def _finding(change: Change, config: TenantConfig, location: Location | None) -> Finding:
    severity, reason, _rule = rate(change, config)
    conn = change.connector
    name = conn.name
    if change.kind is FindingKind.CHANGED and change.baseline_connector is not None:
        name = change.baseline_connector.name  # the approved name, also for renames
    return Finding(
        kind=change.kind,
        connector=name,
        guid=conn.guid or (change.baseline_connector.guid if change.baseline_connector else None),
        severity=severity,
        reason=reason,
        field=change.field,
        baseline=change.baseline,
        live=change.live,
        added=change.added,
        removed=change.removed,
        location=location,
    )


def _location(bc: BaselineConnector, field: str) -> Location | None:
    loc = bc.key_locations.get(field)
    if loc is not None:
        return loc
    return bc.connector.location or Location(bc.path)
