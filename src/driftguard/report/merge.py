"""Joining the JSON reports of sharded CI jobs (``--shard K/N``) into one report.

Each input is validated against the packaged report schema; a tenant reported by two inputs, or
inputs of different commands or schema versions, are errors (fail closed: a merge never hides a
tenant or silently picks one of two verdicts). Pure apart from reading the given files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from driftguard import jsonsafe
from driftguard.errors import InputError, JsonError, Problem
from driftguard.model import Report, TenantReport


def load_report(path: str | Path) -> Report:
    """One JSON report file, validated against the packaged schema."""
    return report_from_json(str(path), _read(Path(path)))


def report_from_json(name: str, text: str | bytes) -> Report:
    import jsonschema

    from driftguard.report.json_format import report_from_dict, schema

    try:
        data = jsonsafe.loads(text, source=name)
    except JsonError as exc:
        raise InputError(
            f"{name} is not JSON",
            exc.problems,
            hint="pass the files written by `driftguard diff --format json`",
        ) from None
    validator_cls = jsonschema.validators.validator_for(schema())
    validator = validator_cls(schema())
    problems = [
        Problem(name, 1, 1, f"{_json_path(e.absolute_path)}: {e.message}")
        for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    if problems:
        raise InputError(
            f"{name} is not a driftguard JSON report",
            problems[:20],
            hint="pass the files written by `driftguard diff --format json`",
        )
    from driftguard.investigation import EvidenceError

    try:
        return report_from_dict(data)
    except EvidenceError as exc:
        raise InputError(
            f"{name} is not a driftguard JSON report",
            [Problem(name, 1, 1, str(exc))],
            hint="pass the files written by `driftguard investigate --format json`",
        ) from None


def merge(reports: Sequence[tuple[str, Report]]) -> Report:
    """One report with every tenant of ``reports`` (name, report), sorted by tenant name.

    ``generated_at`` is the latest of the inputs', so merging is deterministic.
    """
    if not reports:
        raise InputError("no reports to merge", hint="pass the JSON reports of every shard")
    problems: list[Problem] = []
    first_name, first = reports[0]
    seen: dict[str, str] = {}
    tenants: list[TenantReport] = []
    for name, report in reports:
        if report.command != first.command:
            problems.append(
                Problem(
                    name, 1, 1, f"a {report.command!r} report; {first_name} is {first.command!r}"
                )
            )
        if report.schema_version != first.schema_version:
            problems.append(
                Problem(
                    name,
                    1,
                    1,
                    f"schema_version {report.schema_version}, not {first.schema_version}",
                )
            )
        for tenant in report.tenants:
            key = tenant.tenant.lower()
            if key in seen:
                problems.append(
                    Problem(name, 1, 1, f"tenant {tenant.tenant!r} is also reported by {seen[key]}")
                )
                continue
            seen[key] = name
            tenants.append(tenant)
    if problems:
        raise InputError("the reports cannot be merged", problems)
    return Report(
        generated_at=max(r.generated_at for _, r in reports),
        tenants=tuple(sorted(tenants, key=lambda t: t.tenant.lower())),
        command=first.command,
        schema_version=first.schema_version,
    )


def merge_files(paths: Sequence[str | Path]) -> Report:
    """Load, validate and merge report files; every bad file is reported, not only the first."""
    loaded: list[tuple[str, Report]] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            loaded.append((str(path), load_report(path)))
        except InputError as exc:
            problems += exc.problems or [Problem(str(path), 1, 1, exc.message)]
    if problems:
        raise InputError("some reports are invalid", problems)
    return merge(loaded)


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(jsonsafe.MAX_CHARS + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.__class__.__name__})") from None
    if len(data) > jsonsafe.MAX_CHARS:
        raise InputError(f"{path}: larger than {jsonsafe.MAX_CHARS // (1024 * 1024)} MiB")
    return data


def _json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
