"""The distribution: its name, one version source, the licence, and a wheel that installs cleanly.

The wheel is built from a copy of the checkout (the build writes `build/` and `*.egg-info`) with
the development environment's own setuptools (no build isolation, so no index is asked), installed
into a fresh virtual environment, and asked for its version.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import driftguard


def _project(repo_root: Path) -> dict[str, Any]:
    project = tomllib.loads((repo_root / "pyproject.toml").read_text("utf-8"))["project"]
    assert isinstance(project, dict)
    return project


def _version(repo_root: Path) -> str:
    """The version, from its one source (which setuptools reads into the metadata)."""
    text = (repo_root / "src" / "driftguard" / "_version.py").read_text("utf-8")
    (version,) = re.findall(r'^__version__ = "(\d+\.\d+\.\d+)"$', text, flags=re.MULTILINE)
    return version


def test_the_distribution_name_is_not_the_unrelated_driftguard(repo_root: Path) -> None:
    project = _project(repo_root)
    assert project["name"] == driftguard.DISTRIBUTION == "driftguard-exo"
    assert project["scripts"] == {"driftguard": "driftguard.cli:console_main"}
    readme = (repo_root / "README.md").read_text("utf-8")
    assert not re.search(r"pip(x)? install driftguard(\s|==|$)", readme, flags=re.MULTILINE)
    install = readme[readme.index("## Install") :]
    version = _version(repo_root)
    assert f'pipx install "git+https://github.com/OWNER/driftguard@v{version}"' in install
    assert f"driftguard {version}" in install


def test_one_version_source(repo_root: Path) -> None:
    project = _project(repo_root)
    assert "version" not in project and project["dynamic"] == ["version"]
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text("utf-8"))
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]
    assert dynamic == {"version": {"attr": "driftguard._version.__version__"}}
    assert driftguard.__version__ == _version(repo_root)
    written = [
        p.relative_to(repo_root)
        for p in (repo_root / "src" / "driftguard").rglob("*.py")
        if f'"{_version(repo_root)}"' in p.read_text("utf-8")
    ]
    assert written == [Path("src/driftguard/_version.py")]  # written once


def test_release_tag_changelog_and_pre_commit_hook_agree(repo_root: Path) -> None:
    version = _version(repo_root)
    changelog = (repo_root / "CHANGELOG.md").read_text("utf-8")
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.MULTILINE)
    assert releases and releases[0] == version, releases
    hooks = (repo_root / ".pre-commit-hooks.yaml").read_text("utf-8")
    assert re.findall(r"rev: (v\S+)", hooks) == [f"v{version}"]


def test_licence_and_classifiers(repo_root: Path) -> None:
    project = _project(repo_root)
    assert project["license"] == "Apache-2.0"
    assert "Apache License" in (repo_root / "LICENSE").read_text("utf-8")[:200]
    classifiers = project["classifiers"]
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # the SPDX field says it


@pytest.mark.slow
def test_the_built_wheel_installs_and_reports_its_version(repo_root: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(repo_root / name, source / name)
    shutil.copytree(
        repo_root / "src" / "driftguard",
        source / "src" / "driftguard",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist),
         str(source)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = list(dist.glob("*.whl"))
    version = _version(repo_root)
    assert [w.name for w in wheels] == [f"driftguard_exo-{version}-py3-none-any.whl"]

    venv = tmp_path / "venv"
    made = subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    # Without its dependencies: `--version` is answered before anything else is imported.
    installed = subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheels[0])],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    shown = subprocess.run(
        [str(venv / "bin" / "driftguard"), "--version"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"driftguard {version}\n"
    meta = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; d = m.metadata('driftguard-exo');"
         "print(d['License-Expression']); print(m.version('driftguard-exo'))"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert meta.stdout.split() == ["Apache-2.0", version], meta.stderr
