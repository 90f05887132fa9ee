"""The README's demo walk-through, command by command, through driftguard's real entry point:
revert (the rogue connector disabled and kept as evidence), then remove the evidence."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main

ROGUE = "Inbound relay (temp)"


def _diff_json(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["diff", "--tenant", "demo", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def _findings(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    (tenant,) = report["tenants"]
    return sorted((f["kind"], f["connector"], f["severity"]) for f in tenant["findings"])


def test_demo_walkthrough_twice_in_one_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's walk-through, then ``sim reset`` and the same commands again: each new plan
    written over plan.json gets a journal of its own."""
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["sim", "reset"]) == 0
        _walk_through(capsys)
        time.sleep(1)  # plans are stamped to the second: a new one must differ from the last
    journals = sorted(p.name for p in tmp_path.glob("*.journal.jsonl"))
    assert len(journals) == 4
    assert sum(name.startswith("plan.json.") for name in journals) == 2


def _walk_through(capsys: pytest.CaptureFixture[str]) -> None:
    code, before = _diff_json(capsys)
    assert code == 2
    assert ("unknown", ROGUE, "critical") in _findings(before)

    assert main(["plan", "--tenant", "demo", "--out", "plan.json"]) == 2
    plan = json.loads(Path("plan.json").read_text("utf-8"))
    capsys.readouterr()
    assert main(["apply", "plan.json", "--approve", plan["digest"]]) == 0
    assert "3 applied, 0 skipped, 0 failed" in capsys.readouterr().err

    # The rogue connector is disabled, kept as evidence: still unapproved, no longer critical.
    code, after = _diff_json(capsys)
    assert code == 2
    assert _findings(after) == [("unknown", ROGUE, "medium")]
    assert after["tenants"][0]["findings"][0]["reason"].startswith(
        "Unapproved connector, disabled: it relays nothing now"
    )

    assert main(["plan", "--tenant", "demo", "--remove-unknown", "--out", "plan2.json"]) == 2
    removal = json.loads(Path("plan2.json").read_text("utf-8"))
    capsys.readouterr()
    assert main(["apply", "plan2.json", "--approve", removal["digest"]]) == 0
    assert "1 applied, 0 skipped, 0 failed" in capsys.readouterr().err

    code, clean = _diff_json(capsys)
    assert code == 0
    assert _findings(clean) == []
