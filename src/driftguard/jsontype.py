"""The type of a JSON value driftguard builds: plan parameters and preconditions, recorded states.

Read-only containers (``Sequence``, ``Mapping``): a ``list[str]`` or a ``dict[str, bool]`` is one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

Json: TypeAlias = str | int | float | bool | Sequence["Json"] | Mapping[str, "Json"] | None
