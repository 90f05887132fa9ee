"""The embedded demo tenant's live state: a packaged InvokeCommand body, no account, no network."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources

from driftguard.errors import LiveReadError
from driftguard.live.files import parse_live
from driftguard.model import Snapshot, TenantConfig

DEMO_TENANT = "demo"
LIVE_RESOURCE = "live.json"


def live_bytes() -> bytes:
    """The compromised live state as the admin API would return it."""
    return resources.files("driftguard.demo").joinpath(LIVE_RESOURCE).read_bytes()


def _now() -> datetime:
    return datetime.now(UTC)


class DemoSource:
    """A Source reading the packaged ``driftguard/demo/live.json``."""

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self.clock = clock

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        try:
            live = parse_live(live_bytes(), f"driftguard/demo/{LIVE_RESOURCE}")
        except LiveReadError as exc:
            exc.tenant = tenant.name
            raise
        return Snapshot(
            tenant=tenant.name,
            records=live.records,
            source="demo",
            taken_at=self.clock(),
            warnings=live.warnings,
        )
