"""`driftguard sim`: serve the simulated Entra ID + Exchange Online, or reset the demo tenant."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "sim", help="the simulated Entra ID and Exchange Online admin API"
    )
    actions = parser.add_subparsers(dest="sim_command", metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve the simulator over HTTPS on loopback until stopped",
        description="Serve the simulator on 127.0.0.1. Once listening it prints one JSON line "
        '({"url", "ca", "port", "tenants"}) on stdout and runs until SIGTERM or Ctrl-C.',
    )
    serve.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    serve.add_argument("--cert", metavar="PEM", help="server certificate (default: a throwaway CA)")
    serve.add_argument("--key", metavar="PEM", help="private key of --cert")
    serve.add_argument("--ca", metavar="PEM", help="CA file clients should trust (with --cert)")
    serve.add_argument("--tenants", type=int, default=1, metavar="N", help="simulated tenants")
    serve.add_argument("--demo", action="store_true", help="also serve the demo tenant")
    serve.add_argument("--latency-ms", type=int, default=0, metavar="N", help="delay per request")
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[=RATE]",
        help="inject a fault into admin API requests; RATE is the share hit (default 1)",
    )
    serve.add_argument(
        "--timeout-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="how long the timeout fault holds a request (default 30)",
    )
    serve.add_argument("--seed", type=int, default=0, help="seed for tenants and fault draws")
    serve.add_argument(
        "--write-baseline", metavar="DIR", help="write a baseline folder for the tenants"
    )
    serve.set_defaults(func=run_serve)
    reset = actions.add_parser("reset", help="restore the demo tenant's compromised starting point")
    reset.set_defaults(func=run_reset)

    def no_action(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 1

    parser.set_defaults(func=no_action)


def parse_faults(items: list[str]) -> dict[str, float]:
    from driftguard.errors import InputError
    from driftguard.sim.state import FAULT_NAMES

    out: dict[str, float] = {}
    for item in items:
        name, _, rate_text = item.partition("=")
        if name not in FAULT_NAMES:
            raise InputError(f"unknown fault {name!r}", hint="faults: " + ", ".join(FAULT_NAMES))
        try:
            rate = float(rate_text) if rate_text else 1.0
        except ValueError:
            raise InputError(f"fault {name}: rate {rate_text!r} is not a number") from None
        if not 0 <= rate <= 1:
            raise InputError(f"fault {name}: rate must be between 0 and 1")
        out[name] = rate
    return out


def run_serve(args: argparse.Namespace) -> int:
    import shutil
    import signal
    import ssl
    import tempfile
    import threading
    from pathlib import Path

    from driftguard.errors import InputError, OutputError
    from driftguard.sim import ServerKnobs, serve

    faults = parse_faults(args.fault)
    if bool(args.cert) != bool(args.key):
        raise InputError("--cert and --key go together")
    cert = None
    if args.cert:
        ca_file = Path(args.ca or args.cert)
        try:
            ca_pem = ca_file.read_bytes()
        except OSError as exc:
            raise InputError(f"{ca_file}: {exc.strerror}") from None
        cert = (Path(args.cert), Path(args.key), ca_pem)
    workdir = Path(tempfile.mkdtemp(prefix="driftguard-sim-"))
    knobs = ServerKnobs(
        latency_ms=args.latency_ms,
        faults=faults,
        seed=args.seed,
        timeout_seconds=args.timeout_seconds,
    )
    try:
        simulator = serve(
            workdir=workdir,
            tenants=args.tenants,
            demo=args.demo,
            port=args.port,
            cert=cert,
            knobs=knobs,
        )
    except ssl.SSLError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise InputError(f"cannot use --cert/--key: {exc.reason or exc}") from None
    except OutputError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise InputError(f"cannot start the simulator: {exc.message}") from None
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        where = f"{exc.filename}" if exc.filename else f"port {args.port}"
        raise InputError(f"cannot start the simulator ({where}): {exc.strerror}") from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    info: dict[str, Any] = {
        "url": simulator.url,
        "ca": str(simulator.ca_path),
        "port": simulator.port,
        "tenants": len(simulator.state.tenants),
        "actions_id_token_request_url": simulator.actions_id_token_request_url,
    }
    if args.write_baseline:
        info["baseline"] = str(simulator.write_baseline(args.write_baseline))
    print(json.dumps(info), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        simulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run_reset(_args: argparse.Namespace) -> int:
    from driftguard.cli._output import info
    from driftguard.sim.inprocess import reset_demo

    path = reset_demo()
    info(f"demo tenant reset to its compromised starting point ({path})")
    return 0
