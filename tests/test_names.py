"""``closest`` answers what ``difflib.get_close_matches`` answers (only faster), when that match is
also a few edits away: a third of the name's characters, at least 2 (issue 17: "did you mean"
must not offer an unrelated service that merely shares a suffix such as ``service``)."""

from __future__ import annotations

import difflib
import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from trustmap.names import closest, did_you_mean, is_dns1123_label, label_name

words = st.text(alphabet="abs-v0129x", max_size=10)


@settings(max_examples=500, deadline=None)
@given(words, st.lists(words, max_size=40))
def test_closest_is_the_best_difflib_match_when_it_is_a_few_edits_away(
    value: str, candidates: list[str]
) -> None:
    found = difflib.get_close_matches(value, sorted(set(candidates)), n=1, cutoff=0.6)
    near = bool(found) and _related(value, found[0])
    assert closest(value, candidates) == (found[0] if near else None)


def _related(value: str, candidate: str) -> bool:
    if value in candidate or candidate in value:
        return True
    shared = next(
        (n for n, (a, b) in enumerate(zip(value, candidate, strict=False)) if a != b), None
    )
    if (min(len(value), len(candidate)) if shared is None else shared) >= max(4, len(value) // 2):
        return True
    return _edits(value, candidate) <= max(2, len(value) // 3)


def _edits(a: str, b: str) -> int:
    """Levenshtein distance, the plain recursive definition (memoised)."""

    @functools.cache
    def d(i: int, j: int) -> int:
        if not i or not j:
            return i + j
        return min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))

    return d(len(a), len(b))


def test_a_shared_suffix_alone_suggests_nothing() -> None:
    assert closest("no-such-service", ["cartservice", "adservice"]) is None
    assert closest("checkuot", ["checkout", "cartservice"]) == "checkout"
    assert closest("metrics", ["http-metrics"]) == "http-metrics"
    assert closest("trustmap.io/v1", ["trustmap.dev/v1alpha1"]) == "trustmap.dev/v1alpha1"


def test_a_typo_of_a_service_name_suggests_it_and_equals_go_to_the_greatest_name() -> None:
    names = ["svc-1", "svc-300", "svc-2022", "svc-14"]
    assert closest("svc-2022x", names) == "svc-2022"
    assert did_you_mean("svc-2022x", names) == " (did you mean 'svc-2022'?)"
    assert closest("svc-2022x", ["svc-2021", "svc-2023"]) == "svc-2023"  # as difflib: same ratio
    assert closest("payments", names) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=90))
def test_label_name_turns_any_text_into_a_dns1123_label_or_the_fallback(text: str) -> None:
    """Discover and the catalog import name drafts with it: whatever a workload, Backstage
    entity or Otterize intent is called, the draft's name must pass validate's label rule."""
    name = label_name(text, "unnamed")
    assert is_dns1123_label(name)
    if name != "unnamed":
        assert all(part in text.lower() for part in name.split("-") if part)


def test_label_name_lowers_replaces_and_cuts_at_63_characters() -> None:
    assert label_name("Cart Service_v2", "x") == "cart-service-v2"
    assert label_name("--" + "a" * 62 + "-b", "x") == "a" * 62
    assert label_name("???", "fallback") == "fallback"
