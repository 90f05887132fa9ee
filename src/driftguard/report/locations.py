"""Where a report points in the repository: baseline files relative to its root.

SARIF and JUnit both send people (and annotation actions) to a line of a baseline file. Paths are
made relative to the repository root (the working directory, where CI runs driftguard), whatever
folder ``--baseline`` named; a tenant-wide result points at the tenant's ``tenant.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath, PurePosixPath

from driftguard.model import Location, TenantReport

DEFAULT_BASELINE = "baseline"
"""The folder ``--baseline`` names by default, for reports that do not say where they were read."""


def tenant_file(tenant: TenantReport) -> Location:
    """The tenant's ``tenant.yaml``: where the baseline was read, else beside the ``inbound/``
    folder of a located finding, else in the default baseline folder."""
    if tenant.location is not None:
        return Location(tenant.location.path)
    located = [f.location for f in tenant.findings if f.location is not None]
    located += [s.finding.location for s in tenant.suppressed if s.finding.location is not None]
    for location in located:
        folder = PurePosixPath(Path(location.path).as_posix()).parent
        if folder.name == "inbound":
            return Location(str(folder.parent / "tenant.yaml"))
    return Location(f"{DEFAULT_BASELINE}/{tenant.tenant}/tenant.yaml")


def under_root(path: str, root: Path) -> PurePath:
    """``path`` relative to ``root`` (a POSIX path) when it lies under it, else absolute.

    A relative path is taken as relative to ``root``; one that climbs out of it with ``..``
    becomes absolute, so no report names a file outside the repository as if it were inside.
    """
    candidate = Path(os.path.normpath(path))
    if not candidate.is_absolute() and candidate.parts[:1] == ("..",):
        candidate = Path(os.path.normpath(root.absolute() / candidate))
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(root.absolute())
        except ValueError:
            return candidate
    return PurePosixPath(*candidate.parts)
