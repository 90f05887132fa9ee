"""The GitHub workflows `driftguard init --workflows` copies into a new baseline repository.

Byte-identical to the project's own ``.github/workflows/*.yml`` (a test keeps them so); stored as
``.yaml`` so they ship as package data. Those run driftguard's composite action as ``uses: ./``
(the action at the workflow's own commit); a baseline repository gets ``OWNER/REPO@SHA`` there.
"""

from __future__ import annotations

import re
from importlib.resources import files

NAMES: tuple[str, ...] = ("nightly", "baseline-pr", "plan-apply")

# The composite action in driftguard's repository, pinned by a full commit SHA (a tag can move).
ACTION_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}@[0-9a-f]{40}")
_SELF = re.compile(r"^(\s*(?:- )?uses: )\./$", flags=re.MULTILINE)


def workflow_text(name: str) -> str:
    """The text of the packaged workflow ``name`` (one of NAMES)."""
    if name not in NAMES:
        raise KeyError(name)
    return files("driftguard.workflows").joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def workflow_for(name: str, action: str, version: str) -> str:
    """The workflow ``name`` for a baseline repository: driftguard's action as ``action``
    (``OWNER/REPO@SHA``, see ACTION_REF), its release ``version`` in the pin's comment."""
    if not ACTION_REF.fullmatch(action):
        raise ValueError(f"not OWNER/REPO@<40-hex commit SHA>: {action!r}")
    text, count = _SELF.subn(lambda m: f"{m.group(1)}{action} # v{version}", workflow_text(name))
    if count == 0:
        raise ValueError(f"the packaged workflow {name} does not use driftguard's action")
    return text
