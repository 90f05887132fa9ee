"""Renderers: one module per format (``<format>_format.py``), each with ``render(report)``.

All formats render the same ``driftguard.model.Report``; none prints or touches files.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from driftguard.model import Report


class Renderer(Protocol):
    def __call__(self, report: Report, /) -> str: ...


def renderer_for(fmt: str) -> Renderer:
    """The ``render`` function of format ``fmt`` (one of ``cli._common.FORMATS``)."""
    module = importlib.import_module(f"driftguard.report.{fmt}_format")
    render: Renderer = module.render
    return render


def render(report: Report, fmt: str) -> str:
    return renderer_for(fmt)(report)
