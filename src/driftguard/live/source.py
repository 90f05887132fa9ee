"""The Source seam: where live connectors come from (the service, a file, the demo tenant)."""

from __future__ import annotations

from typing import Protocol

from driftguard.model import Snapshot, TenantConfig


class Source(Protocol):
    """Reads the whole live state of one tenant or raises LiveReadError; never a partial read."""

    def snapshot(self, tenant: TenantConfig) -> Snapshot: ...
