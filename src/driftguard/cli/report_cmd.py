"""`driftguard report merge|render`: join shard reports, or render a JSON report anew."""

from __future__ import annotations

import argparse
from typing import Any

from driftguard.cli._common import add_output


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="merge JSON reports of sharded runs, or render one in another format",
        description="Work with JSON reports written by `driftguard diff --format json`.",
    )
    actions = parser.add_subparsers(dest="report_action", metavar="ACTION")

    merge = actions.add_parser(
        "merge",
        help="join the JSON reports of sharded CI jobs into one report",
        description="Join JSON reports (one per shard) into one report. A tenant reported twice "
        "is an error. Exit code as for diff: 0 no drift, 2 drift, 1 error.",
    )
    merge.add_argument("files", nargs="+", metavar="FILE", help="JSON reports to merge")
    merge.add_argument(
        "--expect",
        type=int,
        metavar="N",
        help="fail unless exactly N reports are given (guards against a lost shard)",
    )
    add_output(merge, default="json")
    merge.set_defaults(func=run_merge)

    render = actions.add_parser(
        "render",
        help="render a JSON report in another format",
        description="Render a JSON report (e.g. a merged one) as text, Markdown, HTML, SARIF or "
        "JUnit. Exit code as for diff: 0 no drift, 2 drift, 1 error.",
    )
    render.add_argument("file", metavar="FILE", help="a JSON report")
    add_output(render, default="json")
    render.set_defaults(func=run_render)

    def usage(_args: argparse.Namespace) -> int:
        import sys

        parser.print_help(sys.stderr)
        return 1

    parser.set_defaults(func=usage)


def run_merge(args: argparse.Namespace) -> int:
    from driftguard.cli._output import emit_report
    from driftguard.errors import InputError
    from driftguard.report.merge import merge_files

    if args.expect is not None and len(args.files) != args.expect:
        raise InputError(
            f"expected {args.expect} reports, got {len(args.files)}",
            hint="a shard that wrote no report left its tenants unchecked",
        )
    report = merge_files(args.files)
    emit_report(report, args.format, args.output)
    return report.exit_code


def run_render(args: argparse.Namespace) -> int:
    from driftguard.cli._output import emit_report
    from driftguard.report.merge import load_report

    report = load_report(args.file)
    emit_report(report, args.format, args.output)
    return report.exit_code
