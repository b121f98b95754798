"""Every case of shared/cases/netpol: connectivity compared semantically, invalid input rejected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from netpol_semantics import CASES, differences, netpol_cases

from trustmap.analysis import analyze, connlist_lines, load_manifests

_CASES = netpol_cases()
_CONNLIST = [c for c in _CASES if c["kind"] == "connlist"]
_INVALID = [c for c in _CASES if c["kind"] == "invalid"]

pytestmark = pytest.mark.skipif(not _CASES, reason=f"no netpol cases at {CASES}")


def _expected(name: str) -> list[str]:
    text = (CASES / name / "expected_connlist.txt").read_text()
    return [line.rstrip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("case", _CONNLIST, ids=lambda c: c["name"])
def test_connectivity_matches_np_guard_semantically(
    case: dict[str, Any], tally: dict[str, dict[str, bool]]
) -> None:
    name = case["name"]
    cluster, diagnostics = load_manifests([CASES / name / "manifests"])
    errors = [str(d) for d in diagnostics if d.severity.value == "error"]
    lines = connlist_lines(analyze(cluster))
    expected = _expected(name)
    diffs = differences(lines, expected)
    tally["connectivity"][name] = not diffs and not errors
    tally["strict"][name] = sorted(lines) == sorted(expected)
    assert not errors, errors
    assert not diffs, "\n".join(diffs[:20])


CATEGORY_CODES = {
    "invalid ipBlock CIDR": "TM601",
    "NetworkPolicyPeer combines ipBlock with podSelector/namespaceSelector": "TM602",
    "named port used in a rule whose peer is an ipBlock": "TM603",
    "two NetworkPolicies with the same name in one namespace": "TM604",
    "endPort given together with a named port": "TM605",
}
"""The error category of each invalid case (``expected_error.json``; shared/cases/netpol/README.md
says to match the category, not message text) → the code trustmap reports for it."""


def _category(case: dict[str, Any]) -> str:
    found = case.get("error_category")
    if found is None:
        expected = json.loads((CASES / case["name"] / "expected_error.json").read_text())
        found = expected["category"]
    return str(found)


@pytest.mark.parametrize("case", _INVALID, ids=lambda c: c["name"])
def test_invalid_manifests_are_rejected_with_a_located_error_of_their_category(
    case: dict[str, Any], tally: dict[str, dict[str, bool]]
) -> None:
    _, diagnostics = load_manifests([CASES / case["name"] / "manifests"])
    errors = [d for d in diagnostics if d.severity.value == "error"]
    category = _category(case)
    tally["invalid"][case["name"]] = bool(errors)
    assert category in CATEGORY_CODES, f"no code is known for the category '{category}'"
    assert [d.code for d in errors] == [CATEGORY_CODES[category]], [str(d) for d in errors]
    assert all(d.span is not None and d.span.line > 0 for d in errors), [str(d) for d in errors]


def test_the_case_folder_has_the_documented_number_of_cases() -> None:
    assert len(_CONNLIST) >= 64
    assert len(_INVALID) >= 5


def test_output_is_sorted_and_byte_identical_across_runs() -> None:
    folder = Path(CASES / "ipblockstest" / "manifests")
    first = connlist_lines(analyze(load_manifests([folder])[0]))
    second = connlist_lines(analyze(load_manifests([folder])[0]))
    assert first == second
    pairs = [tuple(line.split(" : ", 1)[0].split(" => ")) for line in first]
    assert pairs == sorted(pairs)
