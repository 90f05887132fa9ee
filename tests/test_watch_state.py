"""The watch state and the history renderer: compression, bounds, hostile names, every property."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftguard.errors import InputError
from driftguard.watch.history import Kind, Point, differences, render_json, render_text
from driftguard.watch.state import COMPRESS_ABOVE, Outgoing, Transition, opened

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _conn(name: str, guid: str | None, ips: list[str], **unknown: Any) -> dict[str, Any]:
    return {
        "name": name,
        "guid": guid,
        "settings": {"Name": name, "SenderIPAddresses": ips, "Enabled": True},
        "unknown": unknown,
    }


def _doc(*connectors: dict[str, Any]) -> dict[str, Any]:
    return {"connectors": list(connectors), "blocked": None}


def _transition(doc: dict[str, Any] | None, digest: str, *, notify: bool = False) -> Transition:
    out = Outgoing("k1", "tenant: new drift", "{}", ("log",)) if notify else None
    return Transition("contoso", "ok", "", None, doc, digest, out)


def test_large_snapshots_are_compressed_and_only_changes_are_kept(tmp_path: Path) -> None:
    big = _doc(*(_conn(f"c{i}", f"g{i}", [f"10.0.{i % 250}.0/24"]) for i in range(200)))
    assert len(json.dumps(big)) > COMPRESS_ABOVE
    path = tmp_path / "w.sqlite"
    with opened(path) as state:
        for sweep, digest in enumerate(["a", "a", "b"], start=1):
            state.record(sweep, T0 + timedelta(minutes=sweep), _transition(big, digest))
        stored = state.snapshots("contoso")
        assert [(s.sweep, s.digest) for s in stored] == [(1, "a"), (3, "b")]
        assert stored[0].document == big
        [(compressed, size)] = state.db.execute(
            "SELECT compressed, length(body) FROM snapshots WHERE digest='a'"
        ).fetchall()
        assert compressed == 1 and size < len(json.dumps(big)) / 3
        assert state.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_verdict_since_is_kept_while_the_verdict_holds(tmp_path: Path) -> None:
    with opened(tmp_path / "w.sqlite") as state:
        state.record(1, T0, _transition(None, "x"))
        state.record(2, T0 + timedelta(minutes=5), _transition(None, "x"))
        verdict = state.verdict("contoso")
        assert verdict is not None
        assert verdict.since == T0 and verdict.checked_at == T0 + timedelta(minutes=5)


def test_a_notification_is_recorded_with_its_verdict_or_not_at_all(tmp_path: Path) -> None:
    with opened(tmp_path / "w.sqlite") as state:
        bad = Transition("contoso", "drift", "f", None, {"x": {1, 2}}, "d", None)  # not JSON
        with pytest.raises(TypeError):
            state.record(1, T0, bad)
        assert state.verdict("contoso") is None  # rolled back whole
        state.record(1, T0, _transition(None, "x", notify=True))
        state.record(2, T0, _transition(None, "x", notify=True))  # same key: one row
        assert [(p.key, p.target) for p in state.pending()] == [("k1", "log")]


def test_a_damaged_snapshot_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    with opened(path) as state:
        state.record(1, T0, _transition(_doc(), "x"))
    db = sqlite3.connect(path)
    db.execute("UPDATE snapshots SET body=x'00ff'")
    db.commit()
    db.close()
    with opened(path, readonly=True) as state, pytest.raises(InputError, match="snapshot 1 of"):
        state.snapshots("contoso")


def test_every_property_and_connector_change_is_named() -> None:
    old = _doc(_conn("Hybrid", "G1", ["10.0.0.0/24"], Foo="a"), _conn("Gone", None, []))
    new = _doc(
        _conn("Hybrid", "g1", ["10.0.0.0/24", "203.0.113.0/24"], Foo="b"),
        _conn("Rogue", "g2", ["0.0.0.0/1"]),
    )
    found = {
        (d.kind, d.connector, d.property, str(d.before), str(d.after))
        for d in differences(old, new)
    }
    assert (Kind.ADDED, "Hybrid", "SenderIPAddresses", "None", "203.0.113.0/24") in found
    assert (Kind.CHANGED, "Hybrid", "unknown property Foo", "a", "b") in found
    kinds = {(d.kind, d.connector) for d in differences(old, new)}
    assert (Kind.CONNECTOR_ADDED, "Rogue") in kinds and (Kind.CONNECTOR_REMOVED, "Gone") in kinds
    assert len(found) == 4


def test_hostile_names_are_shown_not_acted_on() -> None:
    evil = "Evil\x1b[2J\nFAKE LINE"
    points = [
        Point(1, T0, _doc()),
        Point(2, T0 + timedelta(minutes=5), _doc(_conn(evil, "g9", ["1.2.3.4/32"]))),
    ]
    text = render_text("contoso", points)
    assert "\x1b" not in text and "\nFAKE LINE" not in text
    assert f"+ connector {evil!r} [g9] appeared" in text
    doc = json.loads(render_json("contoso", points))
    assert doc["changes"][0]["differences"][0]["connector"] == evil


def test_the_baseline_is_loaded_again_only_when_a_file_changed(tmp_path: Path) -> None:
    from driftguard.baseline.load import load_baseline
    from driftguard.errors import BaselineError
    from driftguard.watch.baselinecache import ReloadOnChange
    from driftkit import HYBRID, PARTNER, write_baseline

    root = tmp_path / "baseline"
    write_baseline(root, [HYBRID, PARTNER])
    loads: list[int] = []

    def load() -> Any:
        loads.append(1)
        return load_baseline(root)

    cached = ReloadOnChange(load, root)
    first = cached()
    assert cached() is first and len(loads) == 1
    [path] = [p for p in (root / "contoso" / "inbound").iterdir() if "hybrid" in p.read_text()]
    text = path.read_text("utf-8")
    assert "Exchange 2019 hybrid relay" in text
    path.write_text(text.replace("Exchange 2019 hybrid relay", "changed by a merged PR"), "utf-8")
    second = cached()
    assert second is not first and len(loads) == 2
    assert any(
        c.connector.settings.get("Comment") == "changed by a merged PR"
        for c in second.tenants["contoso"].connectors
    )
    path.write_text("Name: [unclosed\n", "utf-8")
    for _ in range(2):  # an invalid baseline is never kept, nor the old one silently used
        with pytest.raises(BaselineError):
            cached()


def test_the_baselines_secret_variables_are_named(tmp_path: Path) -> None:
    from driftguard.baseline.load import load_baseline
    from driftguard.cli.watch_cmd import _secret_variables

    folder = tmp_path / "baseline" / "contoso"
    (folder / "inbound").mkdir(parents=True)
    (folder / "tenant.yaml").write_text(
        "tenant_id: 6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f\n"
        "auth:\n"
        "  client_id: 11111111-1111-1111-1111-111111111111\n"
        "  client_secret_env: CONTOSO_READ_SECRET\n"
        "  write:\n"
        "    client_id: 22222222-2222-2222-2222-222222222222\n"
        "    certificate_path_env: CONTOSO_WRITE_CERT\n"
        "    certificate_password_env: CONTOSO_WRITE_PASSWORD\n",
        encoding="utf-8",
    )
    baseline = load_baseline(tmp_path / "baseline")
    assert _secret_variables(baseline) == {"CONTOSO_READ_SECRET", "CONTOSO_WRITE_PASSWORD"}


def test_delivered_notifications_are_pruned_after_90_days_and_unsent_never(tmp_path: Path) -> None:
    with opened(tmp_path / "w.sqlite") as state:
        old = Outgoing("old", "s", "{}", ("log",))
        state.record(1, T0, Transition("a", "drift", "f", None, None, None, old))
        state.record(1, T0, Transition("b", "drift", "f", None, None, None, replace(old, key="u")))
        [sent, _unsent] = state.pending()
        state.mark_sent(sent, T0)
        number = state.begin_sweep(T0 + timedelta(days=91), 300)
        state.finish_sweep(number, T0 + timedelta(days=91), 1.0, tenants=2, errors=0, overran=False)
        keys = [r[0] for r in state.db.execute("SELECT key FROM outbox")]
        assert keys == ["u"]


def test_the_baseline_stamp_walks_the_folder_as_os_walk_does(tmp_path: Path) -> None:
    """Every file's path, size, modification time and inode, in os.walk's order (files before
    subfolders, a link to a folder not followed): the simple definition, compared."""
    import hashlib
    import os

    from driftguard.watch.baselinecache import stamp_of

    def walked(root: Path) -> str:
        digest = hashlib.sha256()
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(folder, name)
                st = os.stat(path)
                line = (
                    f"{os.path.relpath(path, root)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n"
                )
                digest.update(line.encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    root = tmp_path / "baseline"
    for rel in ["b/tenant.yaml", "b/inbound/x.yaml", "a/inbound/y.yaml", "a.yaml", "a b/z.yaml"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel, "utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "not-walked.yaml").write_text("x", "utf-8")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "b" / "file-link.yaml").symlink_to(root / "a.yaml")
    before = stamp_of(root)
    assert before == walked(root)
    (root / "a" / "inbound" / "y.yaml").write_text("a longer text", "utf-8")
    assert stamp_of(root) == walked(root) != before
    assert stamp_of(tmp_path / "nowhere") == "absent"
