"""`--format github`: workflow-command annotations, escaped as the Actions toolkit escapes them."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from driftguard.model import Location, Report
from driftguard.report import render
from driftguard.report.github_format import escape_data, escape_property
from driftguard.report.github_format import render as render_github
from driftguard.report.json_format import render as render_json
from report_samples import HYBRID_FILE, sample_report
from test_report_formats import _golden

ANNOTATION = re.compile(r"::(error|warning|notice) ((?:[a-z]+=[^,:]*)(?:,[a-z]+=[^,:]*)*)::(.*)")


def _parsed(text: str) -> list[tuple[str, dict[str, str], str]]:
    out = []
    for line in text.splitlines():
        match = ANNOTATION.fullmatch(line)
        assert match, line
        props = dict(p.split("=", 1) for p in match.group(2).split(","))
        out.append((match.group(1), props, match.group(3)))
    return out


def test_golden() -> None:
    _golden("report.github.txt", render(sample_report(), "github"))


def test_one_annotation_per_finding_at_its_file_and_line() -> None:
    annotations = _parsed(render(sample_report(), "github"))
    first = annotations[0]
    assert first[0] == "error"  # critical
    assert first[1]["file"] == HYBRID_FILE and first[1]["line"] == "6"
    assert "SenderIPAddresses changed: +203.0.113.0/24" in first[2]
    levels = [a[0] for a in annotations]
    assert levels.count("warning") == 1 and levels[-1] == "notice"  # medium; the summary
    not_checked = [a for a in annotations if "was not checked" in a[2]]
    assert len(not_checked) == 1 and not_checked[0][1]["file"] == "baseline/northwind/tenant.yaml"
    assert annotations[-1][2] == (
        "driftguard diff: 3 tenant(s), 5 finding(s), 1 tenant(s) not checked"
    )


def test_escaping_follows_the_toolkit() -> None:
    assert escape_data("100% a\r\nb") == "100%25 a%0D%0Ab"
    assert escape_property("a:b,c%d") == "a%3Ab%2Cc%25d"


def test_a_hostile_path_and_name_cannot_add_properties_or_commands(tmp_path: Path) -> None:
    report = sample_report()
    tenant = report.tenants[0]
    evil = "x,line=99,title=pwned:\n::add-mask::secret\r\n::stop-commands::t 50%"
    finding = dataclasses.replace(
        tenant.findings[0], connector=evil, location=Location(f"baseline/{evil}.yaml", 6, 1)
    )
    hostile = dataclasses.replace(
        report, tenants=(dataclasses.replace(tenant, findings=(finding,)),)
    )
    text = render(hostile, "github")
    lines = text.splitlines()
    assert len(lines) == 2  # the annotation and the summary, nothing smuggled in between
    _, props, message = _parsed(text)[0]
    assert props["line"] == "6" and set(props) == {"file", "line", "col", "title"}
    assert props["file"].startswith("baseline/x%2Cline=99%2Ctitle=pwned%3A")
    assert "::add-mask::" in message and not message.startswith("::")
    assert "%0A" not in message and "\n" not in message  # folded to one line before escaping
    assert "50%25" in message


def test_absolute_paths_under_the_workspace_are_made_relative(tmp_path: Path) -> None:
    report = sample_report()
    tenant = report.tenants[0]
    inside = dataclasses.replace(
        tenant.findings[0], location=Location(str(tmp_path / "baseline" / "a.yaml"), 3, 1)
    )
    moved = dataclasses.replace(report, tenants=(dataclasses.replace(tenant, findings=(inside,)),))
    assert _parsed(render_github(moved, root=str(tmp_path)))[0][1]["file"] == "baseline/a.yaml"


@pytest.mark.parametrize(("report", "code"), [(sample_report(), 1)])
def test_report_render_prints_annotations_with_the_verdict(
    tmp_path: Path, report: Report, code: int
) -> None:
    saved = tmp_path / "drift.json"
    saved.write_text(render_json(report), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "driftguard", "report", "render", str(saved), "--format", "github"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert done.stdout == render(report, "github")
