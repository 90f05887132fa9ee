"""Where each tenant's live state comes from, for the commands that read it (diff, plan, ...).

``--live FILE`` reads a file (one tenant only); the ``demo`` tenant reads the packaged demo state;
real tenants read the Exchange admin API. A tenant that cannot be read gets its LiveReadError back
instead of a snapshot, so the other tenants are still reported.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from driftguard.errors import InputError, LiveReadError
from driftguard.model import Baseline, Snapshot, TenantConfig

DEMO_TENANT = "demo"


def add_live(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--live",
        metavar="FILE",
        help="read the live state from FILE (Get-InboundConnector | ConvertTo-Json -Depth 5, "
        "an InvokeCommand body, or a driftguard snapshot) instead of the service; one tenant only",
    )


def selected_tenants(args: argparse.Namespace, baseline: Baseline) -> list[str]:
    """The tenants asked for, in order (default: every tenant of the baseline, sorted)."""
    wanted: list[str] = list(dict.fromkeys(getattr(args, "tenants", None) or ()))
    names = wanted or sorted(baseline.tenants)
    if getattr(args, "live", None) and len(names) != 1:
        raise InputError(
            f"--live reads one tenant's state, but {len(names)} tenants are selected",
            hint="add --tenant T to say which tenant the file belongs to",
        )
    return names


def snapshots_for(
    args: argparse.Namespace, baseline: Baseline, tenants: list[str]
) -> Mapping[str, Snapshot | LiveReadError]:
    """Per tenant, its live snapshot or the error that prevented a complete read."""
    result: dict[str, Snapshot | LiveReadError] = {}
    for name in tenants:
        config = baseline.tenants[name].config
        try:
            result[name] = _read(args, config)
        except LiveReadError as exc:
            exc.tenant = exc.tenant or name
            result[name] = exc
    return result


def _read(args: argparse.Namespace, config: TenantConfig) -> Snapshot:
    live_file = getattr(args, "live", None)
    if live_file:
        from driftguard.live.files import FileSource

        return FileSource(live_file).snapshot(config)
    if config.name == DEMO_TENANT:
        from driftguard.demo.source import DemoSource

        return DemoSource().snapshot(config)
    raise LiveReadError(
        f"tenant {config.name!r}: the Exchange source is not wired yet",
        tenant=config.name,
        hint="pass --live FILE with `Get-InboundConnector | ConvertTo-Json -Depth 5` output",
    )
