"""Run the benchmarks: every ``benchmarks/bench_<name>.py`` module's ``run() -> list[dict]``.

    python -m benchmarks                 # all of them
    python -m benchmarks startup         # only bench_startup.py (names without the prefix)

Each record is printed as one JSON line with the keys name, value, reference, ratio, target, ok.
Exit code 1 if any record is not ok, or a benchmark failed to run, or a name is unknown.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

KEYS = ("name", "value", "reference", "ratio", "target", "ok")
HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv: Sequence[str]) -> int:
    names = available()
    wanted = [a.removeprefix("bench_").removesuffix(".py") for a in argv] or names
    unknown = [w for w in wanted if w not in names]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(names)}", file=sys.stderr
        )
        return 1
    failed = False
    for name in wanted:
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            records = module.run()
        except Exception:
            traceback.print_exc()
            print(json.dumps({"name": name, "ok": False, "error": "benchmark crashed"}))
            failed = True
            continue
        for record in records:
            missing = [k for k in KEYS if k not in record]
            if missing:
                record = {**record, "ok": False, "error": f"missing keys {missing}"}
            print(json.dumps({k: record[k] for k in KEYS if k in record} | record), flush=True)
            failed = failed or record.get("ok") is not True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
