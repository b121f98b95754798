"""Every example in ``docs/api.md`` runs as written and prints what the page shows (doctest), so
the library's documentation cannot drift from the library."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "api.md"


@pytest.fixture
def at_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples run from the repository root; their temporary folders go under tmp_path."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)


def test_every_example_of_the_api_page_runs_and_prints_what_the_page_shows(at_root: None) -> None:
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(PAGE), module_relative=False, optionflags=flags, verbose=False)
    assert result.attempted >= 30
    assert result.failed == 0, f"{result.failed} example(s) of {PAGE} failed (see above)"


def test_every_public_stage_function_is_documented_on_the_page() -> None:
    import trustmap.api

    page = PAGE.read_text(encoding="utf-8")
    for name in trustmap.api.__all__:
        assert f"`{name}(" in page, f"{name} is not documented in {PAGE.name}"
