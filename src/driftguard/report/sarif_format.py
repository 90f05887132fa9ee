"""SARIF 2.1.0 for GitHub code scanning: drift shows up as alerts on the baseline files.

One rule per finding kind (plus one for a tenant that could not be checked). Each result points at
the baseline file and line of the drifted property (``Finding.location``), relative to the
repository root under the ``%SRCROOT%`` base; connectors that have no baseline file (unknown ones,
tenant errors) point at the tenant's ``tenant.yaml``, in whatever folder ``--baseline`` named.
``partialFingerprints`` identify a finding by tenant, kind, connector and field, so the same drift
on the next night is the same alert. Each result carries its own ``level`` and
``properties.security-severity`` (a rule's covers results from low to critical). Suppressed
findings are included with an external suppression carrying the ignore entry's reason. A run holds
at most GitHub's 25,000 results: the worst are kept and one more result says what was left out.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from driftguard import __version__
from driftguard.model import Finding, FindingKind, Report, Severity, TenantReport
from driftguard.report import locations
from driftguard.report.bounds import bounded
from driftguard.report.escape import plain, value_text

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
MAX_RESULTS = 25_000
"""GitHub code scanning refuses a run with more results than this."""

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
OMITTED_RULE = "DG-OMITTED"
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
    Rule(
        OMITTED_RULE,
        "ResultsLeftOut",
        "More results than one SARIF upload can carry",
        "GitHub code scanning takes at most 25,000 results per run; the worst were kept and "
        "the rest left out of this file.",
        "See the JSON or HTML report for every finding, or split the tenants into shards "
        "(`--shard K/N`) with one upload each.",
        Severity.MEDIUM,
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
    results = _capped(results, base, report)
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
                "properties": {
                    "tenant": plain(tenant.tenant),
                    "severity": Severity.HIGH.value,
                    "security-severity": SECURITY_SEVERITY[Severity.HIGH],
                },
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
    where = repo_relative(path, base)
    if where.is_absolute():
        return {"uri": Path(where).as_uri()}
    return {"uri": quote(where.as_posix(), safe="/-._~"), "uriBaseId": SRCROOT}


def _capped(results: list[dict[str, Any]], base: Path, report: Report) -> list[dict[str, Any]]:
    """At most ``MAX_RESULTS``: the worst kept in their order, one more saying what was left out.

    Unsuppressed results go before suppressed ones, and a tenant that was not checked counts as
    high; ties keep the report's order (tenant by tenant), so the cut is the same every run.
    """
    if len(results) <= MAX_RESULTS:
        return results
    ranked = sorted(range(len(results)), key=lambda i: -_priority(results[i]))
    kept = sorted(ranked[: MAX_RESULTS - 1])
    left = [results[i] for i in ranked[MAX_RESULTS - 1 :]]
    counts = Counter(r["properties"]["severity"] for r in left)
    by_severity = ", ".join(f"{counts[s.value]} {s.value}" for s in Severity if counts[s.value])
    suppressed = sum(1 for r in left if r.get("suppressions"))
    text = (
        f"{len(left)} more results ({by_severity}; {suppressed} of them suppressed) were left out: "
        f"GitHub code scanning takes at most {MAX_RESULTS:,} results per run. "
        "The JSON report has every finding."
    )
    first = report.tenants[0]
    summary = {
        "ruleId": OMITTED_RULE,
        "ruleIndex": _RULE_INDEX[OMITTED_RULE],
        "level": "warning",
        "message": {"text": text},
        "locations": [_location(tenant_file(first), 1, 1, base, first.tenant, None)],
        "partialFingerprints": {"driftguardFinding/v1": _digest("omitted")},
        "properties": {
            "omitted": len(left),
            "omittedBySeverity": {s.value: counts[s.value] for s in Severity},
            "severity": Severity.MEDIUM.value,
            "security-severity": SECURITY_SEVERITY[Severity.MEDIUM],
        },
    }
    return [*(results[i] for i in kept), summary]


def _priority(result: dict[str, Any]) -> int:
    if result.get("suppressions"):
        return 0
    return Severity(result["properties"]["severity"]).rank


def repo_relative(path: str, base: Path) -> PurePath:
    """``path`` relative to ``base`` (the repository root) when the file is under it, else
    absolute (``locations.under_root``)."""
    return locations.under_root(path, base)


def tenant_file(tenant: TenantReport) -> str:
    """The tenant's ``tenant.yaml``, where tenant-wide results point (``locations.tenant_file``)."""
    return locations.tenant_file(tenant).path


def _digest(*parts: str | None) -> str:
    text = "\x1f".join(p or "" for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
