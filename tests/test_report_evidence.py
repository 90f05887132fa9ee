"""Investigation evidence drawn as tables: readable for the demo story, inert for hostile data.

The evidence is attacker-influenced JSON (audit parameters, message trace domains, alert titles):
odd types and hostile strings must render as escaped text, never raise, never break the page.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftguard.model import Finding, FindingKind, Location, Report, Severity, Status, TenantReport
from driftguard.report import render
from driftguard.report.evidence import MAX_ROWS, evidence_view
from report_samples import GENERATED_AT, HOSTILE
from test_report_hostile import RAW_CONTROLS, _check_html, _check_markdown


def _days(volumes: list[int], start: int = 12) -> list[dict[str, Any]]:
    return [
        {
            "day": f"2026-11-{start + i:02d}",
            "volume": v,
            "spam": v // 5 if v > 100 else 0,
            "spam_share": round((v // 5) / v, 4) if v > 100 else 0.0,
            "outside_senders": 3 if v > 100 else 0,
            "outside_domains": {"evil.example": 3} if v > 100 else {},
            "other_outside_domains": 0,
        }
        for i, v in enumerate(volumes)
    ]


def story_evidence() -> dict[str, Any]:
    """The shape `investigate` writes (see the JSON report), with a spike on one connector."""
    return {
        "window": {"since": "2026-10-30T22:54:02.377307Z", "until": "2026-11-29T22:54:02.377307Z"},
        "timeline": [
            {
                "time": "2026-11-28T02:41:37Z",
                "kind": "audit",
                "connector": "Hybrid relay",
                "actor": "helpdesk.temp@contoso.onmicrosoft.com",
                "client_ip": "203.0.113.66",
                "operation": "Set-InboundConnector",
                "parameters": {"TreatMessagesAsInternal": "True"},
                "flags": ["possibly compromised admin account: not a listed admin"],
            }
        ],
        "blocked": [
            {
                "connector": "Hybrid relay",
                "guid": "ac4d5ab0-6637-4e91-8d47-f5c2e95c71d9",
                "reason": "The connector was used to send a high volume of suspicious messages.",
                "created": "2026-11-28T06:10:00Z",
                "expires": "2026-12-28T06:10:00Z",
                "ndr": "550 5.7.711 Access denied, bad inbound connector. AS(2204)",
            }
        ],
        "mail_flow": {
            "rows": 2083,
            "duplicates_dropped": 0,
            "unattributed_rows": 155,
            "connectors": {
                "Hybrid relay": _days([85, 79, 80, 561]),
                "Legacy scanner": _days([3, 2]),
            },
            "spikes": [
                {"connector": "Hybrid relay", "day": "2026-11-15", "volume": 561, "median": 80.5}
            ],
        },
        "recent_messages": {"Hybrid relay": 805, "Legacy scanner": 5},
        "alerts": [
            {
                "title": "Suspicious connector activity",
                "severity": "high",
                "status": "new",
                "created": "2026-11-28T06:10:00Z",
                "connectors": ["Hybrid relay"],
            }
        ],
        "actors": [
            {
                "actor": "helpdesk.temp@contoso.onmicrosoft.com",
                "verdict": "possibly compromised admin account",
                "reasons": ["not a listed admin", "unusual IP 203.0.113.66"],
                "client_ips": ["203.0.113.66"],
                "events": 2,
                "last": "2026-11-28T02:41:37Z",
            }
        ],
        "attribution": [
            {"kind": "changed", "connector": "Hybrid relay", "field": "SenderIPAddresses"}
        ],
        "sources": {"audit": "exchange:Search-UnifiedAuditLog"},
        "audit_events_outside_window": 0,
        "suspicious": True,
        "skipped": [],
        "triage_note": "looked at by the night shift",
    }


def _report(evidence: Any, findings: tuple[Finding, ...] = ()) -> Report:
    tenant = TenantReport(tenant="demo", status=Status.DRIFT, findings=findings, evidence=evidence)
    return Report(generated_at=GENERATED_AT, tenants=(tenant,), command="investigate")


def _tables(page: str) -> dict[str, list[list[str]]]:
    """Each table after an evidence heading, as rows of cell texts, keyed by the heading."""

    class Tables(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.out: dict[str, list[list[str]]] = {}
            self.heading = ""
            self.in_heading = False
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("h3", "h4", "summary"):
                self.in_heading, self.heading = True, ""
            elif tag == "tr":
                self.out.setdefault(self.heading, []).append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag in ("h3", "h4", "summary"):
                self.in_heading = False
            elif tag in ("td", "th") and self.cell is not None:
                self.out[self.heading][-1].append(" ".join("".join(self.cell).split()))
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.in_heading:
                self.heading += data
            if self.cell is not None:
                self.cell.append(data)

    parser = Tables()
    parser.feed(page)
    return parser.out


def test_the_story_reads_as_tables() -> None:
    page = render(_report(story_evidence()), "html")
    tables = _tables(page)
    actors = tables["Actors"]
    assert actors[0] == ["Actor", "Verdict", "Reasons", "Client IPs", "Events", "Last seen"]
    assert actors[1][0] == "helpdesk.temp@contoso.onmicrosoft.com"
    assert actors[1][1] == "possibly compromised admin account"
    assert actors[1][4:] == ["2", "2026-11-28T02:41:37Z"]
    blocked = tables["Connectors blocked by Exchange Online"]
    assert blocked[1][1:3] == ["2026-11-28T06:10:00Z", "2026-12-28T06:10:00Z"]
    assert "AS(2204)" in blocked[1][3]
    assert tables["Security alerts"][1] == [
        "2026-11-28T06:10:00Z",
        "Suspicious connector activity",
        "high",
        "new",
        "Hybrid relay",
    ]
    flow = tables["Mail flow per connector"]
    hybrid = next(row for row in flow if row[0] == "Hybrid relay")
    # totals are computed from the per-day rows: 85 + 79 + 80 + 561; spam 112 of them
    assert hybrid[1:6] == ["4", "805", "112", "13.9%", "3"]
    assert hybrid[6] == "561 on 2026-11-15"
    assert hybrid[7].startswith("2026-11-15 561 messages against a median of 80.5")
    legacy = next(row for row in flow if row[0] == "Legacy scanner")
    assert legacy[7] == "none"
    days = tables["Per-day detail: Hybrid relay (4 days)"]
    assert [row[0] for row in days[1:]] == [f"2026-11-{d}" for d in (12, 13, 14, 15)]
    assert days[4][5] == "evil.example (3)"
    # the spike day (and only it) is highlighted, in the per-connector and per-day tables
    assert len(re.findall(r'<tr class="spike">', page)) == 2
    assert tables["Recent messages per connector"][1:] == [
        ["Hybrid relay", "805"],
        ["Legacy scanner", "5"],
    ]
    assert tables["Findings explained by the audit log"][1][:3] == [
        "Hybrid relay",
        "changed SenderIPAddresses",
        "no",
    ]
    assert tables["Other evidence"] == [["triage_note", "looked at by the night shift"]]
    # the window and sources as a definition list, to the second
    assert "<dt>Window start</dt><dd>2026-10-30T22:54:02Z</dd>" in page
    assert "<dt>Suspicious activity found</dt><dd>yes</dd>" in page
    assert "<code>exchange:Search-UnifiedAuditLog</code>" in page
    # no wall of key=value text
    assert "outside_domains=" not in page and "spam_share" not in page
    _check_html_structure(page)


def test_narrow_columns_do_not_wrap_and_locations_are_short() -> None:
    finding = Finding(
        kind=FindingKind.CHANGED,
        connector="Hybrid relay",
        guid=None,
        severity=Severity.CRITICAL,
        reason="turned on",
        field="TreatMessagesAsInternal",
        baseline=False,
        live=True,
        location=Location("/srv/baselines/demo/inbound/hybrid-relay.yaml", 11, 1),
    )
    page = render(_report(story_evidence(), (finding,)), "html")
    assert (
        '<span class="muted mono small" title="/srv/baselines/demo/inbound/hybrid-relay.yaml:11:1">'
        "hybrid-relay.yaml:11</span>"
    ) in page
    assert '<td class="mono nowrap">2026-11-28T02:41:37Z</td><td class="nowrap">audit</td>' in page
    assert '<td class="mono nowrap">203.0.113.66</td>' in page
    css = page[page.index("<style>") : page.index("</style>")]
    assert ".nowrap { white-space: nowrap;" in css
    assert ".col-connector { min-width:" in css


ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    math.nan,
    math.inf,
    1e300,
    "text",
    HOSTILE,
    [],
    [None, 1, "x", [HOSTILE]],
    {},
    {"x": HOSTILE},
    {HOSTILE: {HOSTILE: [HOSTILE]}},
    "x" * 100_000,
]
KNOWN = (
    "window",
    "timeline",
    "blocked",
    "mail_flow",
    "alerts",
    "actors",
    "attribution",
    "recent_messages",
    "sources",
    "audit_events_outside_window",
    "skipped_rows",
    "skipped",
    "suspicious",
)


@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_oddly_typed_evidence_renders_without_raising(value: Any) -> None:
    evidence = dict.fromkeys(KNOWN, value)
    evidence["actors"] = [dict.fromkeys(("actor", "verdict", "reasons", "events", "last"), value)]
    evidence["mail_flow"] = {
        "connectors": {HOSTILE: [dict.fromkeys(("day", "volume", "spam_share"), value), value]},
        "spikes": [{"connector": value, "day": value}, value],
        "rows": value,
    }
    evidence["blocked"] = [dict.fromkeys(("connector", "reason", "created", "ndr"), value)]
    evidence["alerts"] = [dict.fromkeys(("title", "severity", "connectors"), value)]
    evidence[HOSTILE] = value
    for fmt in ("html", "markdown"):
        page = render(_report(evidence), fmt)
        assert not RAW_CONTROLS.search(page)
        assert len(page) < 200_000  # every cell is capped
    page = render(_report(evidence), "html")
    _check_html_structure(page)
    if value == HOSTILE:
        _check_html(page)
        _check_markdown(render(_report(evidence), "markdown"))


def test_markdown_evidence_has_the_same_tables() -> None:
    text = render(_report(story_evidence()), "markdown")
    assert "**Actors**" in text and "| Actor | Verdict | Reasons |" in text
    assert "| Hybrid relay | 4 | 805 | 13.9% | 3 | 2026-11-15: 561 messages" in text
    assert "- **Window start**: 2026-10-30T22:54:02Z" in text
    assert "| triage_note | looked at by the night shift |" in text
    assert "outside_domains" not in text
    _check_markdown(text)


def test_rows_are_capped() -> None:
    many = [{"actor": f"user{i}@contoso.com", "events": i} for i in range(MAX_ROWS * 3)]
    view = evidence_view({"actors": many})
    assert len(view.actors) == MAX_ROWS


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)
evidence_like = st.dictionaries(st.sampled_from((*KNOWN, "other")), json_values, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evidence_like)
def test_any_json_evidence_gives_a_view(evidence: dict[str, Any]) -> None:
    view = evidence_view(evidence)
    # a key no table knows is never dropped: it falls through to "other evidence"
    assert ("other" in evidence) == any(key == "other" for key, _ in view.other)
    page = render(_report(evidence), "html")
    assert "</html>" in page


def _check_html_structure(page: str) -> None:
    assert "<script" not in page.lower()
    assert page.count("<table") == page.count("</table>")
    assert page.count("<details") == page.count("</details>")
