"""Where each tenant's live state comes from, for the commands that read it (diff, plan, ...).

``--live FILE`` reads a file (one tenant only); a tenant pointing at the demo host reads the
in-process demo service (live/demo.py); real tenants read the Exchange admin API. A tenant that
cannot be read gets its LiveReadError back instead of a snapshot, so the other tenants are still
reported.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driftguard.cli._common import number_in, whole_number

if TYPE_CHECKING:
    from driftguard.errors import LiveReadError
    from driftguard.live.auth import DeviceCodePrompt
    from driftguard.live.exchange import RetryPolicy
    from driftguard.live.processes import Lost, ShareWork, SourceRecipe
    from driftguard.live.runner import Heartbeat, OutcomeT, Progress, TenantRead
    from driftguard.live.service import ExchangeSource
    from driftguard.live.source import Source
    from driftguard.model import Baseline, Snapshot, TenantConfig

DEFAULT_DEADLINE = 900.0


def add_live(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--live",
        metavar="FILE",
        help="read the live state from FILE (Get-InboundConnector | ConvertTo-Json -Depth 5, "
        "an InvokeCommand body, or a driftguard snapshot) instead of the service; one tenant only",
    )
    add_live_options(parser)
    add_processes(parser)


def add_processes(parser: argparse.ArgumentParser) -> None:
    """``--processes N``: of the commands that read every tenant once."""
    parser.add_argument(
        "--processes",
        type=_processes,
        metavar="N",
        help="split the tenants over N worker processes, each reading its share with its part "
        "of --concurrency (default: one per core once there are 100 tenants per process, and "
        "1 when a person at the terminal may have to sign in); the report is the same",
    )


def _processes(text: str) -> int:
    from driftguard.live.processes import MAX_PROCESSES

    value = whole_number(text)
    if value > MAX_PROCESSES:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_PROCESSES}")
    return value


def add_live_options(parser: argparse.ArgumentParser) -> None:
    """Options of every command that reads tenants from the service."""
    parser.add_argument(
        "--concurrency",
        type=whole_number,
        default=16,
        metavar="N",
        help="read at most N tenants at a time (default: 16)",
    )
    parser.add_argument(
        "--shard",
        metavar="K/N",
        help="only the K-th of N equal slices of the tenants (in name order), for CI matrix jobs",
    )
    parser.add_argument(
        "--deadline",
        type=deadline_seconds,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help="give up on a tenant's read after this long, sign-in, retries and slow answers "
        "included (default: 900)",
    )


MIN_DEADLINE, MAX_DEADLINE = 1.0, 86400.0


# A deadline a read can meet and that ends: 1 second to a day (``inf`` is no deadline).
deadline_seconds = number_in(MIN_DEADLINE, MAX_DEADLINE, "seconds")


def selected_tenants(args: argparse.Namespace, baseline: Baseline) -> list[str]:
    """The tenants asked for, in order (default: every tenant of the baseline, sorted)."""
    return selected_names(args, baseline.tenants)


def selected_names(args: argparse.Namespace, available: Iterable[str]) -> list[str]:
    """The tenants asked for, in order (default: every one of ``available``, sorted)."""
    from driftguard.errors import InputError

    wanted: list[str] = list(dict.fromkeys(getattr(args, "tenants", None) or ()))
    names = wanted or sorted(available)
    spec = getattr(args, "shard", None)
    if spec:
        from driftguard.live.runner import parse_shard, shard

        k, n = parse_shard(spec)
        names = shard(names, k, n, str)
    if getattr(args, "live", None) and len(names) != 1:
        raise InputError(
            f"--live reads one tenant's state, but {len(names)} tenants are selected",
            hint="add --tenant T to say which tenant the file belongs to",
        )
    return names


def snapshots_for(
    args: argparse.Namespace, baseline: Baseline, tenants: list[str]
) -> Mapping[str, Snapshot | LiveReadError]:
    """Per tenant, its live snapshot or the error that prevented a complete read.

    Tenants of the service are read in parallel (``--concurrency``), each isolated from the
    others; a progress bar goes to stderr when it is a terminal, else a progress line every
    10 seconds.
    """
    from driftguard.errors import LiveReadError
    from driftguard.live.processes import lost_read

    configs = [baseline.tenants[name].config for name in tenants]
    reads = outcomes_for(args, configs, _as_read, _reading, lost_read)
    result: dict[str, Snapshot | LiveReadError] = {}
    for read in reads.values():
        fallback = LiveReadError("not read", tenant=read.tenant)
        result[read.tenant] = read.snapshot or read.error or fallback
    return result


def _as_read(_config: TenantConfig, read: TenantRead) -> TenantRead:
    return read


def _reading(recipe: SourceRecipe) -> ShareWork[TenantRead]:
    """The work on a share: its reads from ``recipe``'s source."""
    from driftguard.live.processes import reading

    return functools.partial(reading, recipe)


def outcomes_for(
    args: argparse.Namespace,
    configs: Sequence[TenantConfig],
    local: Callable[[TenantConfig, TenantRead], OutcomeT],
    share_work: Callable[[SourceRecipe], ShareWork[OutcomeT]],
    lost: Lost[OutcomeT],
    until: Callable[[OutcomeT], bool] | None = None,
) -> dict[str, OutcomeT]:
    """Per tenant (in ``configs`` order), the outcome of the work on it: a tenant of a file or
    of the demo is read here and given to ``local``; the tenants of the service are worked on
    in parallel (``--concurrency``), in this process or in worker processes (``--processes``),
    by the work ``share_work`` makes from a source recipe. A progress bar goes to stderr when it
    is a terminal, else a progress line every 10 seconds. ``runner.Stopped`` at the first
    outcome ``until`` holds for (the work still running is cancelled).
    """
    result: dict[str, OutcomeT] = {}
    service: list[TenantConfig] = []
    for config in configs:
        source = _local_source(args, config)
        if source is None:
            service.append(config)
        else:
            result[config.name] = outcome = local(config, _local_read(source, config))
            if until is not None and until(outcome):
                from driftguard.live.runner import Stopped

                raise Stopped(outcome)
    if service:
        tty = _is_tty(sys.stderr)
        progress = _ProgressBar(sys.stderr) if tty and len(service) > 1 else None
        heartbeat = None if tty or len(service) < 2 else _heartbeat
        try:
            outcomes = _on_service(args, service, share_work, lost, progress, heartbeat, until)
        finally:
            if progress is not None:
                progress.close()
        result.update((outcome.tenant, outcome) for outcome in outcomes)
    return {config.name: result[config.name] for config in configs}


def _local_read(source: Source, config: TenantConfig) -> TenantRead:
    """A read of a file or of the demo tenant: only a LiveReadError is the tenant's error."""
    from driftguard.errors import LiveReadError
    from driftguard.live.runner import TenantRead

    try:
        return TenantRead(config.name, snapshot=source.snapshot(config))
    except LiveReadError as exc:
        exc.tenant = exc.tenant or config.name
        return TenantRead(config.name, error=exc)


def _on_service(
    args: argparse.Namespace,
    service: list[TenantConfig],
    share_work: Callable[[SourceRecipe], ShareWork[OutcomeT]],
    lost: Lost[OutcomeT],
    progress: Progress | None,
    heartbeat: Heartbeat | None,
    until: Callable[[OutcomeT], bool] | None,
) -> list[OutcomeT]:
    """The work on the tenants of the service, in this process or split over workers."""
    from driftguard.live.processes import processes_for, run_in_processes
    from driftguard.live.runner import run_tenants

    concurrency = int(getattr(args, "concurrency", 16))
    requested: int | None = getattr(args, "processes", None)
    prompt = sign_in_prompt()
    processes = processes_for(requested, len(service))
    if processes > 1 and (requested is not None or prompt is None):
        recipe = functools.partial(worker_source, retry_policy(args), concurrency)
        return run_in_processes(
            service,
            share_work(recipe),
            lost,
            processes=processes,
            concurrency=concurrency,
            progress=progress,
            heartbeat=heartbeat,
            until=until,
        )
    source = exchange_source(args)
    with share_work(lambda: source)(service) as work:
        return run_tenants(
            service,
            work,
            concurrency=concurrency,
            progress=progress,
            heartbeat=heartbeat,
            until=until,
        )


def worker_source(policy: RetryPolicy, concurrency: int) -> ExchangeSource:
    """The source of a worker process (live/processes.py): nobody there to sign in."""
    from driftguard.live.service import ExchangeSource, PooledSessions

    return ExchangeSource(policy=policy, session_factory=PooledSessions(pool_size=concurrency))


def _local_source(args: argparse.Namespace, config: TenantConfig) -> Source | None:
    """The file or demo source for ``config``, or None when it is read from the service."""
    live_file = getattr(args, "live", None)
    if live_file:
        from driftguard.live.files import FileSource

        return FileSource(live_file)
    from driftguard.live.demo import is_demo

    if is_demo(config):
        return _DemoService()
    return None


class _DemoService:
    """A demo tenant through the real client: msal + requests against the simulator app
    in-process (no sockets), its state kept in the per-user data folder between commands."""

    def snapshot(self, tenant: TenantConfig) -> Snapshot:
        from driftguard.live.demo import source_for
        from driftguard.live.service import ExchangeSource

        source, effective = source_for(tenant, ExchangeSource())
        return source.snapshot(effective)


def exchange_source(args: argparse.Namespace) -> ExchangeSource:
    """The Exchange admin API as a Source, with the command's deadline and sign-in prompt."""
    from driftguard.live.service import ExchangeSource, PooledSessions

    pool = PooledSessions(pool_size=int(getattr(args, "concurrency", 16)))
    return ExchangeSource(
        policy=retry_policy(args), device_code_prompt=sign_in_prompt(), session_factory=pool
    )


def retry_policy(args: argparse.Namespace) -> RetryPolicy:
    """Retries and timeouts scaled to the command's ``--deadline``."""
    from driftguard.live.exchange import RetryPolicy

    deadline = float(getattr(args, "deadline", DEFAULT_DEADLINE))
    return RetryPolicy(
        deadline=deadline,
        base_delay=min(1.0, deadline / 30),
        read_timeout=min(300.0, max(1.0, deadline / 3)),
        connect_timeout=min(15.0, max(1.0, deadline / 3)),
    )


def sign_in_prompt() -> DeviceCodePrompt | None:
    """Where a device-code sign-in shows its message: stderr, when a person is at a terminal."""
    return _device_code_prompt if _is_tty(sys.stderr) and _is_tty(sys.stdin) else None


def _device_code_prompt(message: str) -> None:
    from driftguard.cli._output import info

    info(message)


def _is_tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _heartbeat(done: int, total: int, errors: int) -> None:
    """A steady progress line for logs nobody watches live (CI): stderr is not a terminal."""
    from driftguard.cli._output import info

    info(f"tenants {done}/{total} done, {errors} error{'' if errors == 1 else 's'}")


class _ProgressBar:
    """``[#####.....] 12/40 tenants`` redrawn in place on a terminal."""

    WIDTH = 30

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.failed = 0
        self.drawn = False

    def __call__(self, done: int, total: int, tenant: str, ok: bool) -> None:
        self.failed += 0 if ok else 1
        filled = self.WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        self.stream.write(f"\r[{bar}] {done}/{total} tenants{failed}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
