"""Helpers for the core tests: real baseline folders and live files in tmp_path, and the check
that every JSON report a test sees validates against the packaged report schema."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from driftguard.baseline.load import load_baseline
from driftguard.core import tenant_report
from driftguard.live.files import FileSource
from driftguard.model import Baseline, IgnoreEntry, Report, TenantReport
from driftguard.report.json_format import render, report_from_dict, report_to_dict, schema

TENANT_ID = "11111111-2222-4333-8444-555555555555"
TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 21, 0, 0, tzinfo=UTC)

HYBRID = {
    "Name": "Hybrid relay",
    "Guid": "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9",
    "ConnectorType": "OnPremises",
    "Enabled": True,
    "SenderDomains": ["contoso.com"],
    "SenderIPAddresses": ["198.51.100.0/24"],
    "RestrictDomainsToIPAddresses": True,
    "RequireTls": True,
    "TlsSenderCertificateName": "mail.contoso.com",
    "Comment": "Exchange 2019 hybrid relay",
}
PARTNER = {
    "Name": "Fabrikam partner TLS",
    "ConnectorType": "Partner",
    "SenderDomains": ["fabrikam.com"],
    "RequireTls": True,
    "RestrictDomainsToCertificate": True,
    "TlsSenderCertificateName": "mail.fabrikam.com",
}
SCANNER = {
    "Name": "Legacy scanner",
    "ConnectorType": "OnPremises",
    "Enabled": False,
    "SenderDomains": ["contoso.com"],
    "SenderIPAddresses": ["198.51.100.25"],
    "RestrictDomainsToIPAddresses": True,
}


def write_baseline(
    root: Path,
    connectors: Sequence[Mapping[str, Any]],
    *,
    tenant: str = "contoso",
    trusted: Sequence[str] = ("198.51.100.0/24",),
    ignores: Sequence[Mapping[str, Any]] | None = None,
) -> Path:
    folder = root / tenant
    (folder / "inbound").mkdir(parents=True, exist_ok=True)
    config = {"tenant_id": TENANT_ID, "trusted_ip_ranges": list(trusted)}
    (folder / "tenant.yaml").write_text(yaml.safe_dump(config), "utf-8")
    for i, conn in enumerate(connectors):
        path = folder / "inbound" / f"c{i:02d}.yaml"
        path.write_text(yaml.safe_dump(dict(conn), sort_keys=False), "utf-8")
    if ignores is not None:
        (root / ".driftguardignore.yaml").write_text(yaml.safe_dump(list(ignores)), "utf-8")
    return root


def wire(conn: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A baseline connector as Get-InboundConnector returns it on the wire (every field present,
    smtp: address spaces, /32 forms, sidecars, read-only bookkeeping), with ``changes`` applied."""
    record: dict[str, Any] = {
        "Enabled": True,
        "ConnectorType": "Partner",
        "ConnectorSource": "AdminUI",
        "Comment": "",
        "SenderIPAddresses": [],
        "SenderDomains": [],
        "TrustedOrganizations": [],
        "ClientHostNames": [],
        "AssociatedAcceptedDomains": [],
        "RequireTls": False,
        "RestrictDomainsToIPAddresses": False,
        "RestrictDomainsToCertificate": False,
        "CloudServicesMailEnabled": False,
        "TreatMessagesAsInternal": False,
        "TlsSenderCertificateName": None,
        "EFTestMode": False,
        "ScanAndDropRecipients": [],
        "EFSkipLastIP": False,
        "EFSkipIPs": [],
        "EFSkipMailGateway": [],
        "EFUsers": [],
        "AdminDisplayName": "",
    }
    for key, value in conn.items():
        if key == "SenderDomains":
            value = [f"smtp:{d};1" for d in value]
        elif key == "SenderIPAddresses":
            value = [v if "/" in v else f"{v}/32" for v in value]
        record[key] = value
    record.update(changes)
    record["SenderDomains@data.type"] = "Microsoft.Exchange.Data.MultiValuedProperty`1"
    record.setdefault("Identity", record["Name"])
    record.setdefault("Guid", conn.get("Guid") or "0f0f0f0f-0000-4000-8000-" + "0" * 12)
    record.setdefault("WhenChangedUTC", "2026-11-28T02:41:37.0000000Z")
    record.setdefault("IsValid", True)
    return record


def write_live(path: Path, records: Sequence[Mapping[str, Any]], **extra: Any) -> Path:
    """An InvokeCommand body file."""
    body = {"@adminapi.warnings": [], "value": list(records), **extra}
    path.write_text(json.dumps(body), "utf-8")
    return path


def diff_files(
    baseline_root: Path, live: Path, tenant: str = "contoso", today: date = TODAY
) -> TenantReport:
    """The core pipeline on real files, the way the CLI runs it; the report is schema-checked."""
    baseline: Baseline = load_baseline(baseline_root, [tenant])
    tb = baseline.tenants[tenant]
    snapshot = FileSource(live).snapshot(tb.config)
    result = tenant_report(tb, snapshot, baseline.ignores, today)
    assert_valid_report(Report(generated_at=NOW, tenants=(result,)))
    return result


def report_for(result: TenantReport, ignores: Sequence[IgnoreEntry] = ()) -> Report:
    return Report(generated_at=NOW, tenants=(result,))


def assert_valid_report(report: Report | Mapping[str, Any] | str) -> dict[str, Any]:
    """Validate a report (model, dict or rendered JSON) against the packaged schema, and check
    that it survives the JSON round trip (dict -> model -> dict) unchanged."""
    if isinstance(report, Report):
        data = json.loads(render(report))
    elif isinstance(report, str):
        data = json.loads(report)
    else:
        data = dict(report)
    validator = jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert report_to_dict(report_from_dict(data)) == data
    return data
