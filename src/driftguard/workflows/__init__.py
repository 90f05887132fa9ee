"""The GitHub workflows `driftguard init --workflows` copies into a new baseline repository.

Byte-identical to the project's own ``.github/workflows/*.yml`` (a test keeps them so); stored as
``.yaml`` so they ship as package data.
"""

from __future__ import annotations

from importlib.resources import files

NAMES: tuple[str, ...] = ("nightly", "baseline-pr", "plan-apply")


def workflow_text(name: str) -> str:
    """The text of the packaged workflow ``name`` (one of NAMES)."""
    if name not in NAMES:
        raise KeyError(name)
    return files("driftguard.workflows").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
