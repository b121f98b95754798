"""Loading a tree in parallel, validating files as they arrive, gives what loading step by step gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from benchmark_orgs import generate_organisation
from trustmap.graph import graph_from_load, load_declarations, load_graph
from trustmap.loader import load_paths
from trustmap.schema import parse_documents

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_organisation(tmp_path_factory.mktemp("org"), 120, 500)


@pytest.mark.parametrize("workers", [1, 2])
def test_load_graph_equals_the_stages_run_one_after_another(
    organisation: Path, workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTMAP_CACHE_DIR", str(tmp_path / "cache"))
    stepwise = graph_from_load(load_paths([organisation], workers=1), TODAY)
    cold = load_graph([organisation], TODAY, workers=workers)
    warm = load_graph([organisation], TODAY, workers=workers)
    assert cold == stepwise
    assert warm == stepwise
    assert len(stepwise.edges) > 400
    assert any(d.code == "TM211" for d in stepwise.diagnostics)


def test_load_declarations_reports_file_and_schema_problems_together(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: 1\na: 2\n")
    (tmp_path / "b.yaml").write_text("apiVersion: trustmap.dev/v1alpha1\nkind: Team\n")
    declarations, problems = load_declarations([tmp_path])
    loaded = load_paths([tmp_path])
    expected, schema_problems = parse_documents(loaded.documents)
    assert declarations == expected
    assert problems == [*loaded.diagnostics, *schema_problems]
    assert [p.code for p in problems] == ["TM102", "TM112", "TM112"]
