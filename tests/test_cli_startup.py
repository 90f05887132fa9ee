"""A command's arguments are parsed by its own subparser alone (the other commands' modules are
not imported for it), and that subparser is the one the whole parser has."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from driftguard.cli import COMMANDS, build_parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = sub.choices[name]
    assert isinstance(found, argparse.ArgumentParser)
    return found


def _shape(parser: argparse.ArgumentParser) -> list[tuple[object, ...]]:
    """Every argument as data; a nested subcommand's parser by its own shape."""
    return [
        (tuple(a.option_strings), a.dest, a.default, a.help, _choices(a), a.nargs, type(a).__name__)
        for a in parser._actions
    ]


def _choices(action: argparse.Action) -> object:
    if isinstance(action, argparse._SubParsersAction):
        return {name: _shape(sub) for name, sub in action.choices.items()}
    return action.choices


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_alone_parses_as_in_the_whole_parser(name: str) -> None:
    alone, whole = build_parser(name), build_parser()
    assert _shape(_subparser(alone, name)) == _shape(_subparser(whole, name))
    assert _subparser(alone, name).format_help() == _subparser(whole, name).format_help()


def test_diff_imports_no_other_command() -> None:
    code = (
        "import sys\n"
        "from driftguard.cli import main\n"
        "main(['diff', '--live', 'missing.json', '--tenant', 'x'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('driftguard.cli.') and "
        "m.endswith('_cmd')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "['driftguard.cli.diff_cmd']"


def test_an_unknown_command_still_lists_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    from driftguard.cli import main

    assert main(["dif"]) == 1
    assert "invalid choice: 'dif'" in capsys.readouterr().err
