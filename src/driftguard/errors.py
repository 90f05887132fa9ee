"""One exception tree. Every error carries a sentence for the user and, where we know one, a hint.

Library failures (msal, requests, yaml, jsonschema) are converted once, at the edge that calls the
library, with ``raise ... from``; the CLI maps this tree to exit code 1 in one place.
Messages never contain secrets: build them from names and references, never from credentials.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from driftguard.textsafe import visible


@dataclass(frozen=True)
class Problem:
    """One problem in one input file, printed as ``path:line:col: message``."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        # One line whatever the path or message hold: a newline in a folder name is shown as \n.
        return f"{visible(self.path)}:{self.line}:{self.column}: {visible(self.message)}"


class DriftguardError(Exception):
    """Base of every error driftguard raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """What the user sees on stderr, one readable line per problem."""
        out = [f"error: {self.message}"]
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


class InputError(DriftguardError):
    """A file or argument the user gave is wrong; carries every problem found, not the first."""

    def __init__(
        self, message: str, problems: Iterable[Problem] = (), *, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems: tuple[Problem, ...] = tuple(problems)

    def lines(self) -> list[str]:
        if not self.problems:
            return super().lines()
        out = [str(p) for p in self.problems]
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


class JsonError(InputError):
    """A JSON text is broken or unsafe to trust: duplicate keys, too deep, huge numbers, NaN.

    ``line``/``column`` place it when known (0 when the parser cannot tell where, e.g. a
    duplicate key); ``pos`` is the character index for callers that read a larger buffer.
    """

    def __init__(self, source: str, detail: str, *, line: int = 0, column: int = 0, pos: int = 0):
        where = f"{source}:{line}:{column}" if line else source
        super().__init__(
            f"{where}: {detail}",
            [Problem(source, line or 1, column or 1, detail)],
            hint="the file or answer is not well-formed JSON of the expected kind",
        )
        self.source = source
        self.detail = detail
        self.line = line
        self.column = column
        self.pos = pos


class BaselineError(InputError):
    """The baseline folder (connector files, tenant.yaml, ignore file) is invalid."""


class LiveReadError(DriftguardError):
    """The live state of a tenant could not be read completely. Never a verdict."""

    def __init__(self, message: str, *, tenant: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.tenant = tenant


class AuthError(LiveReadError):
    """No token could be obtained (bad credentials, no consent, wrong tenant...)."""


class ServiceError(LiveReadError):
    """The Exchange admin API answered with an error, an unusable body or not at all."""


class TruncatedReadError(LiveReadError):
    """The service signalled (warnings, an unfollowable nextLink) that the result may be partial."""


class PlanError(DriftguardError):
    """A plan is invalid, unsafe without --force, or refused (tampered, expired, stale...)."""


class ApplyError(DriftguardError):
    """Applying a plan failed part-way; the journal says what was done."""


class OutputError(DriftguardError):
    """An output file (report, plan, snapshot, journal...) could not be written."""
