"""Golden compile cases: byte-for-byte output, and every object valid under the strict upstream schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
from compile_cases import CASES, case_dirs, case_id, compile_case, expected_files, render_case
from manifest_schemas import errors, shared_available

from trustmap.dialects import TARGETS

CASE_DIRS = case_dirs()


@pytest.mark.parametrize("case", CASE_DIRS, ids=case_id)
def test_compiled_output_matches_the_golden_files_byte_for_byte(case: Path) -> None:
    expected = expected_files(case)
    assert expected, f"{case_id(case)} has no expected/ files: run python tests/dialects/regen.py"
    actual = render_case(case)
    assert sorted(actual) == sorted(expected), "the set of output files changed"
    for name, text in expected.items():
        assert actual[name] == text, (
            f"{name} differs: run python tests/dialects/regen.py and review"
        )


@pytest.mark.skipif(not shared_available(), reason="../shared/schemas is not beside the checkout")
@pytest.mark.parametrize("case", CASE_DIRS, ids=case_id)
def test_every_emitted_object_validates_against_the_strict_upstream_schema(case: Path) -> None:
    result = compile_case(case).result
    assert result.objects, "a golden case should compile to at least one object"
    problems = [
        f"{manifest['kind']}/{manifest['metadata']['name']}: {problem}"
        for _, manifest in result.objects
        for problem in errors(manifest)
    ]
    assert problems == []


def test_every_target_has_the_same_golden_cases_including_online_boutique() -> None:
    names = {
        target: {p.name for p in (CASES / target).iterdir() if p.is_dir()} for target in TARGETS
    }
    reference = names["kubernetes"]
    assert "online-boutique" in reference
    assert len(reference) >= 14
    for target, found in names.items():
        assert found == reference, f"{target} cases differ from kubernetes'"
