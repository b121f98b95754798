"""Comparing one call before and after a change: widened when anything grows, else narrowed."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from trustmap.diagnostics import Span
from trustmap.review import Call, compare

METHODS = st.lists(st.sampled_from(["GET /a", "GET /b", "POST /a"]), unique=True).map(
    lambda m: tuple(sorted(m))
)
PORTS = st.lists(st.sampled_from(["80/TCP", "443/TCP"]), min_size=1, unique=True).map(
    lambda p: tuple(sorted(p))
)
EXPIRES = st.none() | st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31))


def _call(ports: tuple[str, ...], methods: tuple[str, ...], expires: dt.date | None) -> Call:
    return Call("ns/a", "ns/b", "http", "dependency", ports, methods, expires, "r", Span("f"))


CALLS = st.builds(_call, PORTS, METHODS, EXPIRES)


@given(CALLS)
def test_a_call_compared_with_itself_did_not_move(call: Call) -> None:
    assert compare(call, call) == (None, ())


@given(CALLS, CALLS)
def test_what_narrows_one_way_widens_the_other(a: Call, b: Call) -> None:
    movement, _ = compare(a, b)
    if movement == "narrowed":
        assert compare(b, a)[0] == "widened"
    if movement is None:
        assert (a.ports, a.methods, a.expires) == (b.ports, b.methods, b.expires)


def test_every_method_is_wider_than_any_list() -> None:
    listed = _call(("80/TCP",), ("GET /a",), None)
    every = _call(("80/TCP",), (), None)
    assert compare(listed, every) == ("widened", ("methods: every method (was GET /a)",))
    assert compare(every, listed) == ("narrowed", ("methods: only GET /a (was every method)",))


def test_no_expiry_is_later_than_any_day() -> None:
    dated = _call(("80/TCP",), (), dt.date(2027, 1, 1))
    assert compare(dated, _call(("80/TCP",), (), None))[0] == "widened"
