"""SARIF 2.1.0 for GitHub code scanning: drift shows up as alerts on the baseline files.

One rule per finding kind (plus one for a tenant that could not be checked). Each result points at
the baseline file and line of the drifted property (``Finding.location``), relative to the
repository root under the ``%SRCROOT%`` base; connectors that have no baseline file (unknown ones,
tenant errors) point at the tenant's ``tenant.yaml``. ``partialFingerprints`` identify a finding
by tenant, kind, connector and field, so the same drift on the next night is the same alert.
Suppressed findings are included with an external suppression carrying the ignore entry's reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from driftguard import __version__
from driftguard.model import Finding, FindingKind, Report, Severity, TenantReport
from driftguard.report.bounds import bounded
from driftguard.report.escape import plain, value_text

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"

LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    short: str
    full: str
    help: str
    severity: Severity


ERROR_RULE = "DG-ERROR"
RULES: tuple[Rule, ...] = (
    Rule(
        "DG-UNKNOWN",
        "UnknownInboundConnector",
        "Inbound connector not in the approved baseline",
        "A live inbound connector matches no baseline file. Attackers add OnPremises connectors "
        "to relay mail the tenant then trusts as its own.",
        "Find out who created the connector (`driftguard investigate`). If it is legitimate, "
        "accept it with `driftguard adopt --connector NAME` and a reviewed pull request; "
        "otherwise remove it with `driftguard plan` and `driftguard apply`.",
        Severity.CRITICAL,
    ),
    Rule(
        "DG-MISSING",
        "MissingInboundConnector",
        "Approved inbound connector is missing",
        "A connector described in the baseline no longer exists in the tenant, so mail it "
        "should accept may be rejected or take another, less strict path.",
        "Re-create it with `driftguard plan` and `driftguard apply`, or delete its baseline file "
        "in a reviewed pull request if the removal was intended.",
        Severity.HIGH,
    ),
    Rule(
        "DG-CHANGED",
        "ChangedInboundConnector",
        "Inbound connector property differs from the baseline",
        "A property of an approved connector differs from its baseline file; widening sender "
        "IPs or domains, turning TLS off or treating mail as internal lets spoofed mail in.",
        "Revert it with `driftguard plan` and `driftguard apply`, or accept it with "
        "`driftguard adopt` and a reviewed pull request.",
        Severity.HIGH,
    ),
    Rule(
        "DG-BLOCKED",
        "BlockedInboundConnector",
        "Inbound connector blocked by the service",
        "Microsoft restricted the connector, typically because it relayed spam; this is a sign "
        "that it was abused.",
        "Investigate with `driftguard investigate`, fix the connector, then release it.",
        Severity.HIGH,
    ),
    Rule(
        ERROR_RULE,
        "TenantNotChecked",
        "Tenant could not be checked",
        "driftguard could not read the tenant's live connectors completely, so it gives no "
        "verdict for this tenant.",
        "Read the error message; check the app registration, its permissions and the network.",
        Severity.HIGH,
    ),
)
_RULE_INDEX = {rule.id: i for i, rule in enumerate(RULES)}


def render(report: Report, *, root: str | None = None) -> str:
    """``root``: the repository root that absolute baseline paths are made relative to
    (default: the working directory, where CI runs driftguard)."""
    report = bounded(report)
    base = Path(root) if root is not None else Path.cwd()
    results: list[dict[str, Any]] = []
    for tenant in report.tenants:
        results += _tenant_results(tenant, base)
    errors = [t for t in report.tenants if t.error]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "driftguard",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(rule) for rule in RULES],
            }
        },
        "automationDetails": {"id": f"driftguard/{plain(report.command)}/"},
        "invocations": [
            {
                "executionSuccessful": not errors,
                "endTimeUtc": report.generated_at.isoformat().replace("+00:00", "Z"),
                "toolExecutionNotifications": [
                    {
                        "level": "error",
                        "message": {"text": f"{plain(t.tenant)}: {plain(t.error or '')}"},
                    }
                    for t in errors
                ],
            }
        ],
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    document = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.full},
        "help": {"text": rule.help.replace("`", ""), "markdown": rule.help},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "tags": ["security", "exchange-online", "configuration-drift"],
            "precision": "very-high",
            "security-severity": SECURITY_SEVERITY[rule.severity],
        },
    }


def _tenant_results(tenant: TenantReport, base: Path) -> list[dict[str, Any]]:
    fallback = tenant_file(tenant)
    out = [_result(tenant.tenant, f, base, fallback) for f in tenant.findings]
    for item in tenant.suppressed:
        result = _result(tenant.tenant, item.finding, base, fallback)
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": plain(
                    f"{item.entry.reason or ''} (owner: {item.entry.owner or 'unknown'}, "
                    f"expires: {item.entry.expires.isoformat() if item.entry.expires else 'never'})"
                ),
            }
        ]
        out.append(result)
    if tenant.error:
        out.append(
            {
                "ruleId": ERROR_RULE,
                "ruleIndex": _RULE_INDEX[ERROR_RULE],
                "level": "error",
                "message": {
                    "text": plain(f"Tenant {tenant.tenant} was not checked: {tenant.error}")
                },
                "locations": [_location(fallback, 1, 1, base, tenant.tenant, None)],
                "partialFingerprints": {"driftguardFinding/v1": _digest(tenant.tenant, "error")},
                "properties": {"tenant": plain(tenant.tenant)},
            }
        )
    return out


def _result(tenant: str, finding: Finding, base: Path, fallback: str) -> dict[str, Any]:
    rule_id = f"DG-{finding.kind.value.upper()}"
    if finding.location is not None:
        path, line, column = finding.location.path, finding.location.line, finding.location.column
    else:
        path, line, column = fallback, 1, 1
    identity = finding.guid or finding.connector.lower()
    properties: dict[str, Any] = {
        "tenant": plain(tenant),
        "connector": plain(finding.connector),
        "severity": finding.severity.value,
        "security-severity": SECURITY_SEVERITY[finding.severity],
    }
    if finding.guid:
        properties["guid"] = plain(finding.guid)
    if finding.field:
        properties["field"] = plain(finding.field)
    return {
        "ruleId": rule_id,
        "ruleIndex": _RULE_INDEX[rule_id],
        "level": LEVELS[finding.severity],
        "message": {"text": finding_message(tenant, finding)},
        "locations": [_location(path, line, column, base, tenant, finding.connector)],
        "partialFingerprints": {
            "driftguardFinding/v1": _digest(tenant, finding.kind.value, identity, finding.field)
        },
        "properties": properties,
    }


def finding_message(tenant: str, finding: Finding) -> str:
    """Plain text; each untrusted piece is cleaned before it is joined."""
    c = plain
    subject = f"{c(tenant)}: connector '{c(finding.connector)}'"
    match finding.kind:
        case FindingKind.UNKNOWN:
            what = "is live but not in the baseline"
        case FindingKind.MISSING:
            what = "is in the baseline but not live"
        case FindingKind.CHANGED:
            if finding.added or finding.removed:
                changes = [f"+{c(a)}" for a in finding.added]
                changes += [f"-{c(r)}" for r in finding.removed]
                what = f"{c(finding.field or '')} changed: {', '.join(changes)}"
            else:
                what = (
                    f"{c(finding.field or '')} is {c(value_text(finding.live))} "
                    f"(baseline: {c(value_text(finding.baseline))})"
                )
        case FindingKind.BLOCKED:
            what = "is blocked by the service"
    return f"{subject} {what}. {c(finding.reason)} [{finding.severity.value}]"


def _location(
    path: str, line: int, column: int, base: Path, tenant: str, connector: str | None
) -> dict[str, Any]:
    physical: dict[str, Any] = {
        "artifactLocation": _artifact(path, base),
        "region": {"startLine": max(line, 1), "startColumn": max(column, 1)},
    }
    logical = {
        "name": plain(connector or tenant),
        "fullyQualifiedName": plain(f"{tenant}/{connector}" if connector else tenant),
        "kind": "resource",
    }
    return {"physicalLocation": physical, "logicalLocations": [logical]}


def _artifact(path: str, base: Path) -> dict[str, Any]:
    """A URI relative to ``%SRCROOT%`` when the file is under ``base``, else an absolute one."""
    candidate = repo_relative(path, base)
    if candidate.is_absolute():
        return {"uri": candidate.as_uri()}
    posix = PurePosixPath(*candidate.parts).as_posix()
    return {"uri": quote(posix, safe="/-._~"), "uriBaseId": SRCROOT}


def repo_relative(path: str, base: Path) -> Path:
    """``path`` relative to ``base`` when the file is under it, else absolute."""
    candidate = Path(os.path.normpath(path))
    if not candidate.is_absolute() and candidate.parts[:1] == ("..",):
        candidate = Path(os.path.normpath(base.absolute() / candidate))
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(base.absolute())
        except ValueError:
            return candidate
    return candidate


def tenant_file(tenant: TenantReport) -> str:
    """The tenant's ``tenant.yaml``, beside the ``inbound/`` folder of any located finding."""
    located = [f.location for f in tenant.findings if f.location is not None]
    located += [s.finding.location for s in tenant.suppressed if s.finding.location is not None]
    for location in located:
        folder = PurePosixPath(Path(location.path).as_posix()).parent
        if folder.name == "inbound":
            return str(folder.parent / "tenant.yaml")
    return f"baseline/{tenant.tenant}/tenant.yaml"


def _digest(*parts: str | None) -> str:
    text = "\x1f".join(p or "" for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
