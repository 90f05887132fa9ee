"""Accepting live state into the baseline: the file changes ``driftguard adopt`` and ``init`` make.

A legitimate change made in the Exchange admin centre becomes a reviewed pull request: adopt
writes the live state of the chosen connectors into their baseline files (a new file for an
unknown connector, a rewrite for a changed one, a removal for a missing one only when asked), so
that afterwards ``driftguard diff`` is clean. Files are written in one canonical form: Name, then
Guid (pinned), then every other settable property in ``properties.SETTABLE`` order, only where
it differs from the service default, with canonical values, then ``Unmodelled:`` with the live
properties driftguard does not model (those with a value, and those the old file pinned), as the
service wrote them. A file that is rewritten is edited in place (``baseline/roundtrip.py``): the
reviewers' comments and the order of its keys stay, new keys go at the end. A connector whose
file already matches the live state is never rewritten, so adopting a clean tenant changes no
byte.

``plan_adoption`` is pure (values in, FileChanges out); ``write_changes`` performs them atomically.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from driftguard.errors import InputError
from driftguard.fsutil import write_atomic
from driftguard.model import BaselineConnector, Connector, TenantBaseline, TenantConfig
from driftguard.properties import REQUIRED_IN_BASELINE, SETTABLE, UNMODELLED, Value
from driftguard.risk import approved_criticals

_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")
_MAX_SLUG = 60


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class FileChange:
    action: Action
    path: Path
    connector: str
    content: str | None = None  # None for DELETE
    why: str = ""


@dataclass(frozen=True)
class Adoption:
    changes: tuple[FileChange, ...]
    skipped: tuple[str, ...] = ()  # human-readable notes on what was left alone
    warnings: tuple[str, ...] = ()  # critical patterns the adopted files approve


def plan_adoption(
    tenant: TenantBaseline,
    folder: Path,
    live: Sequence[Connector],
    *,
    names: Sequence[str] | None = None,
    remove_missing: bool = False,
) -> Adoption:
    """The file changes that make ``tenant``'s baseline (in ``folder``) match ``live``.

    ``names`` limits the adoption to those connectors (live or baseline names, case-insensitive);
    by default every unknown and every changed connector is adopted. Missing connectors (files
    with no live connector) are deleted only with ``remove_missing``.
    """
    from driftguard.diff import changed_fields, match, pinnable, unmodelled_changes

    matching = match(tenant.connectors, live)
    drifted = changed_fields([(bc.connector, lv) for bc, lv in matching.pairs])
    wanted = {n.lower() for n in names} if names is not None else None
    found: set[str] = set()

    def chosen(*candidates: str) -> bool:
        if wanted is None:
            return True
        hits = {c.lower() for c in candidates} & wanted
        found.update(hits)
        return bool(hits)

    changes: list[FileChange] = []
    skipped: list[str] = []
    taken = {p.name.lower() for p in (folder / "inbound").glob("*")} if folder.is_dir() else set()
    for (bc, lv), fields in zip(matching.pairs, drifted, strict=True):
        if not chosen(bc.connector.name, lv.name):
            continue
        pinned = {k.lower() for k in bc.connector.unmodelled}
        fields |= {f"{UNMODELLED}.{c.key}" for c in unmodelled_changes(bc.connector, lv)}
        fields |= {f"{UNMODELLED}.{k}" for k in pinnable(lv) if k.lower() not in pinned}
        if not fields:
            continue  # the file already says what is live: leave every byte alone
        content = _rewritten(Path(bc.path), connector_yaml(lv, keep=bc.connector.unmodelled))
        why = "changed: " + ", ".join(sorted(fields))
        changes.append(FileChange(Action.UPDATE, Path(bc.path), lv.name, content, why))
    for lv in matching.unknown:
        if not chosen(lv.name):
            continue
        path = folder / "inbound" / unique_file_name(lv.name, taken)
        taken.add(path.name.lower())
        content = connector_yaml(lv)
        changes.append(FileChange(Action.CREATE, path, lv.name, content, "unknown connector"))
    for bc in matching.missing:
        if not chosen(bc.connector.name):
            continue
        if remove_missing:
            why = "missing connector"
            changes.append(FileChange(Action.DELETE, Path(bc.path), bc.connector.name, None, why))
        elif wanted is not None:
            raise InputError(
                f"connector {bc.connector.name!r} is not live: adopting it removes {bc.path}",
                hint="add --remove-missing to delete its baseline file",
            )
        else:
            skipped.append(
                f"{bc.path}: connector {bc.connector.name!r} is not live; kept "
                "(--remove-missing deletes the file)"
            )
    if wanted is not None:
        unmatched = sorted(wanted - found)
        if unmatched:
            raise InputError(
                f"no connector named {', '.join(map(repr, unmatched))} in tenant "
                f"{tenant.config.name!r} (live or baseline)",
                hint="names are matched case-insensitively; see `driftguard diff`",
            )
    by_name = {lv.name: lv for lv in live}
    warnings = [
        f"{change.path}: warning: adopting approves a critical pattern: {sentence}"
        for change in changes
        if change.action is not Action.DELETE and change.connector in by_name
        for _field, sentence in approved_criticals(by_name[change.connector], tenant.config)
    ]
    return Adoption(tuple(changes), tuple(skipped), tuple(warnings))


def write_changes(changes: Iterable[FileChange]) -> None:
    """Perform the changes: atomic writes, removals of files that still exist."""
    for change in changes:
        if change.action is Action.DELETE:
            with contextlib.suppress(FileNotFoundError):
                change.path.unlink()
        else:
            assert change.content is not None  # noqa: S101 - a CREATE/UPDATE always has content
            write_atomic(change.path, change.content)


# --------------------------------------------------------------------------- file content


def connector_yaml(conn: Connector, keep: Iterable[str] = ()) -> str:
    """A connector as its baseline file: Name, Guid, then non-default properties in table order,
    then ``Unmodelled:`` with the live properties driftguard does not model that have a value or
    are named in ``keep`` (what the old file pinned)."""
    from driftguard.diff import pinnable

    lines = [_line("Name", conn.name)]
    if conn.guid:
        lines.append(_line("Guid", conn.guid.lower()))
    for prop in SETTABLE:
        if prop.name == "Name":
            continue
        value = conn.settings.get(prop.name, prop.default)
        if value == prop.default and prop.name not in REQUIRED_IN_BASELINE:
            continue
        lines.append(_line(prop.name, value))
    wanted = {k.lower() for k in keep}
    unmodelled = pinnable(conn) | {
        k: conn.other.get(k) for k in conn.unknown if k.lower() in wanted
    }
    if unmodelled:
        lines.append(_dump({UNMODELLED: dict(sorted(unmodelled.items()))}, flow=False))
    return "".join(lines)


def tenant_yaml(config: TenantConfig) -> str:
    """A new tenant.yaml: the required tenant_id, plus the keys that refine the analysis."""
    auth: dict[str, Any] = dict(config.auth)
    lines = [
        f"# driftguard settings for tenant {_comment_safe(config.name)} (see the README).\n",
        _line("tenant_id", config.tenant_id),
        _line("cloud", config.cloud),
        "# Domains the organisation really sends from, its own mail servers' IPv4 ranges and\n",
        "# the accounts allowed to change connectors: fill them in to sharpen risk ratings.\n",
        _line("accepted_domains", config.accepted_domains),
        _line("trusted_ip_ranges", config.trusted_ip_ranges),
        _line("admins", config.admins),
    ]
    if auth:
        lines.append(_dump({"auth": auth}, flow=False))
    return "".join(lines)


def unique_file_name(name: str, taken: set[str]) -> str:
    """``<slug>.yaml`` from a connector name, not clashing with ``taken`` (lower-case names)."""
    stem = slug(name)
    candidate = f"{stem}.yaml"
    counter = 2
    while candidate.lower() in taken:
        candidate = f"{stem}-{counter}.yaml"
        counter += 1
    return candidate


def slug(name: str) -> str:
    """A safe file stem: lower-case ASCII letters, digits and dashes; never empty or hidden."""
    text = _SLUG_UNSAFE.sub("-", name.lower()).strip("-")[:_MAX_SLUG].strip("-")
    return text or "connector"


def _line(key: str, value: Value | Sequence[str]) -> str:
    """``key: value`` on one line; lists in flow style (``[a, b]``), scalars quoted as needed."""
    if isinstance(value, tuple | list):
        flow = _dump(list(value), flow=True).strip()
        if flow.endswith("\n..."):  # pragma: no cover - never for a list
            flow = flow[: -len("\n...")]
        return f"{key}: {flow}\n"
    return _dump({key: value}, flow=False)


def _dump(data: Any, *, flow: bool) -> str:
    import yaml

    text: str = yaml.safe_dump(
        data,
        default_flow_style=flow,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
    )
    return text


def _rewritten(path: Path, canonical: str) -> str:
    """The file at ``path`` edited in place to say ``canonical`` (comments and key order kept);
    when that cannot be done, ``canonical`` under the file's leading comment lines."""
    from driftguard.baseline.roundtrip import merged

    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return canonical
    return merged(old, canonical) or _header(path) + canonical


def _header(path: Path) -> str:
    """The comment lines at the top of an existing file, kept when the file is rewritten."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    kept: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("#") or (line.strip() == "" and kept):
            kept.append(line if line.endswith("\n") else line + "\n")
            continue
        break
    while kept and kept[-1].strip() == "":
        kept.pop()
    return "".join(kept)


def _comment_safe(text: str) -> str:
    return " ".join(text.split())


def baseline_folder(connectors: Sequence[BaselineConnector], fallback: Path) -> Path:
    """The tenant folder (parent of ``inbound/``) of existing connector files, else ``fallback``."""
    for bc in connectors:
        parent = Path(bc.path).parent
        if parent.name == "inbound":
            return parent.parent
    return fallback
