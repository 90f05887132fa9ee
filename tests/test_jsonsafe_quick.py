"""The quick decoder of driftguard.jsonsafe refuses exactly what the careful one refuses, and
reads everything else to the same value: generated documents aim at every rule's edge (keys
equal but for case, including ``ß``/``ss`` and the Kelvin sign; surrogate escapes and raw
surrogates, in keys and values; 20- and 21-digit integers; long and overflowing floats; NaN;
nesting around 64 levels; brackets inside strings; syntax errors)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftguard import jsonsafe
from driftguard.errors import JsonError

# String contents as they appear between quotes in a JSON text (already escaped).
_KEYS = (
    "a",
    "A",
    "b",
    "ss",
    "SS",
    "\u00df",  # ß: casefolds to "ss"
    "k",
    "K",
    "\u212a",  # the Kelvin sign: casefolds to "k"
    "\\u212a",
    "\\u0041",  # "A", escaped
    "\\ud800",
    "\\udc80",
    "\\uD83D\\uDE00",  # a real pair: one character
    "\ud800",  # a raw lone surrogate in the text itself
    "\ufffd",  # what a lone surrogate becomes
    'x\\"y',
    "[{",
)
_TEXTS = (*_KEYS, "", "[[[[", "}}", "9" * 25, "\\\\", "caf\u00e9")


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=count, max_size=count).map(
        lambda d: d if len(d) == 1 else "1" + d[1:]
    )


_INTS = st.builds(
    lambda sign, digits: sign + digits,
    st.sampled_from(("", "-")),
    st.integers(min_value=1, max_value=23).flatmap(_digits),
)
_FLOATS = st.sampled_from(
    (
        "1.5",
        "-0.25",
        "1e999",
        "-1e999",
        "1E308",
        "2.5e-400",
        "1." + "0" * 38,
        "1." + "0" * 39,
        "0.1e1",
    )
)
_ATOMS = st.one_of(
    _INTS,
    _FLOATS,
    st.sampled_from(("true", "false", "null", "NaN", "Infinity", "-Infinity")),
    st.sampled_from(_TEXTS).map(lambda t: f'"{t}"'),
)


def _array(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f'"{k}": {v}' for k, v in pairs) + "}"


_VALUES = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(_array),
        st.lists(st.tuples(st.sampled_from(_KEYS), inner), max_size=5).map(_object),
    ),
    max_leaves=25,
)


def _deep(levels: int, inner: str, kind: str) -> str:
    if kind == "[":
        return "[" * levels + inner + "]" * levels
    return '{"a": ' * levels + inner + "}" * levels


_DEEP = st.builds(
    _deep,
    st.integers(min_value=55, max_value=70),
    _VALUES,
    st.sampled_from(("[", "{")),
)
_BROKEN = st.builds(
    lambda text, cut: text[:cut] if cut < len(text) else text + ",",
    _VALUES,
    st.integers(min_value=0, max_value=60),
)
_DOCUMENTS = st.one_of(_VALUES, _VALUES, _DEEP, _BROKEN)


def _outcome(read: object) -> tuple[object, ...]:
    assert callable(read)
    try:
        value = read()
    except JsonError as exc:
        return ("refused", exc.message, exc.pos, exc.line, exc.column)
    return ("read", repr(value))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_DOCUMENTS)
def test_loads_refuses_exactly_what_the_careful_decoder_refuses(text: str) -> None:
    quick = _outcome(lambda: jsonsafe.loads(text, source="doc"))
    careful = _outcome(lambda: jsonsafe._careful_loads(text, source="doc"))
    assert quick == careful


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_DOCUMENTS, prefix=st.sampled_from(("", "  ", "x\n ")), after=_VALUES)
def test_decode_at_refuses_exactly_what_the_careful_decoder_refuses(
    text: str, prefix: str, after: str
) -> None:
    buffer = f"{prefix}{text}\n{after}"
    quick = _outcome(lambda: jsonsafe.decode_at(buffer, len(prefix), source="doc"))
    careful = _outcome(lambda: jsonsafe._careful_decode_at(buffer, len(prefix), source="doc"))
    assert quick == careful


def test_the_generated_documents_reach_every_rule() -> None:
    """The edges above are real: each of these is refused (or read) by both decoders alike."""
    cases = {
        '{"k": 1, "\u212a": 2}': "differ only in case",
        '{"ss": 1, "\u00df": 2}': "differ only in case",
        '{"\\ud800": 1, "\\udc80": 2}': "duplicate key",  # both become U+FFFD
        '{"\\ufffd": 1, "\\udc80": 2}': "duplicate key",
        '{"\\u0041": 1, "a": 2}': "differ only in case",
        "[" + "1" * 21 + "]": "21 digits",
        "[" + "1." + "0" * 39 + "]": "characters",
        "[" * 65 + "]" * 65: "nested deeper",
    }
    for text, detail in cases.items():
        for read in (jsonsafe.loads, jsonsafe._careful_loads):
            try:
                read(text, source="doc")
            except JsonError as exc:
                assert detail in exc.message, (text, exc.message)
            else:  # pragma: no cover - the assertion names the document
                raise AssertionError(f"{text!r} was read")
    assert jsonsafe.loads("[" + "1" * 20 + "]", source="doc") == [int("1" * 20)]
    assert jsonsafe.loads(
        '["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]', source="d"
    )
    assert jsonsafe.loads('{"a": "\\ud800"}', source="doc") == {"a": "\ufffd"}


def test_known_key_lists_are_bounded() -> None:
    for i in range(jsonsafe._KNOWN_MAX + 10):
        jsonsafe.loads(json.dumps({f"k{i}": 1, "x": 2}), source="doc")
    assert len(jsonsafe._KNOWN_KEYS) <= jsonsafe._KNOWN_MAX
    jsonsafe.loads(json.dumps({"k" * 2000: 1}), source="doc")
    assert ("k" * 2000,) not in jsonsafe._KNOWN_KEYS
