"""JUnit XML, the format every CI test viewer reads: tenants are suites, connectors are cases.

Shape (the common JUnit XSD): ``<testsuites>`` with ``tests/failures/errors/skipped/time``; one
``<testsuite>`` per tenant; a ``<testcase classname=TENANT name="(tenant)">`` for the tenant as a
whole (an ``<error>`` when it could not be checked, warnings in ``<system-out>``) and one
``<testcase classname=TENANT name=CONNECTOR>`` per connector with findings (``<failure>``) or only
suppressed findings (``<skipped>``). Every case has ``file`` and ``line`` (the attributes
annotation actions read): the baseline file and line of the connector's worst located finding,
else the tenant's ``tenant.yaml``, relative to the repository root (the working directory). Built
with xml.etree, which escapes markup; characters XML 1.0 cannot carry are removed first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from driftguard.model import Finding, FindingKind, Location, Report, Suppressed, TenantReport
from driftguard.report.bounds import bounded
from driftguard.report.escape import value_text, xml_text
from driftguard.report.locations import tenant_file, under_root
from driftguard.report.summary import by_connector, by_severity
from driftguard.textsafe import one_line

TENANT_CASE = "(tenant)"


def render(report: Report, *, root: str | None = None) -> str:
    """``root``: the repository root that ``file`` attributes are relative to (default: the
    working directory, where CI runs driftguard)."""
    report = bounded(report)
    base = Path(root) if root is not None else Path.cwd()
    timestamp = report.generated_at.strftime("%Y-%m-%dT%H:%M:%S")
    suites = ET.Element("testsuites", {"name": f"driftguard {xml_text(report.command)}"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for tenant in report.tenants:
        suite = _suite(tenant, timestamp, base)
        suites.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        suites.set(key, str(value))
    suites.set("time", "0")
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _suite(tenant: TenantReport, timestamp: str, base: Path) -> ET.Element:
    name = _attr(tenant.tenant)
    suite = ET.Element("testsuite", {"name": name, "timestamp": timestamp, "time": "0"})
    cases: list[ET.Element] = []
    fallback = tenant_file(tenant)

    whole = _case(name, TENANT_CASE, fallback, base)
    if tenant.error:
        error = ET.SubElement(whole, "error", {"message": _attr(tenant.error), "type": "error"})
        error.text = xml_text(tenant.error)
    if tenant.warnings:
        out = ET.SubElement(whole, "system-out")
        out.text = "\n".join(xml_text(one_line(w)) for w in tenant.warnings)
    cases.append(whole)

    suppressed: dict[str, list[Suppressed]] = {}
    for item in tenant.suppressed:
        suppressed.setdefault(_key(item.finding), []).append(item)
    for group in by_connector(tenant.findings):
        case = _case(name, _attr(group.name), _where(group.findings, fallback), base)
        failure = ET.SubElement(
            case,
            "failure",
            {"message": _attr(_summary(group.findings)), "type": group.severity.value},
        )
        failure.text = "\n".join(xml_text(_line(f)) for f in group.findings)
        key = _key(group.findings[0])
        if key in suppressed:
            out = ET.SubElement(case, "system-out")
            out.text = _suppressed_text(suppressed.pop(key))
        cases.append(case)
    for items in suppressed.values():
        where = _where([item.finding for item in items], fallback)
        case = _case(name, _attr(items[0].finding.connector), where, base)
        skipped = ET.SubElement(case, "skipped", {"message": "accepted exception"})
        skipped.text = _suppressed_text(items)
        cases.append(case)

    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    suite.extend(cases)
    return suite


def _case(classname: str, name: str, where: Location, base: Path) -> ET.Element:
    attributes = {
        "classname": classname,
        "name": name,
        "file": _attr(under_root(where.path, base).as_posix()),
        "line": str(max(where.line, 1)),
        "time": "0",
    }
    return ET.Element("testcase", attributes)


def _where(findings: Sequence[Finding], fallback: Location) -> Location:
    """The worst located finding's place (findings come worst first), else ``fallback``."""
    return next((f.location for f in by_severity(findings) if f.location), fallback)


def _key(finding: Finding) -> str:
    return finding.guid or f"name:{finding.connector.lower()}"


def _summary(findings: Sequence[Finding]) -> str:
    worst = by_severity(findings)[0]
    count = len(findings)
    return (
        f"{count} finding{'s' if count != 1 else ''}, worst {worst.severity.value}: {_line(worst)}"
    )


def _line(finding: Finding) -> str:
    """One finding on one line; each untrusted piece is cleaned before it is joined."""
    c = one_line
    match finding.kind:
        case FindingKind.CHANGED:
            if finding.added or finding.removed:
                parts = [f"+{c(a)}" for a in finding.added] + [f"-{c(r)}" for r in finding.removed]
                change = ", ".join(parts)
            else:
                change = f"{c(value_text(finding.baseline))} -> {c(value_text(finding.live))}"
            text = f"[{finding.severity.value}] {c(finding.field or '')} changed: {change}"
        case _:
            text = f"[{finding.severity.value}] {finding.kind.value} connector"
    return f"{text}. {c(finding.reason)}"


def _suppressed_text(items: Sequence[Suppressed]) -> str:
    lines = []
    for item in items:
        entry = item.entry
        expires = entry.expires.isoformat() if entry.expires else "never"
        lines.append(
            f"suppressed {_line(item.finding)} Reason: {one_line(entry.reason or '')} "
            f"(owner {one_line(entry.owner or 'unknown')}, expires {expires})"
        )
    return "\n".join(xml_text(line) for line in lines)


def _attr(text: str) -> str:
    """Attribute values on one line (XML normalises newlines in attributes to spaces anyway)."""
    return xml_text(one_line(text))
