"""`driftguard report merge` / `report render`: shard reports joined, validated, fail closed."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from driftguard.cli import main
from driftguard.model import Report
from driftguard.report.json_format import render as render_json
from driftguard.report.json_format import report_to_dict, schema
from report_samples import GENERATED_AT, clean_tenant, drift_tenant, error_tenant


def _write(path: Path, *tenants: object, minutes: int = 0) -> Path:
    report = Report(generated_at=GENERATED_AT + timedelta(minutes=minutes), tenants=tenants)  # type: ignore[arg-type]
    path.write_text(render_json(report), encoding="utf-8")
    return path


def _validate(data: object) -> None:
    import jsonschema

    jsonschema.validate(data, schema())


def test_merge_joins_shards_sorted_with_the_latest_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write(tmp_path / "shard-1.json", clean_tenant(), minutes=5)
    b = _write(tmp_path / "shard-2.json", drift_tenant())
    out = tmp_path / "merged.json"
    assert main(["report", "merge", str(a), str(b), "--output", str(out)]) == 2
    merged = json.loads(out.read_text(encoding="utf-8"))
    _validate(merged)
    assert [t["tenant"] for t in merged["tenants"]] == ["contoso", "fabrikam"]
    assert merged["generated_at"] == "2026-11-29T21:05:00Z"
    expected = report_to_dict(
        Report(GENERATED_AT + timedelta(minutes=5), (drift_tenant(), clean_tenant()))
    )
    assert merged == expected  # nothing lost or altered on the way


def test_merge_exit_codes_follow_diff(tmp_path: Path) -> None:
    clean = _write(tmp_path / "c.json", clean_tenant())
    drift = _write(tmp_path / "d.json", drift_tenant())
    error = _write(tmp_path / "e.json", error_tenant())
    assert main(["report", "merge", str(clean), "--output", str(tmp_path / "o")]) == 0
    assert main(["report", "merge", str(clean), str(drift), "--output", str(tmp_path / "o")]) == 2
    args = ["report", "merge", str(clean), str(drift), str(error), "--output", str(tmp_path / "o")]
    assert main(args) == 1


def test_tenant_in_two_shards_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write(tmp_path / "a.json", drift_tenant())
    b = _write(tmp_path / "b.json", replace(clean_tenant(), tenant="contoso"))
    out = tmp_path / "merged.json"
    assert main(["report", "merge", str(a), str(b), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "tenant 'contoso' is also reported by" in err and str(b) in err
    assert not out.exists()


def test_invalid_inputs_are_all_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write(tmp_path / "good.json", clean_tenant())
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"schema_version": 1,\n  "tenants": [}', encoding="utf-8")
    wrong = tmp_path / "wrong.json"
    data = report_to_dict(Report(GENERATED_AT, (drift_tenant(),)))
    data["tenants"][0]["status"] = "fine"
    wrong.write_text(json.dumps(data), encoding="utf-8")
    missing = tmp_path / "absent.json"
    args = ["report", "merge", str(good), str(not_json), str(wrong), str(missing)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"{not_json}:2:" in err
    assert str(wrong) in err and "status" in err
    assert "absent.json" in err
    assert "Traceback" not in err


def test_expect_guards_against_a_lost_shard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write(tmp_path / "a.json", clean_tenant())
    assert main(["report", "merge", str(a), "--expect", "2"]) == 1
    assert "expected 2 reports, got 1" in capsys.readouterr().err


def test_different_commands_do_not_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write(tmp_path / "a.json", clean_tenant())
    other = Report(GENERATED_AT, (drift_tenant(),), command="investigate")
    b = tmp_path / "b.json"
    b.write_text(render_json(other), encoding="utf-8")
    assert main(["report", "merge", str(a), str(b)]) == 1
    assert "'investigate' report" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["markdown", "html", "sarif", "junit", "text"])
def test_merge_and_render_in_any_format(tmp_path: Path, fmt: str) -> None:
    a = _write(tmp_path / "a.json", clean_tenant())
    b = _write(tmp_path / "b.json", drift_tenant())
    out = tmp_path / f"merged.{fmt}"
    assert main(["report", "merge", str(a), str(b), "--format", fmt, "--output", str(out)]) == 2
    text = out.read_text(encoding="utf-8")
    assert "contoso" in text and "fabrikam" in text
    rendered = tmp_path / f"rendered.{fmt}"
    assert main(["report", "render", str(b), "--format", fmt, "--output", str(rendered)]) == 2
    assert "Hybrid relay" in rendered.read_text(encoding="utf-8")


def test_merge_of_real_diff_shards(tmp_path: Path) -> None:
    """Two `driftguard diff --format json` runs (the demo tenant, and a clean copy of it)."""
    shard = tmp_path / "demo.json"
    assert main(["diff", "--tenant", "demo", "--format", "json", "--output", str(shard)]) == 2
    out = tmp_path / "merged.json"
    assert main(["report", "merge", str(shard), "--output", str(out)]) == 2
    merged = json.loads(out.read_text(encoding="utf-8"))
    _validate(merged)
    assert [t["tenant"] for t in merged["tenants"]] == ["demo"]
    assert merged["tenants"] == json.loads(shard.read_text(encoding="utf-8"))["tenants"]
