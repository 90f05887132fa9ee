"""Load a baseline folder (CONTRACT.md) into ``model.Baseline``, reporting every problem at once.

    baseline/<tenant>/tenant.yaml
    baseline/<tenant>/inbound/*.yaml       one connector per file (.yml too)
    baseline/.driftguardignore.yaml        optional accepted exceptions

``load_baseline`` raises one ``BaselineError`` carrying every problem in every file. ``check``
returns the problems instead, for ``driftguard validate``, which also holds ignore entries to the
stricter standard of ``ignore_problems`` (a reason, a future expiry).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

from driftguard.baseline.files import Identity, connector_file, ignore_file, tenant_file
from driftguard.errors import BaselineError, Problem
from driftguard.model import Baseline, BaselineConnector, IgnoreEntry, Location, TenantBaseline
from driftguard.textsafe import shown

DEMO_TENANT = "demo"
IGNORE_FILE = ".driftguardignore.yaml"
_YAML_SUFFIXES = (".yaml", ".yml")


def demo_root() -> Path:
    """The baseline folder bundled with the package; it holds the ``demo`` tenant."""
    from importlib.resources import files

    root = files("driftguard.demo").joinpath("baseline")
    if isinstance(root, Path):
        return root
    return Path(__file__).resolve().parent.parent / "demo" / "baseline"  # pragma: no cover


@dataclass(frozen=True)
class Checked:
    """What ``check`` could build, and every problem it found (sorted by file and line)."""

    baseline: Baseline
    problems: tuple[Problem, ...]
    connector_files: int


def load_baseline(root: str | os.PathLike[str], tenants: Sequence[str] | None = None) -> Baseline:
    """The baseline under ``root`` (only ``tenants`` if given); BaselineError lists all problems."""
    checked = check(root, tenants)
    if checked.problems:
        count = len(checked.problems)
        raise BaselineError(
            f"the baseline in {root} has {count} problem{'s' if count != 1 else ''}",
            checked.problems,
            hint="run 'driftguard validate' after fixing the files listed above",
        )
    return checked.baseline


def load_requested(root: str | os.PathLike[str], tenants: Sequence[str] | None = None) -> Baseline:
    """As the CLI resolves ``--baseline``/``--tenant``: ``demo`` falls back to the bundled demo.

    When ``root`` has no ``demo`` folder (or does not exist) and ``demo`` is asked for, the demo
    tenant comes from ``demo_root()``; other tenants still come from ``root``.
    """
    wanted = list(dict.fromkeys(tenants or ()))
    if DEMO_TENANT not in wanted or (Path(root) / DEMO_TENANT).is_dir():
        return load_baseline(root, wanted or None)
    demo = load_baseline(demo_root(), [DEMO_TENANT])
    others = [t for t in wanted if t != DEMO_TENANT]
    if not others:
        return demo
    rest = load_baseline(root, others)
    return Baseline(
        root=rest.root,
        tenants=MappingProxyType({**rest.tenants, **demo.tenants}),
        ignores=rest.ignores,
    )


def check(root: str | os.PathLike[str], tenants: Sequence[str] | None = None) -> Checked:
    """Read everything under ``root``; raises only if the folder or a tenant asked for is absent."""
    base = Path(root)
    if not base.is_dir():
        raise BaselineError(
            f"no baseline folder at {base}",
            hint="pass --baseline DIR, or --tenant demo to try the bundled demo tenant",
        )
    available = tenant_folders(base)
    if tenants:
        unknown = [t for t in dict.fromkeys(tenants) if t not in available]
        if unknown:
            listed = ", ".join(available) if available else "none"
            raise BaselineError(
                f"no tenant {', '.join(map(repr, unknown))} in {base} (tenants there: {listed})",
                hint="a tenant is a folder under the baseline folder holding tenant.yaml",
            )
        selected = list(dict.fromkeys(tenants))
    elif available:
        selected = available
    else:  # nothing to check is never "all clear"
        raise BaselineError(
            f"no tenants found in {base}",
            hint="a tenant is a folder under the baseline folder holding tenant.yaml "
            "(folders starting with '.' or '_' are not tenants)",
        )
    problems: list[Problem] = []
    connector_files = 0
    loaded: dict[str, TenantBaseline] = {}
    for name in selected:
        tenant, tenant_problems, count = _tenant(base, name)
        problems.extend(tenant_problems)
        connector_files += count
        if tenant is not None:
            loaded[name] = tenant
    ignores: list[IgnoreEntry] = []
    misnamed = base / ".driftguardignore.yml"
    if misnamed.is_file():  # silently unused exceptions would surprise; say so
        problems.append(Problem(str(misnamed), 1, 1, f"not read: the ignore file is {IGNORE_FILE}"))
    ignore_path = base / IGNORE_FILE
    if ignore_path.is_file():
        outside = _outside(base, ignore_path)
        if outside:
            problems.append(outside)
        else:
            ignores, ignore_problems_found = ignore_file(ignore_path, str(ignore_path))
            problems.extend(ignore_problems_found)
    problems.sort(key=lambda p: (p.path, p.line, p.column, p.message))
    return Checked(
        Baseline(root=str(base), tenants=MappingProxyType(loaded), ignores=tuple(ignores)),
        tuple(dict.fromkeys(problems)),
        connector_files,
    )


def tenant_folders(root: Path) -> list[str]:
    """Names of the tenant folders under ``root`` (hidden and ``_`` folders are not tenants)."""
    return sorted(
        p.name for p in _listing(root) if p.is_dir() and not p.name.startswith((".", "_"))
    )


def _listing(folder: Path) -> list[Path]:
    """The entries of ``folder``, sorted; an unreadable folder is a BaselineError, not a crash."""
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise BaselineError(f"cannot read folder {folder}: {exc.strerror or exc}") from exc


def ignore_problems(
    ignores: Iterable[IgnoreEntry], tenants: Iterable[str], today: date
) -> list[Problem]:
    """What ``validate`` holds against ignore entries that ``diff`` only reports.

    No reason, an expiry in the past, or a tenant the baseline does not have.
    """
    known = set(tenants)
    out: list[Problem] = []
    for entry in ignores:
        loc = entry.location
        path, line, col = (loc.path, loc.line, loc.column) if loc else (IGNORE_FILE, 1, 1)
        label = f"ignore entry for {entry.tenant}/{entry.connector}"
        if not entry.reason:
            out.append(Problem(path, line, col, f"{label} has no reason, so it suppresses nothing"))
        if entry.expires is not None and entry.expires < today:
            out.append(
                Problem(
                    path,
                    line,
                    col,
                    f"{label} expired on {entry.expires.isoformat()}, so it suppresses nothing",
                )
            )
        if entry.tenant not in known:
            out.append(Problem(path, line, col, f"{label}: no tenant {entry.tenant!r} here"))
    return out


# --------------------------------------------------------------------------- one tenant


def _tenant(base: Path, name: str) -> tuple[TenantBaseline | None, list[Problem], int]:
    """The tenant, its problems and how many connector files it has."""
    folder = base / name
    problems: list[Problem] = []
    files = 0
    config = None
    outside = _outside(base, folder)
    if outside:
        return None, [outside], 0
    tenant_yaml = folder / "tenant.yaml"
    if tenant_yaml.is_file() and (outside := _outside(base, tenant_yaml)):
        problems.append(outside)
    elif tenant_yaml.is_file():
        config, found = tenant_file(tenant_yaml, str(tenant_yaml), name)
        problems.extend(found)
    else:
        problems.append(
            Problem(
                str(tenant_yaml),
                1,
                1,
                f"tenant folder {name!r} has no tenant.yaml (it needs at least tenant_id)",
            )
        )
    for stray in _listing(folder):
        if stray.is_file() and stray.suffix.lower() in _YAML_SUFFIXES and stray != tenant_yaml:
            problems.append(
                Problem(str(stray), 1, 1, "not read: connector files go in the inbound/ folder")
            )
    connectors: list[BaselineConnector] = []
    identities: list[Identity] = []
    inbound = folder / "inbound"
    if inbound.is_dir() and (outside := _outside(base, inbound)):
        problems.append(outside)
    elif inbound.is_dir():
        for path in _listing(inbound):
            if path.name.startswith("."):
                continue
            # inbound/ itself was checked: only a file that is a link can lead out of it
            if path.is_symlink() and (outside := _outside(base, path)):
                problems.append(outside)
                continue
            if not path.is_file() or path.suffix.lower() not in _YAML_SUFFIXES:
                problems.append(
                    Problem(str(path), 1, 1, "not read: inbound/ holds .yaml connector files only")
                )
                continue
            files += 1
            connector, found, ident = connector_file(path, str(path))
            problems.extend(found)
            if connector is not None:
                connectors.append(connector)
            if ident is not None:
                identities.append(ident)
    problems.extend(_duplicates(identities))
    if config is None:
        return None, problems, files
    return TenantBaseline(config=config, connectors=tuple(connectors)), problems, files


def _outside(base: Path, path: Path) -> Problem | None:
    """A problem if ``path`` is a link (or under one) that resolves outside the baseline folder.

    Links inside the folder are fine; one leading out could make a pull request read a CI
    runner's files (a key, a token) into validation errors, so it is not followed at all.
    """
    try:
        path.resolve().relative_to(base.resolve())
    except ValueError:
        return Problem(str(path), 1, 1, "a link to a place outside the baseline folder; not read")
    except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13)
        return Problem(str(path), 1, 1, "a link that cannot be resolved (a loop?); not read")
    return None


def _duplicates(identities: Sequence[Identity]) -> list[Problem]:
    """Two files describing the same connector (same Name, any case, or same Guid)."""
    out: list[Problem] = []
    seen: dict[tuple[str, str], Identity] = {}
    for item in identities:
        keys: list[tuple[str, str, str, Location]] = [
            ("Name", item.name.casefold(), item.name, item.name_at)
        ]
        if item.guid and item.guid_at:
            keys.append(("Guid", item.guid, item.guid, item.guid_at))
        for field, key, name, loc in keys:
            first = seen.setdefault((field, key), item)
            if first is item:
                continue
            out.append(
                Problem(
                    loc.path,
                    loc.line,
                    loc.column,
                    f"{field} {shown(name)} is also used by {first.path}; "
                    f"each connector needs its own {field}",
                )
            )
    return out
