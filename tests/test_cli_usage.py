"""Usage errors exit 1, never 2: exit 2 means "drift or actions", and a CLI typo is not drift.

argparse exits 2 on a usage error; driftguard's parser turns that into 1, subcommands included,
and keeps argparse's own message on stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from driftguard.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diff", "--format", "pdf"], "argument --format: invalid choice: 'pdf'"),
        (["diff", "--concurrency", "0"], "argument --concurrency: must be at least 1"),
        (["difff"], "argument COMMAND: invalid choice: 'difff'"),
        (["diff", "--no-such-option"], "unrecognized arguments: --no-such-option"),
        (["plan", "--tenant"], "argument --tenant: expected one argument"),
        (["report", "render"], "the following arguments are required"),
        (["sim", "serve", "--port", "eighty"], "argument --port: invalid int value: 'eighty'"),
    ],
)
def test_a_usage_error_exits_1_with_argparses_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith("usage: driftguard")
    assert lines[-1].startswith("driftguard") and ": error: " in lines[-1]
    assert message in lines[-1]


def test_help_still_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--help"]) == 0
    assert "usage: driftguard diff" in capsys.readouterr().out


def test_no_command_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 1
    assert "usage: driftguard" in capsys.readouterr().err


def test_the_installed_command_exits_1_on_a_typo(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "driftguard", "difff"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "driftguard: error: argument COMMAND: invalid choice: 'difff'" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_option_of_every_command_has_help_text() -> None:
    import argparse

    from driftguard.cli import build_parser

    def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
        found = [parser]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    found += parsers(child)
        return found

    silent = [
        f"{p.prog} {'/'.join(a.option_strings)}"
        for p in parsers(build_parser())
        for a in p._actions
        if a.option_strings and not a.help
    ]
    assert silent == []
