"""Shared fixtures. The autouse guard keeps tests off the real network and the real home folder,
and fails a test that reads or writes outside its temporary folders (see isolation.py)."""

from __future__ import annotations

import os
import socket
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

import isolation

pytest_plugins = ["simulator"]

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_HOME = Path.home()
_TREE = pytest.StashKey[isolation.TreeState | None]()
_SANDBOX = pytest.StashKey[isolation.Sandbox]()

# Examples are not kept in a folder of the checkout, and no example has a wall-clock deadline
# (a busy machine is not a failing test); CI still runs every example.
settings.register_profile("driftguard", database=None, deadline=None)
settings.load_profile("driftguard")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else address
    if (
        isinstance(host, str)
        and host not in {"127.0.0.1", "::1", "localhost"}
        and not (host.startswith("127."))
    ) and self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(f"test tried to reach {host!r}: only loopback is allowed")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def fail_a_skip(report: pytest.TestReport) -> None:
    """Turn a skipped test's report into a failure that gives the skip's reason."""
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, object]:
    """CI runs every test: a skip there (chromium missing, say) is a failure, not a pass."""
    report = yield
    if _in_ci():
        fail_a_skip(report)
    return report


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")  # a pytest-xdist worker, not the session's controller


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    basetemp = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    set_hypothesis_home_dir(basetemp / "hypothesis")  # its caches, not in the checkout
    rules = isolation.sandbox(REPO_ROOT, basetemp, REAL_HOME)
    isolation.install(rules)
    config.stash[_SANDBOX] = rules


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """The rules hold from a test's first fixture to its last teardown."""
    rules = item.config.stash[_SANDBOX]
    rules.active = True
    try:
        return (yield)
    finally:
        rules.active = False


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_worker(session.config):
        session.config.stash[_TREE] = isolation.tree_state(REPO_ROOT)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Subprocesses are out of the audit hook's sight: the checkout must look as it did."""
    config = session.config
    leftovers = config.stash[_SANDBOX].take()  # from a session fixture's teardown
    before = None if _is_worker(config) else config.stash.get(_TREE, None)
    after = None if before is None else isolation.tree_state(REPO_ROOT)
    changed = [] if before is None or after is None else isolation.tree_changes(before, after)
    if not (leftovers or changed):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "test isolation", red=True)
        for line in leftovers + [f"the test session changed the checkout: {c}" for c in changed]:
            reporter.write_line(line, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _guard(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    rules = request.config.stash[_SANDBOX]
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var in [v for v in os.environ if v.startswith("XDG_")]:
        monkeypatch.delenv(var)
    for var, folder in (
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_RUNTIME_DIR", "run"),
    ):
        monkeypatch.setenv(var, str(home / folder))
    (home / "run").mkdir(mode=0o700)
    monkeypatch.delenv("NO_COLOR", raising=False)
    for var in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    yield
    violations = rules.take()
    if violations:
        pytest.fail("test isolation:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> isolation.Sandbox:
    """The isolation rules in force (for the guard's own tests)."""
    return request.config.stash[_SANDBOX]


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT
