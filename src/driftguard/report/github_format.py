"""GitHub Actions workflow-command annotations: drift shown on the baseline file and line.

The fallback for repositories without code scanning (it needs GitHub Code Security on private
repositories): printed in a workflow step, each line becomes an annotation on the run and, in a
pull request, on the changed file. One ``::error``/``::warning``/``::notice`` line per finding and
per tenant that could not be checked; suppressed findings are left out (they were accepted).

Escaping follows the Actions toolkit (``@actions/core`` ``command.ts``): in the message ``%``,
CR and LF become ``%25``, ``%0D``, ``%0A``; in a property value also ``:`` and ``,`` become
``%3A`` and ``%2C``. Untrusted text is first made one inert line (``escape.plain``), so no
connector name can start a workflow command of its own (``::add-mask::``, ``::stop-commands::``).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from driftguard.model import Finding, Report, Severity, TenantReport
from driftguard.report.bounds import bounded
from driftguard.report.escape import plain
from driftguard.report.sarif_format import finding_message, repo_relative, tenant_file

COMMANDS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
}


def render(report: Report, *, root: str | None = None) -> str:
    """``root``: the repository root file paths are made relative to (default: the working
    directory, the workspace where CI runs driftguard)."""
    report = bounded(report)
    base = Path(root) if root is not None else Path.cwd()
    lines: list[str] = []
    for tenant in report.tenants:
        lines += [_finding(tenant, finding, base) for finding in tenant.findings]
        if tenant.error:
            lines.append(
                _command(
                    "error",
                    {"file": _relative(tenant_file(tenant), base), "line": "1"},
                    "driftguard: tenant not checked",
                    plain(f"Tenant {tenant.tenant} was not checked: {tenant.error}"),
                )
            )
    lines.append(_summary(report))
    return "".join(line + "\n" for line in lines)


def _finding(tenant: TenantReport, finding: Finding, base: Path) -> str:
    if finding.location is not None:
        path, line, column = finding.location.path, finding.location.line, finding.location.column
    else:
        path, line, column = tenant_file(tenant), 1, 1
    properties = {"file": _relative(path, base), "line": str(max(line, 1))}
    properties["col"] = str(max(column, 1))
    title = f"driftguard: {finding.kind.value} connector ({finding.severity.value})"
    return _command(
        COMMANDS[finding.severity], properties, title, finding_message(tenant.tenant, finding)
    )


def _summary(report: Report) -> str:
    findings = sum(len(t.findings) for t in report.tenants)
    errors = sum(1 for t in report.tenants if t.error)
    text = (
        f"driftguard {report.command}: {len(report.tenants)} tenant(s), {findings} finding(s), "
        f"{errors} tenant(s) not checked"
    )
    return _command("notice", {}, "driftguard", text)


def _command(name: str, properties: dict[str, str], title: str, message: str) -> str:
    fields = [f"{key}={escape_property(value)}" for key, value in properties.items()]
    fields.append(f"title={escape_property(title)}")
    return f"::{name} {','.join(fields)}::{escape_data(message)}"


def escape_data(text: str) -> str:
    """A workflow command's message, as ``escapeData`` in the Actions toolkit."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value, as ``escapeProperty`` in the Actions toolkit."""
    return escape_data(plain(text)).replace(":", "%3A").replace(",", "%2C")


def _relative(path: str, base: Path) -> str:
    """The path relative to the repository root, as annotations want; else absolute."""
    return PurePosixPath(*repo_relative(path, base).parts).as_posix()
