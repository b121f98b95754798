"""Cross-file findings point at the exact line in both files, in every output format.

SARIF 2.1.0 carries the other places of a result in ``relatedLocations`` (each with an ``id`` and a
``physicalLocation``; OASIS SARIF 2.1.0 §3.27.22). GitHub workflow commands annotate one file
and line per ``::error file=…,line=…::`` command, so the other place gets an annotation of its own
(docs.github.com, "Workflow commands for GitHub Actions", setting an error message).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from trustmap.diagnostics import Diagnostic
from trustmap.graph import load_graph
from trustmap.report.diagnostics import render_diagnostics

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "validate"
TODAY = dt.date(2026, 11, 23)


def _findings(case: str, code: str) -> list[Diagnostic]:
    graph = load_graph([CASES / case], TODAY)
    return [d for d in graph.diagnostics if d.code == code]


@pytest.mark.parametrize(
    ("case", "code", "here", "there"),
    [
        ("tm206-duplicate-service", "TM206", ("payments.yaml", 3), ("legacy/payments.yaml", 4)),
        ("tm208-overlapping-selectors", "TM208", ("checkout.yaml", 6), ("checkout-worker.yaml", 7)),
        ("tm209-shared-service-account", "TM209", ("services.yaml", 13), ("services.yaml", 6)),
    ],
)
def test_a_cross_file_finding_names_the_exact_line_of_the_other_declaration(
    case: str, code: str, here: tuple[str, int], there: tuple[str, int]
) -> None:
    (found,) = _findings(case, code)
    assert found.span.file.endswith(here[0])
    assert found.span.line == here[1]
    (other,) = found.related
    assert other.file.endswith(there[0])
    assert other.line == there[1]


def test_sarif_carries_the_other_place_as_a_related_location() -> None:
    (found,) = _findings("tm206-duplicate-service", "TM206")
    result = json.loads(render_diagnostics([found], "sarif"))["runs"][0]["results"][0]
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"].endswith("legacy/payments.yaml")
    assert related["physicalLocation"]["region"]["startLine"] == 4


def test_github_gets_a_second_annotation_at_the_other_place() -> None:
    (found,) = _findings("tm206-duplicate-service", "TM206")
    lines = render_diagnostics([found], "github").splitlines()
    assert len(lines) == 2
    assert "legacy/payments.yaml,line=4," not in lines[0]
    assert "legacy/payments.yaml,line=4," in lines[1]
    assert lines[1].startswith("::error ")


def test_json_lists_the_related_places() -> None:
    (found,) = _findings("tm209-shared-service-account", "TM209")
    (data,) = json.loads(render_diagnostics([found], "json"))
    assert [r["line"] for r in data["related"]] == [6]
