"""The simulator's own evaluator of a small KQL subset, over a columnar table.

Written from the Kusto Query Language reference, not from driftguard's query builder: ``let``
(strings, numbers, ``datetime(...)``, ``dynamic([...])``), a table name, then ``where``,
``extend``, ``summarize`` (``count()``, ``countif()``, ``dcount()``, ``make_set(x[, N])``,
``make_set_if(x, p[, N])``, ``by`` columns and ``bin(col, 1d)``), ``order by``/``sort by``,
``top N by``, ``take``/``limit`` and ``project``. Expressions: ``and``, ``or``, ``not()``,
``==``, ``!=``, ``=~``, ``!~``, ``in``, ``!in``, ``in~``, ``!in~``, ``has``, ``between (a ..
b)``, ``isempty()``, ``isnotempty()``, ``tolower()``, ``ipv4_is_in_any_range()``. Strings take
``\\\\``, ``\\"``, ``\\'``, ``\\n``, ``\\r``, ``\\t`` escapes; ``//`` starts a comment outside
strings. Anything else is a ``KqlError`` the endpoint answers with 400, as the service does for
a query it cannot compile.

Evaluation is column at a time (lists), string predicates memoised per distinct value, so a
million rows take seconds. Times are whole seconds since the epoch; nulls are ``None`` and make
a predicate false, as in Kusto.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import compress
from typing import Any


class KqlError(ValueError):
    """The query is outside the subset (or not KQL at all)."""


_TOKEN = re.compile(
    r"""\s+|//[^\n]*
    |(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    |(?P<datetime>datetime\(\s*[0-9][^()\s]*\s*\))
    |(?P<timespan>\d+(?:\.\d+)?(?:d|h|m|s|ms)\b)
    |(?P<number>\d+(?:\.\d+)?)
    |(?P<op>!in~|!in|in~|==|!=|=~|!~|\.\.|[|(),;=\[\]<>])
    |(?P<name>[A-Za-z_][A-Za-z_0-9]*)
    """,
    re.VERBOSE,
)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
_ESC = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class Tok:
    kind: str  # string, number, timespan, op, name, end
    value: Any
    at: int


def tokens(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise KqlError(f"Syntax error at offset {pos}: unexpected {text[pos : pos + 10]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind is None:
            continue
        raw = m.group(kind)
        if kind == "string":
            out.append(Tok("string", _unquote(raw, m.start()), m.start()))
        elif kind == "datetime":
            out.append(Tok("datetime", _moment(raw[9:-1].strip(), m.start()), m.start()))
        elif kind == "timespan":
            number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", raw).groups()  # type: ignore[union-attr]
            seconds = float(number) * _UNITS[unit]
            out.append(
                Tok("timespan", int(seconds) if seconds.is_integer() else seconds, m.start())
            )
        elif kind == "number":
            out.append(Tok("number", float(raw) if "." in raw else int(raw), m.start()))
        else:
            out.append(Tok(kind, raw, m.start()))
    out.append(Tok("end", None, len(text)))
    return out


def _moment(text: str, at: int) -> int:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise KqlError(f"Syntax error at offset {at}: bad datetime literal") from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _unquote(raw: str, at: int) -> str:
    body = raw[1:-1]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt not in _ESC:
                raise KqlError(f"Syntax error at offset {at + i}: unknown escape \\{nxt}")
            out.append(_ESC[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------- expressions

Column = list[Any]


@dataclass
class Expr:
    """A compiled expression: ``run(table, n)`` gives one value per row; ``type`` its type."""

    run: Callable[[Mapping[str, Column], int], Column]
    type: str
    const: Any = None
    is_const: bool = False
    name: str | None = None  # a plain column reference


def _const(value: Any, kind: str) -> Expr:
    return Expr(lambda t, n: [value] * n, kind, value, True)


def _memo(fn: Callable[[Any], Any]) -> Callable[[Column], Column]:
    """``fn`` over a column, computed once per distinct value (columns repeat a few values)."""

    def apply(values: Column) -> Column:
        results = {v: fn(v) for v in set(values)}
        return list(map(results.__getitem__, values))

    return apply


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _has(needle: str) -> Callable[[Any], bool]:
    word = needle.lower()
    pattern = re.compile(r"(?<![0-9a-z])" + re.escape(word) + r"(?![0-9a-z])")

    def test(v: Any) -> bool:
        return isinstance(v, str) and bool(word) and pattern.search(v.lower()) is not None

    return test


def _in_range(ranges: Sequence[Any]) -> Callable[[Any], bool | None]:
    networks = []
    for r in ranges:
        try:
            networks.append(ipaddress.IPv4Network(str(r), strict=True))
        except ValueError:
            raise KqlError(f"ipv4_is_in_any_range: not an IPv4 range: {str(r)[:40]}") from None

    def test(v: Any) -> bool | None:
        try:
            address = ipaddress.IPv4Address(str(v))
        except ValueError:
            return None
        return any(address in n for n in networks)

    return test


class Parser:
    def __init__(self, text: str, columns: Mapping[str, str]) -> None:
        self.toks = tokens(text)
        self.i = 0
        self.lets: dict[str, Expr] = {}
        self.columns = dict(columns)  # name -> type of the current tabular expression

    # -- tokens
    def peek(self, offset: int = 0) -> Tok:
        return self.toks[min(self.i + offset, len(self.toks) - 1)]

    def take(self) -> Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok.kind in ("op", "name") and tok.value == value:
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            tok = self.peek()
            raise KqlError(f"Syntax error at offset {tok.at}: expected {value!r}")

    def name(self) -> str:
        tok = self.take()
        if tok.kind != "name":
            raise KqlError(f"Syntax error at offset {tok.at}: expected a name")
        return str(tok.value)

    # -- expressions
    def expr(self) -> Expr:
        left = self.conjunction()
        while self.accept("or"):
            right = self.conjunction()
            left = _logic(left, right, any_=True)
        return left

    def conjunction(self) -> Expr:
        left = self.comparison()
        while self.accept("and"):
            right = self.comparison()
            left = _logic(left, right, any_=False)
        return left

    def comparison(self) -> Expr:
        left = self.primary()
        tok = self.peek()
        op = tok.value if tok.kind in ("op", "name") else None
        if op in ("==", "!=", "=~", "!~", "<", ">"):
            self.i += 1
            return _compare(left, str(op), self.primary())
        if op in ("in", "!in", "in~", "!in~"):
            self.i += 1
            return _membership(left, str(op), self.value_list())
        if op == "has":
            self.i += 1
            right = self.primary()
            if not right.is_const or not isinstance(right.const, str):
                raise KqlError(f"Semantic error at offset {tok.at}: has needs a constant string")
            test = _memo(_has(right.const))
            return Expr(lambda t, n: test(left.run(t, n)), "Boolean")
        if op == "between":
            self.i += 1
            self.expect("(")
            low = self.primary()
            self.expect("..")
            high = self.primary()
            self.expect(")")
            if not (low.is_const and high.is_const):
                raise KqlError("Semantic error: between needs constant bounds")
            lo, hi = low.const, high.const
            return Expr(
                lambda t, n: [v is not None and lo <= v <= hi for v in left.run(t, n)], "Boolean"
            )
        return left

    def value_list(self) -> list[Any]:
        self.expect("(")
        values: list[Any] = []
        while True:
            item = self.primary()
            if not item.is_const:
                raise KqlError("Semantic error: in (...) needs constants")
            values.extend(item.const if isinstance(item.const, list) else [item.const])
            if not self.accept(","):
                break
        self.expect(")")
        return values

    def primary(self) -> Expr:
        tok = self.take()
        if tok.kind == "string":
            return _const(tok.value, "String")
        if tok.kind == "number":
            return _const(tok.value, "Int64")
        if tok.kind == "datetime":
            return _const(tok.value, "DateTime")
        if tok.kind == "timespan":
            return _const(tok.value, "TimeSpan")
        if tok.kind == "op" and tok.value == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if tok.kind != "name":
            raise KqlError(f"Syntax error at offset {tok.at}: unexpected {tok.value!r}")
        word = str(tok.value)
        if word in ("true", "false"):
            return _const(word == "true", "Boolean")
        if self.peek().kind == "op" and self.peek().value == "(":
            return self.call(word, tok.at)
        if word in self.lets:
            return self.lets[word]
        if word in self.columns:
            kind = self.columns[word]
            return Expr(lambda t, n: t[word], kind, name=word)
        raise KqlError(
            f"Semantic error at offset {tok.at}: Failed to resolve scalar expression named '{word}'"
        )

    def call(self, fn: str, at: int) -> Expr:
        self.expect("(")
        if fn == "dynamic":
            return self._dynamic(at)
        args: list[Expr] = []
        if not self.accept(")"):
            while True:
                args.append(self.expr())
                if not self.accept(","):
                    break
            self.expect(")")
        return _function(fn, args, at)

    def _dynamic(self, at: int) -> Expr:
        self.expect("[")
        values: list[Any] = []
        if not self.accept("]"):
            while True:
                tok = self.take()
                if tok.kind not in ("string", "number"):
                    raise KqlError(f"Syntax error at offset {tok.at}: bad dynamic literal")
                values.append(tok.value)
                if not self.accept(","):
                    break
            self.expect("]")
        self.expect(")")
        return _const(values, "Dynamic")


def _logic(left: Expr, right: Expr, *, any_: bool) -> Expr:
    if any_:
        return Expr(
            lambda t, n: [
                a is True or b is True for a, b in zip(left.run(t, n), right.run(t, n), strict=True)
            ],
            "Boolean",
        )
    return Expr(
        lambda t, n: [
            a is True and b is True for a, b in zip(left.run(t, n), right.run(t, n), strict=True)
        ],
        "Boolean",
    )


def _compare(left: Expr, op: str, right: Expr) -> Expr:
    def one(a: Any, b: Any) -> bool | None:
        if a is None or b is None:
            return None
        match op:
            case "==":
                return bool(a == b)
            case "!=":
                return bool(a != b)
            case "=~":
                return bool(_lower(a) == _lower(b))
            case "!~":
                return bool(_lower(a) != _lower(b))
            case "<":
                return bool(a < b)
            case _:
                return bool(a > b)

    if right.is_const:
        value = right.const
        test = _memo(lambda a: one(a, value))
        return Expr(lambda t, n: test(left.run(t, n)), "Boolean")
    pairs = _memo(lambda pair: one(*pair))
    return Expr(
        lambda t, n: pairs(list(zip(left.run(t, n), right.run(t, n), strict=True))), "Boolean"
    )


def _membership(left: Expr, op: str, values: list[Any]) -> Expr:
    fold = op.endswith("~")
    wanted = {_lower(v) for v in values} if fold else set(values)
    negate = op.startswith("!")

    def one(a: Any) -> bool | None:
        if a is None:
            return None
        return ((_lower(a) if fold else a) in wanted) != negate

    test = _memo(one)
    return Expr(lambda t, n: test(left.run(t, n)), "Boolean")


def _function(fn: str, args: list[Expr], at: int) -> Expr:
    def arity(count: int) -> None:
        if len(args) != count:
            raise KqlError(f"Semantic error at offset {at}: {fn}() takes {count} arguments")

    match fn:
        case "not":
            arity(1)
            a = args[0]
            return Expr(lambda t, n: [None if v is None else not v for v in a.run(t, n)], "Boolean")
        case "isnotempty" | "isempty":
            arity(1)
            a, empty = args[0], fn == "isempty"
            return Expr(
                lambda t, n: [(v is None or v == "") == empty for v in a.run(t, n)], "Boolean"
            )
        case "tolower":
            arity(1)
            a = args[0]
            return Expr(lambda t, n: [_lower(v) for v in a.run(t, n)], "String")
        case "ipv4_is_in_any_range":
            arity(2)
            ip, ranges = args
            if not ranges.is_const or not isinstance(ranges.const, list):
                raise KqlError(f"Semantic error at offset {at}: ranges must be a dynamic array")
            test = _memo(_in_range(ranges.const))
            return Expr(lambda t, n: test(ip.run(t, n)), "Boolean")
        case "bin":
            arity(2)
            value, size = args
            if not size.is_const or not size.const:
                raise KqlError(f"Semantic error at offset {at}: bin() needs a constant size")
            step = size.const
            return Expr(
                lambda t, n: [None if v is None else v - v % step for v in value.run(t, n)],
                value.type,
            )
        case _:
            raise KqlError(
                f"Semantic error at offset {at}: Failed to resolve scalar expression named '{fn}'"
            )


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
