"""`snapshot` as functions: where each tenant's snapshot goes, and the snapshot file's text."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

from driftguard.errors import InputError
from driftguard.live.files import SNAPSHOT_VERSION, snapshot_digest
from driftguard.model import Snapshot


def snapshot_targets(out: str, names: Sequence[str]) -> dict[str, Path]:
    """The file of each tenant: ``out`` itself for one tenant, ``out/<tenant>.json`` when ``out``
    is a folder (an existing one, or a path ending in a separator)."""
    path = Path(out)
    folder = path.is_dir() or out.endswith((os.sep, "/"))
    if len(names) > 1 and not folder:
        raise InputError(
            f"--out {out}: {len(names)} tenants selected, so --out must be a folder",
            hint="pass an existing folder or end the path with '/' (one <tenant>.json each), "
            "or pick one tenant with --tenant",
        )
    if folder:
        return {name: path / f"{name}.json" for name in names}
    return {names[0]: path}


def snapshot_document(snapshot: Snapshot, tenant_id: str) -> str:
    """The snapshot file's JSON text (live.files reads it back)."""
    taken = snapshot.taken_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    doc = {
        "driftguard_snapshot": SNAPSHOT_VERSION,
        "tenant": snapshot.tenant,
        "tenant_id": tenant_id,
        "taken_at": taken,
        "source": snapshot.source,
        "digest": snapshot_digest(snapshot.records),
        "records": [dict(r) for r in snapshot.records],
        "warnings": list(snapshot.warnings),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
