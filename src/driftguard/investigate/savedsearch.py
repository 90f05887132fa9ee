"""Is a saved ``Search-UnifiedAuditLog`` result whole, filtered, or cut short? Pure.

Every row of a search carries ``ResultCount`` (the search's hits) and ``ResultIndex`` (the row's
number in it, 1-based). A save filtered afterwards with ``Where-Object`` keeps the full search's
``ResultCount``, so fewer rows than the count is not by itself a loss:

- as many rows as the count: complete;
- indexes 1..k in a row, k short of the count (or the last pages alone, k..ResultCount): the save
  stopped after (or began after) some pages: truncated, an error;
- scattered indexes (or one run in the middle): rows were picked out by a filter: accepted, with
  a warning saying that only what the filter kept is evidence;
- rows with a count but no index: nothing tells a filter from a cut: an error, as before.

Rows of several searches (different ``ResultCount``) are judged one search at a time.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class Verdict(enum.Enum):
    COMPLETE = "complete"
    FILTERED = "filtered"
    TRUNCATED = "truncated"


@dataclass(frozen=True)
class SearchCheck:
    verdict: Verdict
    count: int  # the search's ResultCount
    rows: int  # its rows in the file
    first: int | None  # lowest and highest ResultIndex among them
    last: int | None

    def describe(self) -> str:
        held = f"{self.rows} of its {self.count} records (ResultCount)"
        if self.first is None or self.last is None:
            return f"the saved search holds {held} and its rows carry no ResultIndex"
        span = f"records {self.first}..{self.last}"
        match self.verdict:
            case Verdict.COMPLETE:
                return f"the saved search holds all {self.count} records"
            case Verdict.TRUNCATED:
                return f"the saved search holds {held}, {span} in a row: it stops short"
            case Verdict.FILTERED:
                return (
                    f"a filtered save (Where-Object): {held}, scattered between {span}; only "
                    "the records the filter kept are evidence"
                )


def as_int(value: Any) -> int | None:
    """``ResultCount`` / ``ResultIndex`` as JSON numbers or CSV text; anything else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class Tally:
    """Collects ``(ResultCount, ResultIndex)`` of the rows as they stream by, per search."""

    def __init__(self) -> None:
        self._searches: dict[int, tuple[int, set[int]]] = {}

    def add(self, count: Any, index: Any) -> None:
        total = as_int(count)
        if total is None:
            return
        rows, indexes = self._searches.get(total, (0, set()))
        number = as_int(index)
        if number is not None:
            indexes.add(number)
        self._searches[total] = (rows + 1, indexes)

    def checks(self) -> list[SearchCheck]:
        return [judge(count, rows, indexes) for count, (rows, indexes) in self._searches.items()]


def judge(count: int, rows: int, indexes: Iterable[int]) -> SearchCheck:
    seen = set(indexes)
    first, last = (min(seen), max(seen)) if seen else (None, None)
    if rows >= count:
        return SearchCheck(Verdict.COMPLETE, count, rows, first, last)
    if first is None or last is None or len(seen) < rows:
        # No index, or an index given twice: a filter cannot be told from a cut.
        return SearchCheck(Verdict.TRUNCATED, count, rows, first, last)
    contiguous = last - first + 1 == len(seen)
    cut = contiguous and (first == 1 or last == count)
    verdict = Verdict.TRUNCATED if cut else Verdict.FILTERED
    return SearchCheck(verdict, count, rows, first, last)
