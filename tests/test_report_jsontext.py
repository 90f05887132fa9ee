"""The report's JSON text writer gives exactly ``json.dumps(indent=2, ensure_ascii=False)``."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from driftguard.report import jsontext


class Colour(StrEnum):
    RED = "red"


_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text(alphabet='\ud800\udfff\x00\x7f\u2028"\\é/'),
    st.just(Colour.RED),
)
_KEY = st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none(), st.floats())
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(st.text(max_size=6), max_size=8).map(tuple),
        st.lists(st.text(alphabet='ab.\ud800\x00\x1f\x7f\u00a0"\\é', max_size=4), max_size=6),
        st.dictionaries(st.text(max_size=5), inner, max_size=5),
        st.dictionaries(_KEY, inner, max_size=3),
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(_VALUE)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_a_value_json_refuses_is_still_refused() -> None:
    try:
        json.dumps({"a": {1, 2}}, indent=2)
    except TypeError as expected:
        message = str(expected)
    try:
        jsontext.dumps({"a": {1, 2}})
    except TypeError as got:
        assert str(got) == message
    else:  # pragma: no cover
        raise AssertionError("a set was written")
