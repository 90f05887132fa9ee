"""Baseline vs live: which connector is which, and what changed, as driftguard Findings.

Both sides arrive canonical (normalize.py): lists are sorted tuples of canonical strings, so a
plain comparison finds the modelled properties that changed and sets give the members added and
removed. Properties driftguard does not model arrive as the service wrote them: a baseline pins
them under ``Unmodelled:`` and deepdiff compares them generically (lists in any order, type
changes named). Pure: values in, values out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from driftguard.jsontype import Json
from driftguard.model import (
    BaselineConnector,
    Connector,
    Finding,
    FindingKind,
    Location,
    TenantBaseline,
    TenantConfig,
)
from driftguard.normalize import is_empty
from driftguard.properties import BY_NAME, COMPARED, UNMODELLED, Kind, Value
from driftguard.risk import Change, rate

if TYPE_CHECKING:
    from deepdiff.model import DiffLevel

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

    Where two live connectors share a Guid or a Name, the first in (Name, Guid) order wins, not
    the first the service listed: the same live state gives the same pairs in any read order, so
    the plan made from a read and the one apply derives from its recorded state agree.
    """
    keys = [(conn.name.casefold(), conn.guid or "") for conn in live]
    order = sorted(range(len(live)), key=keys.__getitem__)
    claimed: set[int] = set()
    by_guid: dict[str, int] = {}
    for i in order:
        conn = live[i]
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
    for i in order:
        if i not in claimed:
            by_name.setdefault(live[i].name.lower(), i)
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

    Both sides are canonical, so a plain comparison is exact (and most pairs are equal as a whole:
    their compact forms, compared first, say so without reading every list member again).
    """
    result: list[set[str]] = []
    for base, live in pairs:
        if base.comparable == live.comparable or base.settings == live.settings:
            result.append(set())
            continue
        b, lv = _compared(base), _compared(live)
        result.append({k for k in COMPARED if b[k] != lv[k]})
    return result


@dataclass(frozen=True)
class UnmodelledChange:
    """A property pinned under ``Unmodelled:`` whose live value is not the pinned one."""

    key: str  # as the baseline spells it
    baseline: Json
    live: Json  # None also when the live record lacks the property (``present`` says which)
    present: bool
    description: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def unmodelled_changes(base: Connector, live: Connector) -> tuple[UnmodelledChange, ...]:
    """The pinned unmodelled properties of ``base`` that differ on ``live``, compared by deepdiff:
    list order is ignored, a change of JSON type is named, keys are matched case-insensitively."""
    if not base.unmodelled:
        return ()
    live_keys = {k.lower(): k for k in live.other}
    current: dict[str, Json] = {}
    for key in base.unmodelled:
        live_key = live_keys.get(key.lower())
        if live_key is not None:
            current[key] = live.other[live_key]
    if _identical(dict(base.unmodelled), current):
        return ()  # what deepdiff would find; importing it costs a cold start 50 ms
    from deepdiff import DeepDiff

    tree = DeepDiff(dict(base.unmodelled), current, ignore_order=True, view="tree")
    by_key: dict[str, list[tuple[str, DiffLevel]]] = {}
    for report_type, items in tree.items():
        for item in items:
            path = item.path(output_format="list")
            if not path:  # pragma: no cover - both sides are mappings
                raise AssertionError(f"unexpected deepdiff path {path!r}")
            by_key.setdefault(str(path[0]), []).append((report_type, item))
    out: list[UnmodelledChange] = []
    for key in sorted(by_key, key=str.lower):
        pinned, present = base.unmodelled[key], key in current
        parts: list[str] = []
        added: list[str] = []
        removed: list[str] = []
        for report_type, item in by_key[key]:
            where = _sub_path(item.path(output_format="list")[1:])
            match report_type:
                case "dictionary_item_removed" if not where:
                    parts.append("the live connector no longer has it")
                case "type_changes":
                    parts.append(
                        f"{where}type changed from {_json_type(item.t1)} to {_json_type(item.t2)}"
                    )
                case "iterable_item_added":
                    added.append(_member(item.t2))
                case "iterable_item_removed":
                    removed.append(_member(item.t1))
                case "dictionary_item_added":
                    parts.append(f"{where}added")
                case "dictionary_item_removed":
                    parts.append(f"{where}removed")
                case _:
                    parts.append(f"{where}value changed")
        if added:
            parts.append("added " + _few(added))
        if removed:
            parts.append("removed " + _few(removed))
        out.append(
            UnmodelledChange(
                key,
                pinned,
                current.get(key),
                present,
                "; ".join(dict.fromkeys(parts)),
                tuple(added),
                tuple(removed),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Unpinned:
    """A live property driftguard does not model, with a value, that no baseline file pins."""

    connector: Connector  # the live connector
    key: str
    value: Json
    baseline_path: str | None  # the file to pin it in; None for a connector in no file


def unpinned_properties(drift: Drift) -> tuple[Unpinned, ...]:
    """Unmodelled live properties whose value is not empty, null or false and that the matching
    baseline file does not pin: each needs a person's decision (pin it, or model it)."""
    file_of = {id(lv): bc for bc, lv in drift.pairs}
    out: list[Unpinned] = []
    for conn in drift.live:
        bc = file_of.get(id(conn))
        pinned = {k.lower() for k in bc.connector.unmodelled} if bc is not None else set()
        for key, value in pinnable(conn).items():
            if key.lower() not in pinned:
                out.append(Unpinned(conn, key, value, bc.path if bc is not None else None))
    return tuple(out)


def pinnable(live: Connector) -> dict[str, Json]:
    """The live connector's unmodelled properties whose value is not empty, null or false."""
    return {k: live.other[k] for k in live.unknown if not is_empty(live.other.get(k))}


@dataclass(frozen=True)
class Judged:
    """A finding with the connectors it is about, so the plan acts on them without a lookup.

    ``baseline`` is the approved connector (missing, changed), ``live`` the live one (unknown,
    changed, and blocked when the blocked entry names a live connector).
    """

    finding: Finding
    baseline: Connector | None = None
    live: Connector | None = None


@dataclass(frozen=True)
class Drift:
    """The diff of one tenant: matched (baseline, live) pairs, unknown and missing connectors, and
    every finding joined to its connectors. What ``plan_for`` reads; nothing downstream re-matches.
    """

    tenant: TenantBaseline
    live: tuple[Connector, ...]
    pairs: tuple[tuple[BaselineConnector, Connector], ...]
    missing: tuple[BaselineConnector, ...]
    unknown: tuple[Connector, ...]
    judged: tuple[Judged, ...]

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(j.finding for j in self.judged)

    def keeping(self, findings: Sequence[Finding]) -> Drift:
        """This drift with only ``findings`` (the same objects, e.g. what ignores kept)."""
        kept = {id(f) for f in findings}
        return replace(self, judged=tuple(j for j in self.judged if id(j.finding) in kept))

    def with_blocked(self, findings: Sequence[Finding]) -> Drift:
        """This drift plus the service's blocks, each joined to the live connector it names (by
        Guid, else Name: the blocked list is another read than the connectors)."""
        by_guid = {c.guid.lower(): c for c in reversed(self.live) if c.guid}
        by_name = {c.name.casefold(): c for c in reversed(self.live)}
        added = []
        for f in findings:
            hit = by_guid.get(f.guid.lower()) if f.guid else None
            added.append(Judged(f, None, hit or by_name.get(f.connector.casefold())))
        return replace(self, judged=(*self.judged, *added))


def drift_for(tenant: TenantBaseline, live: Sequence[Connector]) -> Drift:
    """Every difference between the tenant's baseline and its live connectors, rated, in a
    deterministic order (worst first, then connector name, then property order)."""
    matching = match(tenant.connectors, live)
    config = tenant.config
    judged: list[Judged] = []
    for conn in matching.unknown:
        judged.append(Judged(_finding(Change(FindingKind.UNKNOWN, conn), config, None), None, conn))
    for bc in matching.missing:
        change = Change(FindingKind.MISSING, bc.connector)
        judged.append(Judged(_finding(change, config, bc.connector.location), bc.connector))
    fields = changed_fields([(bc.connector, lv) for bc, lv in matching.pairs])
    for (bc, lv), names in zip(matching.pairs, fields, strict=True):
        for name in sorted(names, key=_ORDER.__getitem__):
            drift = _change(bc.connector, lv, name)
            if drift is not None:
                finding = _finding(drift, config, _location(bc, name))
                judged.append(Judged(finding, bc.connector, lv))
        for pinned in unmodelled_changes(bc.connector, lv):
            judged.append(Judged(_unmodelled_finding(bc, lv, pinned, config), bc.connector, lv))
    return Drift(
        tenant,
        tuple(live),
        matching.pairs,
        matching.missing,
        matching.unknown,
        tuple(sorted(judged, key=lambda j: finding_sort_key(j.finding))),
    )


def findings_for(tenant: TenantBaseline, live: Sequence[Connector]) -> tuple[Finding, ...]:
    """The findings of :func:`drift_for`."""
    return drift_for(tenant, live).findings


def finding_sort_key(f: Finding) -> tuple[int, str, str, int, int]:
    return (
        -f.severity.rank,
        f.connector.lower(),
        f.guid or "",
        _KIND_ORDER.get(f.kind, 9),
        -1 if f.field is None else _ORDER.get(f.field, len(_ORDER)),
    )


# --------------------------------------------------------------------------- helpers


def _compared(conn: Connector) -> dict[str, Value]:
    """The compared properties, defaults filled in; Name lower-cased (Kind.NAME is compared
    case-insensitively and kept as written)."""
    settings: Mapping[str, Value] = conn.settings
    out: dict[str, Value] = {name: settings.get(name, _DEFAULTS[name]) for name in COMPARED}
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


def _identical(a: object, b: object) -> bool:
    """Equal values of the very same types, lists in the same order: no difference at all."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)  # noqa: S101 - same type
        return a.keys() == b.keys() and all(_identical(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        assert isinstance(b, list | tuple)  # noqa: S101 - same type
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _unmodelled_finding(
    bc: BaselineConnector, live: Connector, change: UnmodelledChange, config: TenantConfig
) -> Finding:
    field = f"{UNMODELLED}.{change.key}"
    before, after = _as_value(change.baseline), _as_value(change.live)
    drift = Change(
        FindingKind.CHANGED,
        live,
        field,
        before,
        after,
        change.added,
        change.removed,
        baseline_connector=bc.connector,
    )
    finding = _finding(drift, config, _location(bc, UNMODELLED))
    what = "pinned" if change.present else "pinned, missing from the live record"
    reason = f"{change.key} ({what} under {UNMODELLED}): {change.description}. {finding.reason}"
    return replace(finding, reason=reason)


def _as_value(value: Json) -> Value:
    """An unmodelled value for a Finding: scalars as they are, anything else as compact JSON."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return _json(value)


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _few(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(i if len(i) <= 80 else i[:79] + "…" for i in items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def _member(value: object) -> str:
    return value if isinstance(value, str) else _json(value)


def _json_type(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "true/false"
        case int() | float():
            return "number"
        case str():
            return "text"
        case list() | tuple():
            return "list"
        case dict():
            return "mapping"
    return type(value).__name__


def _sub_path(path: Sequence[object]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") + (
        ": " if path else ""
    )


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
