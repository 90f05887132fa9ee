"""The investigation as one typed value end to end: written into the JSON report, read back
identical, rendered as text from the file, and the one counting rule for recent mail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from driftguard.app.investigate import recent_messages
from driftguard.baseline.load import load_baseline
from driftguard.cli import main
from driftguard.core import live_connectors
from driftguard.investigation import from_json, to_json
from driftguard.live.service import ExchangeSource
from driftguard.report.json_format import report_to_dict
from driftguard.report.merge import load_report
from driftguard.sim import Simulator
from driftguard.sim.traffic import Source, SpikeSpec
from driftguard.sim.traffic import trace_rows as synthetic_rows
from investigate_kit import baseline_for, run_json, tamper

TENANT = "tenant-0001"
WINDOW = ("--since", "2026-10-01", "--until", "2026-11-11")
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 11, 23, 59, 59, 999999, tzinfo=UTC)


def _investigated(sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A tenant with a rogue connector and a mail spike through it, investigated to a file."""
    folder = baseline_for(sim, tmp_path / "b", [TENANT])
    tamper(sim, TENANT, "rogue-connector")
    sim.tenant(TENANT).message_trace = list(
        synthetic_rows(
            seed=11,
            first=date(2026, 10, 1),
            days=42,
            sources=(
                Source("198.51.100", 150, ("tenant-0001.example.com",)),
                Source("203.0.113", 60, ("partner.example",)),
            ),
            spike=SpikeSpec("203.0.113", day=38, messages=700),
        )
    )
    code, report = run_json(
        capsys, "investigate", "--baseline", str(folder), "--tenant", TENANT, *WINDOW
    )
    assert code == 2
    path = tmp_path / "investigation.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def test_the_report_reads_back_to_the_same_investigation(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _investigated(sim, tmp_path, capsys)
    written = json.loads(path.read_text(encoding="utf-8"))
    loaded = load_report(path)
    (tenant,) = loaded.tenants
    assert tenant.evidence is not None
    assert tenant.evidence.mail_flow is not None
    assert [(s.connector, s.day) for s in tenant.evidence.mail_flow.spikes] == [
        ("Inbound relay (temp)", date(2026, 11, 8))
    ]
    # report -> JSON -> read back -> the same Investigation, and the same JSON again
    assert report_to_dict(loaded)["tenants"] == written["tenants"]
    assert from_json(to_json(tenant.evidence)) == tenant.evidence


def test_report_render_text_shows_the_investigation(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _investigated(sim, tmp_path, capsys)
    assert main(["report", "render", str(path), "--format", "text"]) == 2
    rendered = capsys.readouterr().out
    assert f"{TENANT}  investigation" in rendered
    assert "SPIKE Inbound relay (temp) on 2026-11-08" in rendered
    assert "sources: audit: exchange:Search-UnifiedAuditLog" in rendered
    # the same section investigate itself prints
    folder = tmp_path / "b"
    main(["investigate", "--baseline", str(folder), "--tenant", TENANT, *WINDOW])
    direct = capsys.readouterr().out
    section = direct[direct.index(f"{TENANT}  investigation") :]
    assert rendered[rendered.index(f"{TENANT}  investigation") :] == section


def test_a_damaged_evidence_is_an_error_naming_where(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _investigated(sim, tmp_path, capsys)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["tenants"][0]["evidence"]["mail_flow"]["spikes"][0]["volume"] = "many"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["report", "render", str(path), "--format", "html"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "tenants[0].evidence.mail_flow.spikes[0].volume: 'many' is not of type" in captured.err


def test_evidence_the_schema_accepts_but_the_reader_refuses_is_an_error(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recent counts that disagree with the per-day counts they are the sum of."""
    path = _investigated(sim, tmp_path, capsys)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["tenants"][0]["evidence"]["recent_messages"]["Inbound relay (temp)"] = 0
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["report", "render", str(path), "--format", "text"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "tenants[0].evidence.recent_messages: does not match" in captured.err


def test_recent_mail_is_counted_by_the_investigation_rule(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """plan's recent-mail check and investigate count the same trace the same way."""
    path = _investigated(sim, tmp_path, capsys)
    (tenant,) = load_report(path).tenants
    assert tenant.evidence is not None
    config = load_baseline(tmp_path / "b").tenants[TENANT].config
    connectors = live_connectors(ExchangeSource().snapshot(config))
    with ExchangeSource().client(config) as client:
        counts = recent_messages(client, connectors, START, END)
    assert counts == tenant.evidence.recent_messages
    assert counts["Inbound relay (temp)"] > 700  # the spike is counted
