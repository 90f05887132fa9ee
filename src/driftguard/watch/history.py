"""What changed between the stored snapshots of one tenant: the "since when" of an incident.

Pure: stored normalised documents in, changes out. Connectors are matched by Guid (by Name when
they have none); every property is compared by deepdiff, lists in any order, so a member added
to SenderIPAddresses shows as that member, not as a shifted list.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, assert_never

from driftguard.textsafe import bounded, visible

_UNKNOWN = "unknown property "


class Kind(StrEnum):
    CONNECTOR_ADDED = "connector_added"
    CONNECTOR_REMOVED = "connector_removed"
    CHANGED = "changed"
    ADDED = "added"  # a member added to a list, or a key to a mapping
    REMOVED = "removed"


@dataclass(frozen=True)
class Difference:
    kind: Kind
    connector: str
    guid: str | None
    property: str | None
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class Point:
    """One stored snapshot: which sweep took it and when."""

    sweep: int
    taken_at: datetime
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    before: Point
    after: Point
    differences: tuple[Difference, ...]


def steps(points: Sequence[Point]) -> list[Step]:
    """The changes from each stored snapshot to the next, oldest first."""
    return [
        Step(a, b, tuple(differences(a.document, b.document)))
        for a, b in itertools.pairwise(points)
    ]


def _connectors(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for conn in document.get("connectors") or ():
        key = str(conn.get("guid") or "").lower() or "name:" + str(conn.get("name")).casefold()
        out[key] = conn
    return out


def _properties(conn: Mapping[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {"Name": conn.get("name")}
    props.update(conn.get("settings") or {})
    props.update({_UNKNOWN + k: v for k, v in (conn.get("unknown") or {}).items()})
    return props


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Difference]:
    from deepdiff import DeepDiff

    before, after = _connectors(old), _connectors(new)
    out: list[Difference] = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            conn = a or b or {}
            name, guid = str(conn.get("name")), conn.get("guid")
            props = _properties(conn)
            if a is None:
                out.append(Difference(Kind.CONNECTOR_ADDED, name, guid, None, None, props))
            else:
                out.append(Difference(Kind.CONNECTOR_REMOVED, name, guid, None, props))
            continue
        name, guid = str(b.get("name")), b.get("guid")
        tree = DeepDiff(_properties(a), _properties(b), ignore_order=True, view="tree")
        found: list[Difference] = []
        for report_type, items in tree.items():
            for item in items:
                path = item.path(output_format="list")
                prop = _path_text(path)
                match report_type:
                    case "iterable_item_added" | "dictionary_item_added" | "set_item_added":
                        found.append(Difference(Kind.ADDED, name, guid, prop, None, item.t2))
                    case "iterable_item_removed" | "dictionary_item_removed" | "set_item_removed":
                        found.append(Difference(Kind.REMOVED, name, guid, prop, item.t1, None))
                    case _:
                        found.append(Difference(Kind.CHANGED, name, guid, prop, item.t1, item.t2))
        out.extend(sorted(found, key=lambda d: (d.property or "", d.kind.value, _json(d.after))))
    return out


def _path_text(path: Sequence[Any]) -> str:
    """``SenderIPAddresses`` for a list member, ``Prop.key`` for a mapping key below it."""
    parts = [str(p) for p in path if not isinstance(p, int)]
    return ".".join(parts) if parts else "(connector)"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def render_text(tenant: str, points: Sequence[Point]) -> str:
    """The tenant's history for a person; untrusted names and values shown, never acted on."""
    lines = [
        f"{tenant}: {len(points)} stored snapshot{'s' if len(points) != 1 else ''}"
        + (f", first {_z(points[0].taken_at)} (sweep {points[0].sweep})" if points else "")
    ]
    for step in steps(points):
        lines.append(
            f"{_z(step.after.taken_at)} sweep {step.after.sweep} "
            f"(since sweep {step.before.sweep}, {_z(step.before.taken_at)}):"
        )
        lines.extend(f"  {_line(d)}" for d in step.differences)
    return "\n".join(visible(line) for line in lines) + "\n"


def _line(d: Difference) -> str:
    who = f"connector {d.connector!r}" + (f" [{d.guid}]" if d.guid else "")
    match d.kind:
        case Kind.CONNECTOR_ADDED:
            return f"+ {who} appeared: {_shown(d.after)}"
        case Kind.CONNECTOR_REMOVED:
            return f"- {who} disappeared (was {_shown(d.before)})"
        case Kind.ADDED:
            return f"{who}: {d.property} +{_shown(d.after)}"
        case Kind.REMOVED:
            return f"{who}: {d.property} -{_shown(d.before)}"
        case Kind.CHANGED:
            return f"{who}: {d.property} {_shown(d.before)} -> {_shown(d.after)}"
        case _:
            assert_never(d.kind)


def _shown(value: Any) -> str:
    return bounded(_json(value))


def render_json(tenant: str, points: Sequence[Point]) -> str:
    doc = {
        "tenant": tenant,
        "snapshots": [{"sweep": p.sweep, "taken_at": _z(p.taken_at)} for p in points],
        "changes": [
            {
                "sweep": s.after.sweep,
                "taken_at": _z(s.after.taken_at),
                "since_sweep": s.before.sweep,
                "since": _z(s.before.taken_at),
                "differences": [
                    {
                        "kind": d.kind.value,
                        "connector": d.connector,
                        "guid": d.guid,
                        "property": d.property,
                        "before": d.before,
                        "after": d.after,
                    }
                    for d in s.differences
                ],
            }
            for s in steps(points)
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"
