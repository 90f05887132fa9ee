"""Every free-text value of a report bounded before any renderer sees it.

A connector's comment or name is attacker-controlled and may be megabytes long; rendered whole in
six formats it costs gigabytes. Each renderer's entry point passes its report through
``bounded``, which returns the same report with every string (names, comments, reasons, warnings,
evidence, mapping keys included) cut to ``textsafe.MAX_CHARS`` with a visible marker and every
lone surrogate replaced by U+FFFD, so that one tenant's broken text cannot fail the whole report.
Enum members, numbers, times and the structure are left as they are.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Any

from driftguard.model import Report
from driftguard.textsafe import MAX_CHARS, without_surrogates
from driftguard.textsafe import bounded as bounded_text


def bounded(report: Report) -> Report:
    """``report`` with every string bounded and printable as UTF-8."""
    result: Report = _bound(report)
    return result


def _bound(value: Any) -> Any:
    if value is None or type(value) in _AS_THEY_ARE:
        return value
    if type(value) is str and value.isascii() and len(value) <= MAX_CHARS:
        return value  # ASCII holds no surrogate: already bounded and printable as UTF-8
    out: Any
    if isinstance(value, Enum):
        out = value
    elif isinstance(value, str):
        out = without_surrogates(bounded_text(value))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _init_fields(type(value))
        changes = {name: _bound(getattr(value, name)) for name in names}
        if all(changes[name] is getattr(value, name) for name in names):
            out = value  # nothing to bound: the same frozen value
        else:
            out = dataclasses.replace(value, **changes)
    elif type(value) is tuple and _short_ascii(value):
        out = value  # e.g. a connector's 200 canonical IPs: already bounded and printable
    elif type(value) in (tuple, list):
        out = type(value)(_bound(item) for item in value)
    elif isinstance(value, Mapping):
        items = {_bound(k): _bound(v) for k, v in value.items()}
        out = MappingProxyType(items) if isinstance(value, MappingProxyType) else items
    else:
        out = value
    return out


_AS_THEY_ARE = frozenset({bool, int, float})  # the most common leaves of a report, checked first


@functools.cache
def _init_fields(cls: type) -> tuple[str, ...]:
    """The fields ``dataclasses.replace`` takes, per class (a report holds thousands of one)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def _short_ascii(items: tuple[Any, ...]) -> bool:
    """Every member is ASCII text (so no surrogate) within the bound: checked in one pass."""
    try:
        joined = "".join(items)
    except TypeError:  # a member that is not text
        return False
    return joined.isascii() and max(map(len, items), default=0) <= MAX_CHARS
