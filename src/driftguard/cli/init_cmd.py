"""`driftguard init`: scaffold a tenant's baseline folder from its live state."""

from __future__ import annotations

import argparse
from typing import Any

from driftguard.cli._common import add_baseline
from driftguard.cli._live import add_live


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "init",
        help="create a tenant's baseline folder from its live connectors",
        description="Create <baseline>/<name>/tenant.yaml and one inbound/ file per live "
        "connector (Guid pinned), as the starting point of a baseline repository. Review every "
        "file before committing: whatever is live now becomes the approved state. Exit 0, 1.",
    )
    add_baseline(parser)
    parser.add_argument("--name", required=True, metavar="T", help="tenant folder name")
    parser.add_argument(
        "--tenant-id", required=True, metavar="GUID", help="the Entra tenant id (GUID)"
    )
    parser.add_argument(
        "--cloud",
        default="global",
        choices=("global", "gcc-high", "dod", "china"),
        help="the Microsoft cloud the tenant lives in (written to tenant.yaml; default: global)",
    )
    parser.add_argument(
        "--client-id", metavar="ID", help="app registration used to read (written to auth:)"
    )
    parser.add_argument(
        "--workflows",
        action="store_true",
        help="also write the nightly, baseline-PR and plan-apply GitHub workflows into "
        ".github/workflows/ beside the baseline folder (existing files are kept)",
    )
    parser.add_argument(
        "--action",
        metavar="OWNER/REPO@SHA",
        help="with --workflows: driftguard's composite action the workflows run, pinned by a "
        "full commit SHA (the repository you install driftguard from, at a release's commit)",
    )
    add_live(parser)
    parser.set_defaults(func=run)


NO_TENANT_YAML = (
    "give the credential through AZURE_CLIENT_CERTIFICATE_PATH, AZURE_CLIENT_SECRET or "
    "AZURE_FEDERATED_TOKEN_FILE, or read a file instead (--live FILE)"
)


def run(args: argparse.Namespace) -> int:
    import os
    import re
    import uuid
    from pathlib import Path
    from types import MappingProxyType

    from driftguard.adopt import (
        Action,
        FileChange,
        connector_yaml,
        tenant_yaml,
        unique_file_name,
        write_changes,
    )
    from driftguard.baseline.load import DEMO_TENANT
    from driftguard.cli._live import snapshots_for
    from driftguard.cli._output import info
    from driftguard.core import live_connectors
    from driftguard.errors import InputError
    from driftguard.model import Baseline, TenantBaseline, TenantConfig

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", args.name):
        raise InputError(
            f"--name {args.name!r} is not a usable folder name",
            hint="letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    try:
        tenant_id = str(uuid.UUID(args.tenant_id))
    except ValueError:
        raise InputError(f"--tenant-id {args.tenant_id!r} is not a GUID") from None
    if args.workflows:
        from driftguard.workflows import ACTION_REF

        if not args.action or not ACTION_REF.fullmatch(args.action):
            raise InputError(
                f"--workflows needs --action OWNER/REPO@SHA, got {args.action!r}",
                hint="the repository driftguard comes from and a release's full 40-character "
                "commit SHA, e.g. --action contoso/driftguard@<sha of tag v0.2.0>",
            )
    folder = Path(args.baseline) / args.name
    if folder.exists():
        raise InputError(
            f"{folder} already exists",
            hint="use `driftguard adopt` to bring an existing baseline up to date",
        )
    reads_service = not getattr(args, "live", None) and args.name != DEMO_TENANT
    if reads_service and not args.client_id and not os.environ.get("AZURE_CLIENT_ID"):
        raise InputError(
            "init reads the tenant's live connectors and needs the app that reads them: "
            "--client-id is missing",
            hint=f"pass --client-id ID (written to {folder / 'tenant.yaml'}, which does not "
            f"exist yet) or set AZURE_CLIENT_ID; {NO_TENANT_YAML}",
        )
    auth = {"client_id": args.client_id} if args.client_id else {}
    config = TenantConfig(
        name=args.name, tenant_id=tenant_id, cloud=args.cloud, auth=MappingProxyType(auth)
    )
    scratch = Baseline(
        root=str(args.baseline),
        tenants=MappingProxyType({args.name: TenantBaseline(config=config, connectors=())}),
    )
    live = snapshots_for(args, scratch, [args.name])[args.name]
    if isinstance(live, Exception):
        if live.hint and "tenant.yaml" in live.hint:  # there is none yet to edit
            live.hint = NO_TENANT_YAML
        raise live
    connectors = live_connectors(live)
    changes = [FileChange(Action.CREATE, folder / "tenant.yaml", "", tenant_yaml(config))]
    taken: set[str] = set()
    for conn in sorted(connectors, key=lambda c: c.name.lower()):
        path = folder / "inbound" / unique_file_name(conn.name, taken)
        taken.add(path.name.lower())
        changes.append(FileChange(Action.CREATE, path, conn.name, connector_yaml(conn)))
    if args.workflows:
        from driftguard import __version__
        from driftguard.workflows import NAMES, workflow_for

        target = Path(args.baseline).absolute().parent / ".github" / "workflows"
        for workflow in NAMES:
            path = target / f"{workflow}.yml"
            if path.exists():
                info(f"kept the existing {path}")
                continue
            text = workflow_for(workflow, args.action, __version__)
            changes.append(FileChange(Action.CREATE, path, "", text))
    write_changes(changes)
    for change in changes:
        info(f"created {change.path}")
    info(
        f"review every file: the {len(connectors)} live connector(s) are now the approved "
        "baseline; then run `driftguard validate` and commit"
    )
    return 0
