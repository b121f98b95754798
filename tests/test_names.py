"""``closest`` answers exactly what ``difflib.get_close_matches`` answers, only faster."""

from __future__ import annotations

import difflib

from hypothesis import given, settings
from hypothesis import strategies as st

from trustmap.names import closest, did_you_mean

words = st.text(alphabet="abs-v0129x", max_size=10)


@settings(max_examples=500, deadline=None)
@given(words, st.lists(words, max_size=40))
def test_closest_is_the_best_difflib_match(value: str, candidates: list[str]) -> None:
    expected = difflib.get_close_matches(value, sorted(set(candidates)), n=1, cutoff=0.6)
    assert closest(value, candidates) == (expected[0] if expected else None)


def test_a_typo_of_a_service_name_suggests_it_and_equals_go_to_the_greatest_name() -> None:
    names = ["svc-1", "svc-300", "svc-2022", "svc-14"]
    assert closest("svc-2022x", names) == "svc-2022"
    assert did_you_mean("svc-2022x", names) == " (did you mean 'svc-2022'?)"
    assert closest("svc-2022x", ["svc-2021", "svc-2023"]) == "svc-2023"  # as difflib: same ratio
    assert closest("payments", names) is None
