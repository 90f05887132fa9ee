"""Live lists put in canonical form by a lookup in what the tenant's baseline already holds.

Most of a big tenant's live lists are its baseline's lists as the service spells them
(SenderIPAddresses ``203.0.113.7`` for ``203.0.113.7/32``, SenderDomains ``smtp:contoso.com;1``
for ``contoso.com``), in another order. A ``ListSeed``, made once per tenant baseline, maps the
set of each baseline list's members, in the service's spelling and in the canonical one, to the
baseline's canonical tuple: such a live list is canonical after one set and one lookup, with no
parsing or sorting, and is the baseline's own tuple object.

Exact by construction: a baseline list seeds only when the plain path (``plainlists``) proves
every member its own canonical form (IPv4 ``a.b.c.d/32``; a plain lower-case domain) and the
tuple distinct and in canonical order; the service's spelling of such a member is one the plain
path reads as that member. Anything else in a live list (another spelling, whitespace, a member
added, not text) misses, and the list takes the usual path, which accepts or explains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from driftguard import plainlists
from driftguard.properties import SETTABLE, Kind, Value

_SPELLED: Mapping[Kind, Callable[[Sequence[str]], list[str] | None]] = MappingProxyType(
    {Kind.IPV4_NETWORKS: plainlists.service_ipv4, Kind.DOMAINS: plainlists.service_domains}
)
_SEEDED: tuple[tuple[str, Kind], ...] = tuple(
    (p.name, p.kind) for p in SETTABLE if p.kind in _SPELLED
)


@dataclass(frozen=True)
class ListSeed:
    """``lists[property]``: the set of the members of a baseline list of that property, as the
    service spells them and as they are canonically written, -> that list's canonical tuple
    (the baseline's own object)."""

    lists: Mapping[str, Mapping[frozenset[str], tuple[str, ...]]]

    def canonical(self, name: str, items: list[Any]) -> tuple[str, ...] | None:
        """The canonical list when ``items`` holds exactly the members of a baseline list in one
        of those spellings (in any order, repeats allowed): what ``normalize.canonical_list``
        gives, without notes (a known spelling needs none). Else None."""
        known = self.lists.get(name)
        if not known:
            return None
        try:
            return known.get(frozenset(items))
        except TypeError:  # a member that is not hashable: the usual path names it
            return None


NO_SEED = ListSeed(MappingProxyType({}))
"""Seeds nothing: every list takes the usual path."""


def seed_for(connectors: Iterable[Mapping[str, Value]]) -> ListSeed:
    """The seed of a tenant's baseline, from its connectors' canonical settings."""
    lists: dict[str, dict[frozenset[str], tuple[str, ...]]] = {name: {} for name, _ in _SEEDED}
    for settings in connectors:
        for name, kind in _SEEDED:
            value = settings.get(name)
            if type(value) is not tuple:
                continue
            spelled = _SPELLED[kind](value)
            if spelled is None:  # not plain and canonical: the usual path reads such a list
                continue
            known = lists[name]
            known.setdefault(frozenset(value), value)
            known.setdefault(frozenset(spelled), value)
    return ListSeed(MappingProxyType({k: MappingProxyType(v) for k, v in lists.items()}))
