"""The plan document: JSON with a sha256 digest over its canonical form, checked on every read.

Canonical form: the document without ``digest``, ``json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=False)``, UTF-8. It holds only strings, booleans, integers
and nulls (times are ISO-8601 strings, seconds, ``Z``), so it is byte-identical on every platform.
The document is validated against ``plan.schema.json`` when written and when read; a file whose
digest does not match its content, or that breaks the schema, is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from driftguard import jsonsafe
from driftguard.errors import JsonError, PlanError
from driftguard.fsutil import write_atomic
from driftguard.jsontype import Json
from driftguard.planmodel import PLAN_VERSION, Action, ActionKind, Plan
from driftguard.tenantstate import TenantState

DIGEST_PREFIX = "sha256:"
MAX_PLAN_BYTES = jsonsafe.MAX_CHARS
"""A plan records every live connector: 2,000 connectors of 200 addresses are about 13 MB."""


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def canonical_json(doc: Json) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def digest_of(doc: Mapping[str, Json]) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``doc`` without its ``digest`` field."""
    body = {k: v for k, v in doc.items() if k != "digest"}
    return DIGEST_PREFIX + hashlib.sha256(canonical_json(body)).hexdigest()


def short(digest: str) -> str:
    """The first 8 hex characters, what a person types at the approval prompt."""
    return digest.removeprefix(DIGEST_PREFIX)[:8]


def _action_doc(a: Action) -> dict[str, Json]:
    names: dict[str, Json] = (
        {"user": a.connector, "user_id": a.guid}
        if a.kind.on_account
        else {"connector": a.connector, "guid": a.guid}
    )
    return {
        "id": a.id,
        "kind": a.kind.value,
        "tenant": a.tenant,
        **names,
        "cmdlet": a.cmdlet,
        "credential": a.credential,
        "parameters": dict(a.parameters),
        "precondition": a.precondition if isinstance(a.precondition, str) else dict(a.precondition),
    }


def _action_from(a: Mapping[str, Any]) -> Action:
    account = ActionKind(a["kind"]).on_account
    return Action(
        id=a["id"],
        kind=ActionKind(a["kind"]),
        tenant=a["tenant"],
        connector=a["user"] if account else a["connector"],
        guid=a["user_id"] if account else a["guid"],
        cmdlet=a["cmdlet"],
        parameters=a["parameters"],
        precondition=a["precondition"],
    )


def to_document(plan: Plan) -> dict[str, Json]:
    """The JSON document of a plan, digest included."""
    doc: dict[str, Json] = {
        "plan_version": plan.plan_version,
        "purpose": plan.purpose,
        "tenant": plan.tenant,
        "tenant_id": plan.tenant_id,
        "baseline_commit": plan.baseline_commit,
        "baseline_digest": plan.baseline_digest,
        "snapshot_digest": plan.snapshot_digest,
        "live": None if plan.live is None else plan.live.document(),
        "created_at": format_time(plan.created_at),
        "expires_at": format_time(plan.expires_at),
        "flags": {
            "force": plan.force,
            "remove_unknown": plan.remove_unknown,
            "block_sign_in": plan.block_sign_in,
        },
        "actions": [_action_doc(a) for a in plan.actions],
        "notes": list(plan.notes),
    }
    doc["digest"] = digest_of(doc)
    return doc


def dumps(plan: Plan) -> str:
    """The plan file's text: indented for reviewers (the digest does not depend on layout)."""
    doc = to_document(plan)
    validate(doc, "plan")
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def plan_digest(plan: Plan) -> str:
    return str(to_document(plan)["digest"])


def from_document(doc: Any, source: str = "plan") -> Plan:
    """A plan from its JSON document; refuses schema violations and digest mismatches."""
    version = doc.get("plan_version") if isinstance(doc, dict) else None
    if isinstance(version, int) and version != PLAN_VERSION:
        raise PlanError(
            f"{source}: plan format version {version} is not the one this driftguard applies "
            f"({PLAN_VERSION})",
            hint="make the plan again with 'driftguard plan --out PLAN' and review it",
        )
    validate(doc, source)
    expected = digest_of(doc)
    if doc["digest"] != expected:
        raise PlanError(
            f"{source}: the plan's digest does not match its content (tampered or damaged)",
            hint="make a new plan with 'driftguard plan --out PLAN' and review it again",
        )
    return Plan(
        tenant=doc["tenant"],
        tenant_id=doc["tenant_id"],
        baseline_commit=doc["baseline_commit"],
        snapshot_digest=doc["snapshot_digest"],
        created_at=parse_time(doc["created_at"]),
        expires_at=parse_time(doc["expires_at"]),
        actions=tuple(_action_from(a) for a in doc["actions"]),
        force=doc["flags"]["force"],
        remove_unknown=doc["flags"]["remove_unknown"],
        block_sign_in=doc["flags"]["block_sign_in"],
        notes=tuple(doc["notes"]),
        purpose=doc["purpose"],
        plan_version=doc["plan_version"],
        baseline_digest=doc["baseline_digest"],
        live=None if doc["live"] is None else TenantState.from_document(doc["live"]),
    )


def write_plan(path: str | Path, plan: Plan) -> str:
    """Write the plan file atomically; returns its digest."""
    text = dumps(plan)
    write_atomic(path, text)
    return plan_digest(plan)


def read_plan(path: str | Path) -> Plan:
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the plan: {exc.strerror or exc}") from exc
    if len(raw) > MAX_PLAN_BYTES:
        raise PlanError(f"{path}: not a plan file (larger than {MAX_PLAN_BYTES} bytes)")
    try:
        doc = jsonsafe.loads(raw, source=str(path))
    except JsonError as exc:
        raise PlanError(f"not a plan file: {exc.message}") from exc
    return from_document(doc, str(path))


def schema() -> dict[str, Any]:
    text = resources.files("driftguard").joinpath("plan.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(doc: Any, source: str) -> None:
    """Raise PlanError naming every schema violation (path and message)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or '(document)'}: {e.message}"
            for e in errors[:5]
        )
        raise PlanError(f"{source}: not a valid driftguard plan: {problems}")


def render_text(plan: Plan) -> str:
    """The plan for a reviewer: each action as the PowerShell a human would type (an account
    action: the Graph request and the credential it needs), and the digest.

    Every line is rendered from the actions' parameters now, never read from the plan file, so
    what a reviewer approves is what runs. Untrusted text (connector names) is quoted in the
    PowerShell lines; the CLI strips control characters before it reaches a terminal.
    """
    digest = plan_digest(plan)
    what = "Rollback plan" if plan.purpose == "rollback" else "Plan"
    lines = [
        f"{what} for tenant {plan.tenant} ({plan.tenant_id})",
        f"  made {format_time(plan.created_at)}, expires {format_time(plan.expires_at)}",
    ]
    if plan.baseline_commit:
        lines.append(f"  baseline commit {plan.baseline_commit}")
    if plan.baseline_digest:
        lines.append(f"  baseline digest {plan.baseline_digest}")
    if plan.snapshot_digest:
        lines.append(f"  live snapshot {plan.snapshot_digest}")
    flags = [
        f
        for f, on in (
            ("--force", plan.force),
            ("--remove-unknown", plan.remove_unknown),
            ("--block-sign-in", plan.block_sign_in),
        )
        if on
    ]
    if flags:
        lines.append("  flags: " + " ".join(flags))
    lines.append("")
    if not plan.actions and not plan.notes:
        lines.append("Nothing to do: the live connectors match the baseline.")
    elif not plan.actions:  # drift driftguard cannot revert (e.g. a pinned Unmodelled property)
        lines.append("No action driftguard can take: review the notes below by hand.")
    for a in plan.actions:
        lines.append(f"[{a.id}] {a.summary}")
        lines.append(f"    {a.command}")
        if a.kind.on_account:
            lines.append("    (Microsoft Graph, with the credential auth.graph_write)")
    for note in plan.notes:
        lines.append(f"note: {note}")
    if plan.actions:
        lines += [
            "",
            f"digest: {digest}",
            f"approve with: --approve {digest}  (or type {short(digest)} when asked)",
        ]
    return "\n".join(lines) + "\n"
