"""``driftguard validate`` on 1,000 generated connector files (10 tenants x 100).

value: median wall time of ``driftguard validate --baseline DIR`` (a fresh process, as CI runs it).
reference: median wall time of a fresh ``python`` process that only reads and parses the same
1,000 files with PyYAML's fastest safe loader (libyaml when available) -- the least any YAML-based
validator must do. The ratio is the price of driftguard's checks (located YAML, duplicate keys,
schema, service rules, cross-file checks, startup); target ratio < 4. On the development machine
value is ~0.5 s, well under the 2 s the issue asks for.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

from benchmarks._timing import driftguard_command, medians, record

TENANTS = 10
PER_TENANT = 100
RUNS = 5
TARGET_RATIO = 4.0

_REFERENCE = """
import sys, pathlib, yaml
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
for path in sorted(pathlib.Path(sys.argv[1]).glob("*/inbound/*.yaml")):
    yaml.load(path.read_bytes(), Loader=loader)
"""


def generate(root: Path) -> int:
    count = 0
    for t in range(TENANTS):
        folder = root / f"tenant{t:02}"
        (folder / "inbound").mkdir(parents=True)
        (folder / "tenant.yaml").write_text(
            f"tenant_id: {uuid.UUID(int=t)}\naccepted_domains: [contoso{t}.com]\n"
            "trusted_ip_ranges: [198.51.100.0/24]\n",
            encoding="utf-8",
        )
        for i in range(PER_TENANT):
            n = t * PER_TENANT + i
            kind = "OnPremises" if i % 2 else "Partner"
            body = (
                f"# generated connector {n}\n"
                f"Name: Connector {n}\n"
                f"Guid: {uuid.UUID(int=n + 1000)}\n"
                f"ConnectorType: {kind}\n"
                "Enabled: true\n"
                f'SenderDomains: [contoso{t}.com, "smtp:fabrikam{i}.com;1"]\n'
                f"SenderIPAddresses: [198.51.{i}.0/24, 203.0.113.{i}]\n"
                "RestrictDomainsToIPAddresses: true\n"
                "RequireTls: true\n"
                f"TlsSenderCertificateName: mail{n}.contoso.com\n"
                f"Comment: generated for the validate benchmark ({n})\n"
            )
            (folder / "inbound" / f"connector-{i:03}.yaml").write_text(body, encoding="utf-8")
            count += 1
    return count


def run() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="driftguard-bench-") as tmp:
        root = Path(tmp) / "baseline"
        files = generate(root)
        assert files == 1000
        times = medians(
            {
                "validate": [*driftguard_command(), "validate", "--baseline", str(root)],
                "parse": [sys.executable, "-c", _REFERENCE, str(root)],
            },
            RUNS,
        )
    return [record("validate_1000_files_seconds", times["validate"], times["parse"], TARGET_RATIO)]
