"""The CLI parses and prints; the application layer (driftguard.app) does the work.

Read from the source with ast: command modules import no other command module, and the
application layer neither prints nor imports the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


def test_command_modules_import_no_other_command_module(repo_root: Path) -> None:
    commands = sorted((repo_root / "src" / "driftguard" / "cli").glob("*_cmd.py"))
    assert len(commands) > 5
    found = {
        (path.stem, module.rsplit(".", 1)[1])
        for path in commands
        for module in _imports(path)
        if module.startswith("driftguard.cli.") and module.endswith("_cmd")
    }
    assert found == set(), sorted(found)


def test_the_application_layer_prints_nothing_and_knows_no_cli(repo_root: Path) -> None:
    modules = sorted((repo_root / "src" / "driftguard" / "app").glob("*.py"))
    assert len(modules) > 3
    for path in modules:
        assert not any(m.startswith("driftguard.cli") for m in _imports(path)), path.name
        calls = [
            node.func.id
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        ]
        assert "print" not in calls and "input" not in calls, path.name
