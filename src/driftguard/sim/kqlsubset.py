"""The simulator's own evaluator of a small KQL subset, over a columnar table.

Written from the Kusto Query Language reference, not from driftguard's query builder: ``let``
(strings, numbers, ``datetime(...)``, ``dynamic([...])``), a table name, then ``where``,
``extend``, ``summarize`` (``count()``, ``countif()``, ``dcount()``, ``make_set(x[, N])``,
``make_set_if(x, p[, N])``, ``by`` columns and ``bin(col, 1d)``), ``order by``/``sort by``,
``top N by``, ``take``/``limit`` and ``project``. Expressions: ``and``, ``or``, ``not()``,
``==``, ``!=``, ``=~``, ``!~``, ``in``, ``!in``, ``in~``, ``!in~``, ``has`` (whole terms),
``contains``, ``between (a .. b)``, ``isempty()``, ``isnotempty()``, ``tolower()``,
``ipv4_is_in_any_range()``; literals and escapes as ``kqlexpr`` reads them. Anything else is
a ``KqlError`` the endpoint answers with 400, as the service does for a query it cannot compile.

Evaluation is column at a time (lists), string predicates memoised per distinct value, so a
million rows take seconds. Times are whole seconds since the epoch; nulls are ``None`` and make
a predicate false, as in Kusto.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import compress
from typing import Any

from driftguard.sim.kqlexpr import Column, Expr, KqlError, Parser

__all__ = ["Column", "KqlError", "Result", "run"]


# --------------------------------------------------------------------------- tabular


@dataclass(frozen=True)
class Result:
    columns: tuple[tuple[str, str], ...]  # name, type
    rows: list[tuple[Any, ...]]


Source = Callable[[str], Column]  # a column of the table by name (materialised on demand)


def run(text: str, tables: Mapping[str, tuple[Mapping[str, str], Source, int]]) -> Result:
    """Evaluate ``text`` against ``tables`` (name -> (column types, column getter, rows))."""
    p = Parser(text, {})
    while p.accept("let"):
        name = p.name()
        p.expect("=")
        value = p.expr()
        if not value.is_const:
            raise KqlError(f"Semantic error: let {name} must be a constant here")
        p.lets[name] = value
        p.expect(";")
    table_name = p.name()
    if table_name not in tables:
        raise KqlError(
            f"'{p.peek().value or 'query'}' operator: Failed to resolve table or column expression "
            f"named '{table_name}'"
        )
    types, get, n = tables[table_name]
    p.columns = dict(types)
    used = {t.value for t in p.toks if t.kind == "name" and t.value in types}
    if not any(t.kind == "name" and t.value in ("summarize", "project") for t in p.toks):
        used = set(types)  # every column is in the answer
    table: dict[str, Column] = {name: get(name) for name in used}
    order = list(types)
    while p.accept("|"):
        op = p.name()
        table, n, order = _operator(p, op, table, n, order)
    if p.peek().kind != "end":
        raise KqlError(f"Syntax error at offset {p.peek().at}: expected '|' or the end")
    columns = tuple((name, p.columns[name]) for name in order)
    rows = list(zip(*(table[name] for name in order), strict=True)) if order else []
    return Result(columns, rows)


def _operator(
    p: Parser, op: str, table: dict[str, Column], n: int, order: list[str]
) -> tuple[dict[str, Column], int, list[str]]:
    match op:
        case "where":
            keep = p.expr().run(table, n)
            mask = [v is True for v in keep]
            kept = sum(mask)
            if kept == n:
                return table, n, order
            return {k: list(compress(v, mask)) for k, v in table.items()}, kept, order
        case "extend":
            while True:
                name = p.name()
                p.expect("=")
                expr = p.expr()
                table = {**table, name: expr.run(table, n)}
                p.columns[name] = expr.type
                if name not in order:
                    order = [*order, name]
                if not p.accept(","):
                    return table, n, order
        case "summarize":
            return _summarize(p, table, n)
        case "order" | "sort":
            p.expect("by")
            keys = []
            while True:
                name = p.name()
                descending = not p.accept("asc")
                p.accept("desc")
                keys.append((name, descending))
                if not p.accept(","):
                    break
            return _sorted(table, n, keys), n, order
        case "top":
            count = p.take()
            if count.kind != "number":
                raise KqlError(f"Syntax error at offset {count.at}: top needs a number")
            p.expect("by")
            name = p.name()
            descending = not p.accept("asc")
            p.accept("desc")
            table = _sorted(table, n, [(name, descending)])
            n = min(n, int(count.value))
            return {k: v[:n] for k, v in table.items()}, n, order
        case "take" | "limit":
            count = p.take()
            if count.kind != "number":
                raise KqlError(f"Syntax error at offset {count.at}: {op} needs a number")
            n = min(n, int(count.value))
            return {k: v[:n] for k, v in table.items()}, n, order
        case "project":
            names = []
            while True:
                names.append(p.name())
                if not p.accept(","):
                    break
            for name in names:
                if name not in p.columns:
                    raise KqlError(f"Semantic error: project: no column named '{name}'")
            return table, n, names
        case _:
            raise KqlError(f"Syntax error: unknown or unsupported operator '{op}'")


def _sorted(table: dict[str, Column], n: int, keys: list[tuple[str, bool]]) -> dict[str, Column]:
    index = list(range(n))
    for name, descending in reversed(keys):
        if name not in table:
            raise KqlError(f"Semantic error: order by: no column named '{name}'")
        column = table[name]
        index.sort(key=lambda i: (column[i] is None, column[i]), reverse=descending)
    return {k: [v[i] for i in index] for k, v in table.items()}


_AGGREGATES = {"count", "countif", "dcount", "make_set", "make_set_if"}


def _summarize(
    p: Parser, table: dict[str, Column], n: int
) -> tuple[dict[str, Column], int, list[str]]:
    aggs: list[tuple[str, str, list[Expr], int]] = []  # name, function, args, set limit
    while True:
        name = p.name()
        p.expect("=")
        at = p.peek().at
        fn = p.name()
        if fn not in _AGGREGATES:
            raise KqlError(f"Semantic error at offset {at}: '{fn}' is not an aggregation")
        p.expect("(")
        args: list[Expr] = []
        if not p.accept(")"):
            while True:
                args.append(p.expr())
                if not p.accept(","):
                    break
            p.expect(")")
        limit = 1_048_576
        wanted = {"count": 0, "countif": 1, "dcount": 1, "make_set": 1, "make_set_if": 2}[fn]
        if fn.startswith("make_set") and len(args) == wanted + 1:
            last = args.pop()
            if not last.is_const or not isinstance(last.const, int):
                raise KqlError(f"Semantic error at offset {at}: {fn}() limit must be a number")
            limit = last.const
        if len(args) != wanted:
            raise KqlError(f"Semantic error at offset {at}: {fn}() takes {wanted} arguments")
        aggs.append((name, fn, args, limit))
        if not p.accept(","):
            break
    keys: list[tuple[str, Expr]] = []
    if p.accept("by"):
        while True:
            first = p.peek()
            if p.peek(1).kind == "op" and p.peek(1).value == "=":
                key_name = p.name()
                p.expect("=")
                keys.append((key_name, p.expr()))
            else:
                expr = p.expr()
                if expr.name is None:
                    raise KqlError(f"Syntax error at offset {first.at}: name the by expression")
                keys.append((expr.name, expr))
            if not p.accept(","):
                break
    key_columns = [expr.run(table, n) for _, expr in keys]
    groups: dict[tuple[Any, ...], int] = {}  # key -> group number, in order of appearance
    slots = [groups.setdefault(k, len(groups)) for k in zip(*key_columns, strict=True)]
    if not keys:
        groups[()] = 0
        slots = [0] * n
    states = [
        _aggregate(fn, [a.run(table, n) for a in args], slots, len(groups), limit)
        for _, fn, args, limit in aggs
    ]
    out: dict[str, Column] = {name: [] for name, _ in keys}
    for name, _, _, _ in aggs:
        out[name] = []
    for key in groups:
        for (name, _), value in zip(keys, key, strict=True):
            out[name].append(value)
    for (name, fn, _, _), state in zip(aggs, states, strict=True):
        out[name] = [len(v) for v in state] if fn == "dcount" else state
    columns: dict[str, str] = {name: expr.type for name, expr in keys}
    for name, fn, _, _ in aggs:
        columns[name] = "Dynamic" if fn.startswith("make_set") else "Int64"
    p.columns = columns
    return out, len(groups), list(columns)


def _aggregate(fn: str, args: list[Column], slots: list[int], size: int, limit: int) -> Column:
    """One aggregation over every group at once (``slots``: each row's group number)."""
    match fn:
        case "count":
            counts = [0] * size
            for slot in slots:
                counts[slot] += 1
            return counts
        case "countif":
            counts = [0] * size
            for slot, value in zip(slots, args[0], strict=True):
                if value is True:
                    counts[slot] += 1
            return counts
        case "dcount":
            seen: list[set[Any]] = [set() for _ in range(size)]
            for slot, value in zip(slots, args[0], strict=True):
                if value is not None:
                    seen[slot].add(value)
            return seen
        case "make_set" | "make_set_if":
            sets: list[list[Any]] = [[] for _ in range(size)]
            wanted = args[1] if fn == "make_set_if" else [True] * len(slots)
            for slot, value, keep in zip(slots, args[0], wanted, strict=True):
                if keep is True and value is not None and value != "":
                    bucket = sets[slot]
                    if len(bucket) < limit and value not in bucket:
                        bucket.append(value)
            return sets
        case _:
            raise KqlError(f"Semantic error: '{fn}' is not an aggregation")
