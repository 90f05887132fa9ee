"""Helpers for the watch tests: a notification receiver program, the simulator's writes."""

from __future__ import annotations

import json
import shlex
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftguard.sim import Simulator
from simulator import invoke, sim_token

TENANT = "tenant-0001"
ROGUE_IP = "203.0.113.0/24"

# Appends each notification it accepts to received.jsonl; refuses (exit 3) while there is no
# file named "open" beside it, like a chat service that is down.
_RECEIVER = """
import json, os, pathlib, sys
base = pathlib.Path(sys.argv[1])
doc = json.load(sys.stdin)
if not (base / "open").exists():
    print("receiver is down", file=sys.stderr)
    sys.exit(3)
doc["_key_from_env"] = os.environ["DRIFTGUARD_NOTIFICATION_KEY"]
with open(base / "received.jsonl", "a", encoding="utf-8") as fh:
    fh.write(json.dumps(doc) + "\\n")
"""


@dataclass(frozen=True)
class Receiver:
    folder: Path

    @classmethod
    def make(cls, folder: Path, *, up: bool = True) -> Receiver:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "receiver.py").write_text(_RECEIVER, encoding="utf-8")
        receiver = cls(folder)
        if up:
            receiver.up()
        return receiver

    def up(self) -> None:
        (self.folder / "open").touch()

    @property
    def target(self) -> str:
        return "command:" + shlex.join(
            [sys.executable, str(self.folder / "receiver.py"), str(self.folder)]
        )

    def received(self) -> list[dict[str, Any]]:
        path = self.folder / "received.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_valid_notification(doc: dict[str, Any]) -> None:
    """Valid against the notification schema, its ``report`` against the report schema's tenant."""
    from importlib.resources import files

    import jsonschema

    from driftguard.report.json_format import schema as report_schema

    schema = json.loads(
        files("driftguard.watch").joinpath("notification.schema.json").read_text("utf-8")
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    body = {k: v for k, v in doc.items() if k != "_key_from_env"}
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)
    report = {"schema_version": 1, "generated_at": doc["at"], "tenants": [doc["report"]]}
    jsonschema.validate(report, report_schema(), cls=jsonschema.Draft202012Validator)


def add_rogue_ip(sim: Simulator, tenant: str = TENANT) -> None:
    """An attacker widens the hybrid connector through the admin API (the audit log records it)."""
    token = sim_token(sim, tenant, "write")
    response = invoke(
        sim,
        tenant,
        token,
        "Set-InboundConnector",
        Identity="Hybrid relay",
        SenderIPAddresses=["10.0.1.0/24", ROGUE_IP],
    )
    assert response.status_code == 200, response.text


def remove_rogue_ip(sim: Simulator, tenant: str = TENANT) -> None:
    token = sim_token(sim, tenant, "write")
    response = invoke(
        sim,
        tenant,
        token,
        "Set-InboundConnector",
        Identity="Hybrid relay",
        SenderIPAddresses=["10.0.1.0/24"],
    )
    assert response.status_code == 200, response.text


def query(state: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the watch state the way an operator would, read-only, while watch may be writing."""
    db = sqlite3.connect(state, timeout=10)
    try:
        db.execute("PRAGMA query_only=ON")
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def wait_for(check: Callable[[], bool], what: str, polls: int = 600) -> None:
    """Poll ``check`` (every 0.1 s, a bounded number of times): progress is counted, not timed."""
    import time

    for _ in range(polls):
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")
