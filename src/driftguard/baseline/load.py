"""Load a baseline folder (CONTRACT.md) into ``model.Baseline``, reporting every problem at once.

    baseline/<tenant>/tenant.yaml
    baseline/<tenant>/inbound/*.yaml       one connector per file (.yml too)
    baseline/.driftguardignore.yaml        optional accepted exceptions

``load_baseline`` raises one ``BaselineError`` carrying every problem in every file. ``check``
returns the problems instead, for ``driftguard validate``, which also holds ignore entries to the
stricter standard of ``ignore_problems`` (a reason, a future expiry).

Loading has two stages, so a many-tenant command can start reading a tenant as soon as its
tenant.yaml is known: ``first_stage`` (every selected tenant's tenant.yaml, the ignore file) and
``connector_stage`` (one tenant's folder and connector files). ``check`` is the two together; the
problems of both stages, sorted, are the baseline's problems whichever way they were found.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

from driftguard.baseline.files import Identity, connector_file, ignore_file, tenant_file
from driftguard.errors import BaselineError, Problem
from driftguard.model import (
    Baseline,
    BaselineConnector,
    IgnoreEntry,
    Location,
    TenantBaseline,
    TenantConfig,
)
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
        raise problems_error(root, checked.problems)
    return checked.baseline


def problems_error(root: str | os.PathLike[str], problems: Sequence[Problem]) -> BaselineError:
    """The error of a baseline with ``problems`` (sorted, each once, as ``check`` gives them)."""
    count = len(problems)
    return BaselineError(
        f"the baseline in {root} has {count} problem{'s' if count != 1 else ''}",
        tuple(problems),
        hint="run 'driftguard validate' after fixing the files listed above",
    )


def sorted_problems(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """``problems`` in file and line order, each once."""
    ordered = sorted(problems, key=lambda p: (p.path, p.line, p.column, p.message))
    return tuple(dict.fromkeys(ordered))


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
    first = first_stage(root, tenants)
    problems = list(first.problems)
    connector_files = 0
    loaded: dict[str, TenantBaseline] = {}
    for name in first.selected:
        part = connector_stage(first, name)
        problems.extend(part.problems)
        connector_files += part.files
        if part.tenant is not None:
            loaded[name] = part.tenant
    return Checked(
        Baseline(root=first.root, tenants=MappingProxyType(loaded), ignores=first.ignores),
        sorted_problems(problems),
        connector_files,
    )


@dataclass(frozen=True)
class FirstStage:
    """What a baseline folder says before any connector file is read: the selected tenants, the
    configuration of each whose tenant.yaml is valid, the ignore entries, and the problems of
    those files. Picklable: a worker process can run ``connector_stage`` from it."""

    root: str
    given: str  # the folder as it was named, for messages
    selected: tuple[str, ...]
    configs: Mapping[str, TenantConfig]
    ignores: tuple[IgnoreEntry, ...]
    problems: tuple[Problem, ...]
    outside: frozenset[str]  # tenant folders that are links leading out: nothing more is read


@dataclass(frozen=True)
class TenantPart:
    """``connector_stage`` of one tenant: the tenant (None if its tenant.yaml is not valid), the
    problems of its folder and connector files, and how many connector files it has."""

    tenant: TenantBaseline | None
    problems: tuple[Problem, ...]
    files: int


def first_stage(root: str | os.PathLike[str], tenants: Sequence[str] | None = None) -> FirstStage:
    """Every selected tenant's tenant.yaml and the ignore file under ``root``; raises only if the
    folder or a tenant asked for is absent."""
    base = Path(root)
    selected = _selected(base, tenants)
    problems: list[Problem] = []
    configs: dict[str, TenantConfig] = {}
    outside: set[str] = set()
    for name in selected:
        if leads_out := _outside(base, base / name):
            problems.append(leads_out)
            outside.add(name)
            continue
        config, found = _tenant_config(base, name)
        problems.extend(found)
        if config is not None:
            configs[name] = config
    ignores, found = _ignores(base)
    problems.extend(found)
    return FirstStage(
        root=str(base),
        given=os.fspath(root),
        selected=tuple(selected),
        configs=MappingProxyType(configs),
        ignores=tuple(ignores),
        problems=tuple(problems),
        outside=frozenset(outside),
    )


def connector_stage(first: FirstStage, name: str) -> TenantPart:
    """Tenant ``name``'s folder and connector files (a tenant ``first`` selected)."""
    if name in first.outside:
        return TenantPart(None, (), 0)
    connectors, problems, files = _tenant_connectors(Path(first.root), name)
    config = first.configs.get(name)
    tenant = None if config is None else TenantBaseline(config=config, connectors=connectors)
    return TenantPart(tenant, tuple(problems), files)


@dataclass(frozen=True)
class Requested:
    """``load_requested`` in stages: the first stage of each folder the tenants come from (the
    bundled demo's first, when ``demo`` is asked for and the folder has none)."""

    stages: tuple[FirstStage, ...]

    @property
    def names(self) -> list[str]:
        """Every tenant the stages selected (each tenant is in one stage)."""
        return [name for stage in self.stages for name in stage.selected]

    @property
    def ignores(self) -> tuple[IgnoreEntry, ...]:
        return self.stages[-1].ignores  # the demo's come first, and only alone

    def stage_of(self, name: str) -> FirstStage:
        return next(stage for stage in self.stages if name in stage.selected)

    def config(self, name: str) -> TenantConfig:
        """The tenant's configuration (a baseline whose first stage had no problem)."""
        return self.stage_of(name).configs[name]

    def part(self, name: str) -> TenantPart:
        return connector_stage(self.stage_of(name), name)

    def problems_of(self, names: Iterable[str]) -> list[Problem]:
        """The problems of the connector files of ``names``."""
        return [problem for name in names for problem in self.part(name).problems]

    def fail(self, found: Iterable[Problem] = ()) -> NoReturn:
        """Raise the error ``load_requested`` raises for this baseline: every problem of every
        file, the folders in the same order. ``found``: problems already seen (they stand even
        if a file changed since)."""
        seen = list(found)
        for stage in self.stages:
            problems = list(stage.problems)
            for name in stage.selected:
                problems.extend(connector_stage(stage, name).problems)
            problems += [p for p in seen if p.path.startswith(stage.root)]
            if problems:
                raise problems_error(stage.given, sorted_problems(problems))
        raise problems_error(self.stages[-1].given, sorted_problems(seen))


def first_requested(
    root: str | os.PathLike[str], tenants: Sequence[str] | None = None
) -> Requested:
    """The first stage of ``load_requested(root, tenants)``: its errors for an absent folder or
    tenant, and what ``Requested.fail`` needs for the rest."""
    wanted = list(dict.fromkeys(tenants or ()))
    if DEMO_TENANT not in wanted or (Path(root) / DEMO_TENANT).is_dir():
        return Requested((first_stage(root, wanted or None),))
    demo = first_stage(demo_root(), [DEMO_TENANT])
    others = [t for t in wanted if t != DEMO_TENANT]
    return Requested((demo, first_stage(root, others)) if others else (demo,))


def _selected(base: Path, tenants: Sequence[str] | None) -> list[str]:
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
        return list(dict.fromkeys(tenants))
    if available:
        return available
    # nothing to check is never "all clear"
    raise BaselineError(
        f"no tenants found in {base}",
        hint="a tenant is a folder under the baseline folder holding tenant.yaml "
        "(folders starting with '.' or '_' are not tenants)",
    )


def _ignores(base: Path) -> tuple[list[IgnoreEntry], list[Problem]]:
    """The ignore file's entries and problems."""
    problems: list[Problem] = []
    misnamed = base / ".driftguardignore.yml"
    if misnamed.is_file():  # silently unused exceptions would surprise; say so
        problems.append(Problem(str(misnamed), 1, 1, f"not read: the ignore file is {IGNORE_FILE}"))
    ignore_path = base / IGNORE_FILE
    if not ignore_path.is_file():
        return [], problems
    outside = _outside(base, ignore_path)
    if outside:
        return [], [*problems, outside]
    ignores, found = ignore_file(ignore_path, str(ignore_path))
    return ignores, problems + found


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


def _tenant_config(base: Path, name: str) -> tuple[TenantConfig | None, list[Problem]]:
    """The tenant's configuration (tenant.yaml) and its problems."""
    tenant_yaml = base / name / "tenant.yaml"
    # the tenant folder itself was checked: only a tenant.yaml that is a link can lead out of it
    if (
        tenant_yaml.is_file()
        and tenant_yaml.is_symlink()
        and (outside := _outside(base, tenant_yaml))
    ):
        return None, [outside]
    if tenant_yaml.is_file():
        return tenant_file(tenant_yaml, str(tenant_yaml), name)
    return None, [
        Problem(
            str(tenant_yaml),
            1,
            1,
            f"tenant folder {name!r} has no tenant.yaml (it needs at least tenant_id)",
        )
    ]


def _tenant_connectors(
    base: Path, name: str
) -> tuple[tuple[BaselineConnector, ...], list[Problem], int]:
    """The tenant's connectors, the problems of its folder and connector files, and how many
    connector files it has."""
    folder = base / name
    tenant_yaml = folder / "tenant.yaml"
    problems: list[Problem] = []
    files = 0
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
    return tuple(connectors), problems, files


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
