"""A connector's compact comparable form: equal forms only for equal settings, and always the
form of the connector's own settings (also after ``dataclasses.replace``)."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from driftguard.diff import changed_fields
from driftguard.model import Connector, comparable_form
from driftguard.properties import Value

_MEMBER = st.text(alphabet="ab\n1./", max_size=4)
_LIST = st.one_of(
    st.lists(_MEMBER, max_size=3).map(tuple),
    st.lists(_MEMBER, min_size=15, max_size=20).map(tuple),
    st.lists(st.sampled_from(["a", "b\nc", "b", "c"]), min_size=17, max_size=19).map(tuple),
)
_VALUE = st.one_of(st.none(), st.booleans(), st.integers(0, 2), st.text(max_size=3), _LIST)
_SETTINGS = st.dictionaries(st.sampled_from(["A", "B", "C"]), _VALUE, max_size=3)


@settings(max_examples=500, deadline=None)
@given(_SETTINGS, _SETTINGS)
def test_equal_forms_only_for_equal_settings(one: dict[str, Value], two: dict[str, Value]) -> None:
    if comparable_form(one) == comparable_form(two):
        assert one == two


def test_a_long_list_with_a_newline_in_a_member_is_compared_as_it_is() -> None:
    split = tuple(f"m{i}" for i in range(20))
    merged = (f"{split[0]}\n{split[1]}", *split[2:])
    assert "\n".join(merged) == "\n".join(split)
    assert comparable_form({"L": split}) != comparable_form({"L": merged})
    tricky = ("a\nb", *("c" for _ in range(18)))
    spread = ("a", "b\nc", *("c" for _ in range(17)))
    assert "\n".join(tricky) == "\n".join(spread) and len(tricky) == len(spread)
    assert comparable_form({"L": tricky}) != comparable_form({"L": spread})


def test_replace_gives_the_form_of_the_new_settings() -> None:
    ips = tuple(f"10.0.0.{i}/32" for i in range(40))
    base = Connector("Relay", None, {"SenderIPAddresses": ips})
    widened = dataclasses.replace(base, settings={"SenderIPAddresses": (*ips, "0.0.0.0/24")})
    assert widened.comparable == comparable_form(widened.settings) != base.comparable
    assert changed_fields([(base, widened)]) == [{"SenderIPAddresses"}]
    assert changed_fields([(base, dataclasses.replace(base))]) == [set()]
