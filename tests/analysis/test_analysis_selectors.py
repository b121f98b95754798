"""Label selectors: every operator, the bitset index, and validation with located errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_helpers import write
from hypothesis import given
from hypothesis import strategies as st

from trustmap.analysis import load_manifests
from trustmap.analysis.selectors import LabelIndex, Requirement, Selector


@pytest.mark.parametrize(
    ("requirement", "labels", "expected"),
    [
        (Requirement("app", "In", ("a", "b")), {"app": "b"}, True),
        (Requirement("app", "In", ("a",)), {"app": "c"}, False),
        (Requirement("app", "In", ("a",)), {}, False),
        (Requirement("app", "NotIn", ("a",)), {"app": "c"}, True),
        (Requirement("app", "NotIn", ("a",)), {}, True),
        (Requirement("app", "NotIn", ("a",)), {"app": "a"}, False),
        (Requirement("app", "Exists"), {"app": ""}, True),
        (Requirement("app", "Exists"), {"tier": "x"}, False),
        (Requirement("app", "DoesNotExist"), {"tier": "x"}, True),
        (Requirement("app", "DoesNotExist"), {"app": "x"}, False),
    ],
)
def test_each_operator_matches_as_kubernetes_defines_it(
    requirement: Requirement, labels: dict[str, str], expected: bool
) -> None:
    assert requirement.matches(labels) is expected


def test_empty_selector_selects_everything_and_requirements_are_anded() -> None:
    assert Selector().matches({})
    assert Selector().selects_all
    both = Selector.of({"app": "web"}, Requirement("tier", "Exists"))
    assert both.matches({"app": "web", "tier": "x"})
    assert not both.matches({"app": "web"})


_labels = st.dictionaries(st.sampled_from(["app", "tier", "env"]), st.sampled_from(["a", "b", ""]))
_requirement = st.builds(
    lambda key, op, values: Requirement(
        key, op, tuple(sorted(set(values))) if op in ("In", "NotIn") else ()
    ),
    st.sampled_from(["app", "tier", "env"]),
    st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]),
    st.lists(st.sampled_from(["a", "b", ""]), min_size=1, max_size=2),
)


@given(st.lists(_labels, max_size=12), st.lists(_requirement, max_size=3))
def test_bitset_index_agrees_with_matching_one_by_one(
    label_sets: list[dict[str, str]], requirements: list[Requirement]
) -> None:
    selector = Selector(tuple(sorted(set(requirements))))
    bits = LabelIndex(label_sets).select(selector)
    expected = sum(1 << i for i, labels in enumerate(label_sets) if selector.matches(labels))
    assert bits == expected


_POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: p
spec:
  podSelector:
    matchExpressions:
    - key: app
{expression}
"""


@pytest.mark.parametrize(
    ("expression", "message", "line"),
    [
        (
            "      operator: in\n      values: [a]",
            "unknown selector operator 'in' (did you mean 'In'?)",
            9,
        ),
        ("      operator: In", "operator In needs at least one value", 8),
        ("      operator: Exists\n      values: [a]", "operator Exists takes no values", 10),
        ("      operator: In\n      values: [1.5]", "label value must be a string", 10),
    ],
)
def test_malformed_selectors_are_errors_at_their_line(
    tmp_path: Path, expression: str, message: str, line: int
) -> None:
    cluster, diagnostics = load_manifests([write(tmp_path, _POLICY.format(expression=expression))])
    errors = [d for d in diagnostics if d.code == "TM606"]
    assert errors
    assert message in errors[0].message
    assert errors[0].span is not None
    assert errors[0].span.line == line
    assert not cluster.policies, "an invalid policy is left out of the analysis"


def test_a_misspelt_selector_field_is_a_warning_with_a_suggestion(tmp_path: Path) -> None:
    text = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
        "spec:\n  podSelector:\n    matchlabels: {app: a}\n"
    )
    _, diagnostics = load_manifests([write(tmp_path, text)])
    [warning] = [d for d in diagnostics if d.code == "TM613"]
    assert "did you mean 'matchLabels'" in warning.message
    assert warning.span is not None
    assert (warning.span.line, warning.span.col) == (6, 18)
