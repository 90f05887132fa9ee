"""Admin API clients for one tenant: the read credential, and the separate write credential."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from driftguard.apply import Invoker
from driftguard.live.service import ExchangeSource
from driftguard.model import TenantConfig


def _source_for(config: TenantConfig) -> tuple[ExchangeSource, TenantConfig]:
    """The ExchangeSource (and effective config) for a tenant.

    A tenant pointing at the demo host runs against the simulator in-process, its state kept in
    the user's data folder, so a following ``driftguard diff --tenant demo`` sees what apply
    changed.
    """
    from driftguard.live.demo import source_for

    return source_for(config, ExchangeSource())


@contextlib.contextmanager
def read_client(config: TenantConfig) -> Iterator[Invoker]:
    """A client with the read credential only (plan never holds the write credential)."""
    source, effective = _source_for(config)
    with source.client(effective, purpose="read") as reader:
        yield reader


@contextlib.contextmanager
def clients(config: TenantConfig) -> Iterator[tuple[Invoker, Invoker]]:
    """A read client (the read credential) and a write client (the separate write credential)."""
    source, effective = _source_for(config)
    with (
        source.client(effective, purpose="read") as reader,
        source.client(effective, purpose="write") as writer,
    ):
        yield reader, writer
