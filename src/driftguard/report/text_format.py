"""``--format text``: the terminal table a human scans in seconds.

Per tenant a status line, then its findings worst first (severity, connector, field, change) with
the reason under each, then suppressed findings and warnings; after them, the investigation of
each investigated tenant (report/investigation_text.py). Every untrusted string (connector
names, values, comments, messages) has its control characters stripped; colour is opt-in.
"""

from __future__ import annotations

from collections.abc import Sequence

from driftguard.model import Finding, FindingKind, Report, Severity, Status, TenantReport
from driftguard.properties import Value
from driftguard.report.bounds import bounded
from driftguard.textsafe import one_line

_MAX_CONNECTOR = 32
_MAX_CHANGE = 72
_RESET = "\x1b[0m"
_COLORS: dict[object, str] = {
    Severity.CRITICAL: "\x1b[1;31m",
    Severity.HIGH: "\x1b[31m",
    Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m",
    Status.OK: "\x1b[32m",
    Status.DRIFT: "\x1b[1;33m",
    Status.ERROR: "\x1b[1;31m",
    "dim": "\x1b[2m",
}


def render(report: Report) -> str:
    return render_color(report, color=False)


def render_color(report: Report, *, color: bool = True) -> str:
    report = bounded(report)
    paint = _painter(color)
    lines: list[str] = []
    for tenant in report.tenants:
        if lines:
            lines.append("")
        lines.extend(_tenant(tenant, paint))
    lines.append("")
    lines.append(_summary(report))
    text = "\n".join(lines) + "\n"
    if all(t.evidence is None for t in report.tenants):
        return text  # nothing investigated (and its renderer not imported: a cold start's cost)
    from driftguard.report import investigation_text

    investigations = investigation_text.render(report)
    return text.rstrip("\n") + "\n\n" + investigations if investigations else text


class _Paint:
    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, key: object, text: str) -> str:
        code = _COLORS.get(key) if self.on else None
        return f"{code}{text}{_RESET}" if code else text


def _painter(on: bool) -> _Paint:
    return _Paint(on)


def _tenant(t: TenantReport, paint: _Paint) -> list[str]:
    name = one_line(t.tenant)
    status = paint(t.status, t.status.value.upper())
    if t.status is Status.ERROR:
        head = f"{name}  {status}  {one_line(t.error or 'unknown error')}"
    elif t.status is Status.OK:
        head = f"{name}  {status}  live connectors match the baseline"
    else:
        head = f"{name}  {status}  {_counts(t.findings)}"
    extra = []
    if t.suppressed:
        extra.append(f"{len(t.suppressed)} suppressed")
    if t.warnings:
        extra.append(f"{len(t.warnings)} warning{'s' if len(t.warnings) != 1 else ''}")
    if extra:
        head += f" ({', '.join(extra)})"
    lines = [head]
    findings = sorted(t.findings, key=lambda f: -f.severity.rank)
    lines.extend(_table(findings, paint, reasons=True))
    if t.suppressed:
        lines.append("  suppressed (accepted exceptions):")
        lines.extend(
            f"    {one_line(s.finding.connector)} / {_field(s.finding)}: "
            f"{one_line(s.entry.reason or '')}"
            + (f" (owner {one_line(s.entry.owner)})" if s.entry.owner else "")
            + (f", expires {s.entry.expires.isoformat()}" if s.entry.expires else "")
            for s in t.suppressed
        )
    lines.extend(f"  warning: {one_line(w)}" for w in t.warnings)
    return lines


def _table(findings: Sequence[Finding], paint: _Paint, *, reasons: bool) -> list[str]:
    if not findings:
        return []
    rows = [
        (f.severity, _clip(one_line(f.connector), _MAX_CONNECTOR), _field(f), _change(f))
        for f in findings
    ]
    wc = max(len("CONNECTOR"), *(len(r[1]) for r in rows))
    wf = max(len("FIELD"), *(len(r[2]) for r in rows))
    out = [paint("dim", f"  {'SEVERITY':<9} {'CONNECTOR':<{wc}}  {'FIELD':<{wf}}  CHANGE")]
    for (sev, conn, field, change), finding in zip(rows, findings, strict=True):
        out.append(f"  {paint(sev, f'{sev.value:<9}')} {conn:<{wc}}  {field:<{wf}}  {change}")
        if reasons:
            out.append(paint("dim", f"  {'':<9} {one_line(finding.reason)}"))
    return out


def _field(f: Finding) -> str:
    match f.kind:
        case FindingKind.UNKNOWN:
            return "(connector)"
        case FindingKind.MISSING:
            return "(connector)"
        case FindingKind.BLOCKED:
            return "(blocked)"
    return one_line(f.field or "")


def _change(f: Finding) -> str:
    match f.kind:
        case FindingKind.UNKNOWN:
            return "not in the baseline"
        case FindingKind.MISSING:
            return "in the baseline, not live"
        case FindingKind.BLOCKED:
            return "restricted by the service"
    if f.added or f.removed:
        parts = [f"+{one_line(a)}" for a in f.added] + [f"-{one_line(r)}" for r in f.removed]
        return _clip(" ".join(parts), _MAX_CHANGE)
    return _clip(f"{_show(f.baseline)} -> {_show(f.live)}", _MAX_CHANGE)


def _show(v: Value) -> str:
    if v is None:
        return "(none)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "[" + ", ".join(one_line(i) for i in v) + "]"
    return one_line(str(v))


def _counts(findings: Sequence[Finding]) -> str:
    n = len(findings)
    by = [
        f"{sum(1 for f in findings if f.severity is s)} {s.value}"
        for s in Severity
        if any(f.severity is s for f in findings)
    ]
    return f"{n} finding{'s' if n != 1 else ''}: {', '.join(by)}"


def _summary(report: Report) -> str:
    statuses = [t.status for t in report.tenants]
    parts = [f"{statuses.count(s)} {s.value}" for s in Status if s in statuses]
    suspicious = sum(1 for t in report.tenants if t.suspicious)
    if suspicious:
        parts.append(f"{suspicious} with suspicious evidence")
    total = len(report.tenants)
    return (
        f"{total} tenant{'s' if total != 1 else ''}: {', '.join(parts) or 'none'}; "
        f"exit code {report.exit_code}"
    )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
