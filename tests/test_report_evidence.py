"""Investigation evidence drawn as tables: readable for the demo story, inert for hostile data.

The evidence's text is attacker-influenced (audit parameters, message trace domains, alert
titles): hostile strings must render as escaped text and never break the page. A JSON report read
back whose evidence is not in the shape investigate writes is refused, naming where.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftguard.investigation import EvidenceError, from_json, to_json
from driftguard.model import Finding, FindingKind, Location, Report, Severity, Status, TenantReport
from driftguard.report import render
from driftguard.report.evidence import MAX_ROWS, evidence_view
from report_samples import GENERATED_AT, HOSTILE, hostile_investigation
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
                "app_id": None,
                "succeeded": True,
                "external_access": False,
                "flags": ["possibly compromised admin account: not a listed admin"],
            }
        ],
        "blocked": [
            {
                "connector": "Hybrid relay",
                "connector_id": None,
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
            "rows_outside_window": 0,
            "skipped_rows": 0,
            "connectors": {
                "Hybrid relay": _days([85, 79, 80, 561]),
                "Legacy scanner": _days([3, 2]),
            },
            "spikes": [
                {
                    "connector": "Hybrid relay",
                    "day": "2026-11-15",
                    "volume": 561,
                    "median": 80.5,
                    "mad": 3.0,
                    "robust_z": 106.6,
                }
            ],
            "spike_rule": {
                "history_days": 14,
                "min_history_days": 7,
                "robust_z_threshold": 3.5,
                "min_excess_messages": 20,
            },
        },
        "recent_messages": {"Hybrid relay": 805, "Legacy scanner": 5},
        "alerts": [
            {
                "id": "da637",
                "title": "Suspicious connector activity",
                "severity": "high",
                "status": "new",
                "created": "2026-11-28T06:10:00Z",
                "connectors": ["Hybrid relay"],
                "ips": ["203.0.113.66"],
                "url": None,
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
            {
                "kind": "changed",
                "connector": "Hybrid relay",
                "field": "SenderIPAddresses",
                "events": 0,
                "attributed": False,
                "note": "no audit record in the window",
                "actors": [],
            }
        ],
        "sources": {"audit": "exchange:Search-UnifiedAuditLog"},
        "audit_events_outside_window": 0,
        "other_audit_events": 0,
        "skipped_rows": 0,
        "suspicious": True,
        "skipped": [],
        "accounts": None,
    }


def _report(evidence: dict[str, Any], findings: tuple[Finding, ...] = ()) -> Report:
    """A report whose evidence is ``evidence`` read as a JSON report's evidence is read back."""
    investigation = from_json(evidence)
    tenant = TenantReport(
        tenant="demo", status=Status.DRIFT, findings=findings, evidence=investigation
    )
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
    assert "Other evidence" not in tables
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
PATHS: list[tuple[str, ...]] = [
    ("window",),
    ("window", "since"),
    ("timeline",),
    ("timeline", 0, "time"),
    ("timeline", 0, "kind"),
    ("timeline", 0, "parameters"),
    ("timeline", 0, "flags"),
    ("blocked", 0, "created"),
    ("mail_flow", "connectors", "Hybrid relay", 0, "volume"),
    ("mail_flow", "connectors", "Hybrid relay", 0, "day"),
    ("mail_flow", "spikes", 0, "robust_z"),
    ("alerts", 0, "connectors"),
    ("actors", 0, "events"),
    ("attribution", 0, "kind"),
    ("recent_messages", "Hybrid relay"),
    ("sources",),
    ("skipped_rows",),
    ("suspicious",),
]


def _put(data: Any, path: tuple[str | int, ...], value: Any) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


def _json_path(path: tuple[str | int, ...]) -> str:
    return "evidence" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: ".".join(map(str, p)))
@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_oddly_typed_evidence_is_refused_naming_its_path(
    path: tuple[str | int, ...], value: Any
) -> None:
    """A report read back whose evidence is not in the shape investigate writes is an error
    naming where, never a quieter investigation (fail closed)."""
    evidence = story_evidence()
    _put(evidence, path, value)
    valid = _VALID.get(path[-1], lambda _v: False)(value)
    if path[-1] == "volume" and valid:
        path = ("recent_messages",)  # a count that disagrees with the recent counts
    elif valid:
        assert from_json(evidence)  # a value of the right type where it belongs
        return
    with pytest.raises(EvidenceError) as caught:
        from_json(evidence)
    assert caught.value.path.startswith(_json_path(path[:1]))


def _texts(value: Any) -> bool:
    return type(value) is dict and all(type(v) is str for v in value.values())


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


_VALID: dict[str | int, Any] = {
    "volume": _count,
    "events": _count,
    "skipped_rows": _count,
    "suspicious": lambda v: v is True,  # the story's own value
    "timeline": lambda v: v == [],
    "flags": lambda v: v == [],
    "connectors": lambda v: v == [],
    "parameters": _texts,
    "sources": _texts,
    "robust_z": lambda v: type(v) in (int, float) and math.isfinite(v),
}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ((), "unknown key 'triage_note'"),
        (("timeline", 0), "unknown key 'triage_note'"),
        (("mail_flow",), "unknown key 'triage_note'"),
    ],
)
def test_unknown_keys_are_refused(path: tuple[str | int, ...], message: str) -> None:
    evidence = story_evidence()
    target: Any = evidence
    for step in path:
        target = target[step]
    target["triage_note"] = "looked at by the night shift"
    with pytest.raises(EvidenceError, match=message) as caught:
        from_json(evidence)
    assert caught.value.path == _json_path(path)


def test_a_missing_key_is_refused() -> None:
    evidence = story_evidence()
    del evidence["actors"][0]["last"]
    with pytest.raises(EvidenceError, match="missing key 'last'") as caught:
        from_json(evidence)
    assert caught.value.path == "evidence.actors[0]"


def test_evidence_round_trips_exactly() -> None:
    """JSON -> Investigation -> JSON gives the same JSON; the reverse the same Investigation."""
    story = story_evidence()
    for day in story["mail_flow"]["connectors"]["Hybrid relay"]:
        day["spam_share"] = float(day["spam_share"])
    investigation = from_json(story)
    assert to_json(investigation) == story
    assert from_json(to_json(investigation)) == investigation
    hostile = hostile_investigation(HOSTILE)
    assert from_json(json.loads(json.dumps(to_json(hostile)))) == hostile


def test_the_schema_describes_the_evidence_the_reader_reads() -> None:
    import jsonschema

    from driftguard.report.json_format import report_to_dict, schema

    hostile = TenantReport(tenant="x", status=Status.OK, evidence=hostile_investigation(HOSTILE))
    (story,) = _report(story_evidence()).tenants
    story = dataclasses.replace(story, status=Status.OK)  # drift needs a finding
    for tenant in (story, hostile):
        jsonschema.validate(report_to_dict(Report(GENERATED_AT, (tenant,))), schema())
    broken = report_to_dict(Report(GENERATED_AT, (story,)))
    broken["tenants"][0]["evidence"]["triage_note"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema())


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_hostile_evidence_renders_inert(fmt: str) -> None:
    tenant = TenantReport(
        tenant="demo", status=Status.DRIFT, evidence=hostile_investigation(HOSTILE)
    )
    page = render(Report(generated_at=GENERATED_AT, tenants=(tenant,)), fmt)
    assert not RAW_CONTROLS.search(page)
    if fmt == "html":
        _check_html_structure(page)
        _check_html(page)
    else:
        _check_markdown(page)


def test_markdown_evidence_has_the_same_tables() -> None:
    text = render(_report(story_evidence()), "markdown")
    assert "**Actors**" in text and "| Actor | Verdict | Reasons |" in text
    assert "| Hybrid relay | 4 | 805 | 13.9% | 3 | 2026-11-15: 561 messages" in text
    assert "- **Window start**: 2026-10-30T22:54:02Z" in text
    assert "outside_domains" not in text
    _check_markdown(text)


def test_rows_are_capped() -> None:
    one = from_json(story_evidence())
    assert one.actors is not None
    many = dataclasses.replace(one, actors=one.actors * (MAX_ROWS * 3))
    view = evidence_view(many)
    assert len(view.actors) == MAX_ROWS


KNOWN_KEYS = tuple(story_evidence())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KNOWN_KEYS), json_values)
def test_any_json_evidence_is_read_or_refused(key: str, value: Any) -> None:
    """Any JSON value at any key gives an Investigation that renders, or an EvidenceError."""
    evidence = story_evidence()
    evidence[key] = value
    try:
        investigation = from_json(evidence)
    except EvidenceError:
        return
    tenant = TenantReport(tenant="demo", status=Status.DRIFT, evidence=investigation)
    page = render(Report(generated_at=GENERATED_AT, tenants=(tenant,)), "html")
    assert "</html>" in page


def _check_html_structure(page: str) -> None:
    assert "<script" not in page.lower()
    assert page.count("<table") == page.count("</table>")
    assert page.count("<details") == page.count("</details>")
