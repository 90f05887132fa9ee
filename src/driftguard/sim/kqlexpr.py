"""The simulator's KQL subset, part one: tokens and scalar expressions (see ``kqlsubset``).

Strings take the backslash escapes of a backslash, both quotes, n, r and t; ``//`` starts a comment
outside strings; ``datetime(...)`` literals are read whole. Expressions compile to functions of
a columnar table (one list per column) giving one value per row, string predicates memoised
per distinct value. Nulls are ``None`` and make a predicate false, as in Kusto.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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


def _contains(needle: str) -> Callable[[Any], bool]:
    """``contains``: a substring, without case."""
    word = needle.lower()
    return lambda v: isinstance(v, str) and word in v.lower()


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
        if op in ("has", "contains"):
            self.i += 1
            right = self.primary()
            if not right.is_const or not isinstance(right.const, str):
                raise KqlError(f"Semantic error at offset {tok.at}: {op} needs a constant string")
            test = _memo(_has(right.const) if op == "has" else _contains(right.const))
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
