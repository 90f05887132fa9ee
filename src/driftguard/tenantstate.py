"""The live state a plan was made from, recorded in the plan so apply can tell what moved since.

Every live connector in canonical form (Guid, Name, every compared property, and the properties
driftguard does not know, as received) and the blocked list when it was read. Pure values: built
from normalised connectors, written to and read from the plan document, compared whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from driftguard.jsontype import Json
from driftguard.model import Connector
from driftguard.planmodel import json_value, same_value, show_value
from driftguard.properties import COMPARED


@dataclass(frozen=True)
class ConnectorState:
    name: str
    guid: str | None
    settings: Mapping[str, Any]  # every compared property, JSON form (lists, not tuples)
    unknown: Mapping[str, Json]  # properties driftguard does not know, exactly as received

    @classmethod
    def of(cls, conn: Connector) -> ConnectorState:
        return cls(
            name=conn.name,
            guid=conn.guid,
            settings={p: json_value(conn.settings.get(p)) for p in COMPARED},
            unknown={k: conn.other.get(k) for k in conn.unknown},
        )

    def connector(self) -> Connector:
        """The canonical Connector this state was recorded from (for re-planning)."""
        return Connector(
            name=self.name,
            guid=self.guid,
            settings={k: tuple(v) if isinstance(v, list) else v for k, v in self.settings.items()},
            other=dict(self.unknown),
            unknown=tuple(sorted(self.unknown)),
        )

    def with_settings(self, parameters: Mapping[str, Json]) -> ConnectorState:
        """This state with a Set's parameters written over it (Identity is not a setting)."""
        settings = dict(self.settings)
        settings.update({k: v for k, v in parameters.items() if k != "Identity"})
        name = settings.get("Name")
        return ConnectorState(
            name if isinstance(name, str) else self.name, self.guid, settings, self.unknown
        )

    def differences(self, now: ConnectorState, expected: str = "the plan saw") -> list[str]:
        """What ``now`` has that this state does not: ``Prop is now X, <expected> Y`` each."""
        out: list[str] = []
        for prop in sorted(set(self.settings) | set(now.settings), key=_order):
            want, got = self.settings.get(prop), now.settings.get(prop)
            if not same_value(prop, want, got):
                out.append(f"{prop} is now {show_value(got)}, {expected} {show_value(want)}")
        for key in sorted(set(self.unknown) | set(now.unknown)):
            if self.unknown.get(key) != now.unknown.get(key):
                out.append(
                    f"{key} is now {show_value(_plain(now.unknown.get(key)))}, "
                    f"{expected} {show_value(_plain(self.unknown.get(key)))}"
                )
        return out

    def document(self) -> dict[str, Json]:
        return {
            "name": self.name,
            "guid": self.guid,
            "settings": dict(self.settings),
            "unknown": dict(self.unknown),
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ConnectorState:
        return cls(doc["name"], doc["guid"], dict(doc["settings"]), dict(doc["unknown"]))


@dataclass(frozen=True)
class BlockedEntry:
    """One row of Get-BlockedConnector: the connector's id and name as the service gives them."""

    connector_id: str | None
    name: str | None

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(k.casefold() for k in (self.connector_id, self.name) if k)

    @property
    def label(self) -> str:
        return self.name or self.connector_id or "(unnamed)"


@dataclass(frozen=True)
class TenantState:
    connectors: tuple[ConnectorState, ...]
    blocked: tuple[BlockedEntry, ...] | None  # None: the blocked list was not read

    @classmethod
    def of(
        cls, connectors: Sequence[Connector], blocked: Sequence[BlockedEntry] | None
    ) -> TenantState:
        states = sorted(
            (ConnectorState.of(c) for c in connectors),
            key=lambda s: (s.name.casefold(), s.guid or ""),
        )
        rows = None if blocked is None else tuple(sorted(set(blocked), key=_blocked_order))
        return cls(tuple(states), rows)

    def document(self) -> dict[str, Json]:
        return {
            "connectors": [c.document() for c in self.connectors],
            "blocked": None
            if self.blocked is None
            else [{"connector_id": b.connector_id, "name": b.name} for b in self.blocked],
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> TenantState:
        rows = doc["blocked"]
        blocked = None
        if rows is not None:
            blocked = tuple(BlockedEntry(r["connector_id"], r["name"]) for r in rows)
        return cls(tuple(ConnectorState.from_document(c) for c in doc["connectors"]), blocked)


_ORDER = {name: i for i, name in enumerate(COMPARED)}


def _order(prop: str) -> tuple[int, str]:
    return (_ORDER.get(prop, len(_ORDER)), prop)


def _blocked_order(b: BlockedEntry) -> tuple[str, str]:
    return ((b.connector_id or "").casefold(), (b.name or "").casefold())


def _plain(value: Json) -> Json:
    """An unknown property's value shown as text when it is not a plain value."""
    if value is None or isinstance(value, str | bool | int | list):
        return value
    return str(value)
