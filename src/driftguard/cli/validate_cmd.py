"""`driftguard validate`."""

from __future__ import annotations

import argparse
from typing import Any

from driftguard.cli._common import not_built


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("validate", help="(not built yet)")
    not_built(parser, "validate")
