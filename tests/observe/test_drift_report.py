"""Drift as GitHub annotations, SARIF and an HTML page, and the coverage trend over windows."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result
from test_drift import CSV_ROWS, HEADER, SHOP, shop

from trustmap.cli import cli
from trustmap.observe import ingest
from trustmap.observe.drift import CATEGORIES, drift
from trustmap.observe.findings import drift_diagnostics
from trustmap.report.drift import render_drift

NOW = "2026-11-23"

# The parts of the SARIF 2.1.0 schema (sarif-schema-2.1.0.json) that trustmap's output uses,
# with their constraints: required properties, enums and minimums.
SARIF_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                },
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {
                                                        "level": {
                                                            "enum": [
                                                                "none",
                                                                "note",
                                                                "warning",
                                                                "error",
                                                            ]
                                                        }
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": -1},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string"}},
                                },
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "properties": {"uri": {"type": "string"}},
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "startColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def line_of(text: str) -> int:
    return next(n for n, line in enumerate(SHOP.splitlines(), 1) if text in line)


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "decl"
    folder.mkdir()
    (folder / "shop.yaml").write_text(SHOP)
    return folder


@pytest.fixture
def two_batches(db: Path, tmp_path: Path) -> Path:
    """The shop flows in two ingest runs: the 20th (and earlier), then the 21st."""
    first = [row for row in CSV_ROWS if not row.startswith("2026-11-21")]
    second = [row for row in CSV_ROWS if row.startswith("2026-11-21")]
    for n, rows in enumerate((first, second)):
        flows = tmp_path / f"flows-{n}.csv"
        flows.write_text(HEADER + "\n".join(rows) + "\n")
        assert ingest([str(flows)], "csv", db).malformed == 0
    return db


def run(shop_dir: Path, db: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["drift", str(shop_dir / "shop.yaml"), "--db", str(db), "--now", NOW, *args]
    )


# github and sarif ----------------------------------------------------------------------------


def test_github_annotations_point_at_the_declaring_lines(shop_dir: Path, two_batches: Path) -> None:
    result = run(shop_dir, two_batches, "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == len(drift(shop(), two_batches).entries) == 6
    shop_file = str(shop_dir / "shop.yaml")
    pattern = re.compile(
        r"^::(error|warning|notice) file=([^,]+),line=(\d+),col=(\d+),title=(TM51\d)::"
    )
    matched = [(m[5], int(m[3])) for m in map(pattern.match, lines) if m and m[2] == shop_file]
    assert len(matched) == 6
    found = set(matched)
    assert ("TM511", line_of("service: shop/payment")) in found  # unused: the dependency entry
    assert ("TM512", line_of("service: shop/cart, reason: carts")) in found  # dropped
    assert ("TM513", line_of("service: shop/ledger")) in found  # expired
    cart_doc = line_of("metadata: {name: cart") - 2  # undeclared: the source's document
    assert ("TM510", cart_doc) in found
    assert any(line.startswith("::notice ") and "title=TM511" in line for line in lines)
    assert any(line.startswith("::error ") and "title=TM512" in line for line in lines)


def test_sarif_has_the_sarif_2_1_0_shape_and_one_result_per_entry(
    shop_dir: Path, two_batches: Path
) -> None:
    result = run(shop_dir, two_batches, "--format", "sarif")
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, SARIF_SHAPE)
    run_ = sarif["runs"][0]
    results, rules = run_["results"], run_["tool"]["driver"]["rules"]
    assert sorted(r["ruleId"] for r in results) == sorted(
        e.code for e in drift(shop(), two_batches).entries
    )
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    unused = next(r for r in results if r["ruleId"] == "TM511")
    location = unused["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == str(shop_dir / "shop.yaml")
    assert location["region"]["startLine"] == line_of("service: shop/payment")
    assert "shop/web → shop/payment 50051/TCP" in unused["message"]["text"]


def test_every_entry_becomes_a_diagnostic_with_its_category_code(two_batches: Path) -> None:
    report = drift(shop(), two_batches)
    codes = sorted(d.code for d in drift_diagnostics(report))
    assert codes == sorted(entry.code for entry in report.entries)
    egress = next(d for d in drift_diagnostics(report) if d.code == "TM514")
    assert "shop/web → 8.8.8.8 53/UDP" in egress.message
    assert egress.hint is not None


# html ----------------------------------------------------------------------------------------


def test_the_html_page_is_self_contained_with_every_chart(
    shop_dir: Path, two_batches: Path, tmp_path: Path
) -> None:
    page = tmp_path / "drift.html"
    result = run(shop_dir, two_batches, "--format", "html", "-o", str(page))
    assert result.exit_code == 1
    html = page.read_text()
    assert html.startswith("<!doctype html>")
    for section in ("categories", "trend", "namespaces", "teams", *CATEGORIES):
        assert f'<section id="{section}">' in html
    assert html.count("<svg") == 4  # categories, trend, namespaces, teams
    assert html.count("<polyline") == 2  # flow and workload share over the windows
    assert "batch 1" in html
    assert "batch 2" in html
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched
    assert "shop/cart" in html


def test_the_html_page_is_deterministic(shop_dir: Path, two_batches: Path, tmp_path: Path) -> None:
    pages = []
    for n in range(2):
        page = tmp_path / f"drift-{n}.html"
        run(shop_dir, two_batches, "--format", "html", "-o", str(page))
        pages.append(page.read_bytes())
    assert pages[0] == pages[1]
    assert render_drift(drift(shop(), two_batches), "html") == render_drift(
        drift(shop(), two_batches), "html"
    )


def test_html_escapes_names_from_flows(two_batches: Path) -> None:
    html = render_drift(drift(shop(), two_batches), "html", "drift <b>")
    assert "drift &lt;b&gt;" in html
    assert "drift <b>" not in html


# trend ---------------------------------------------------------------------------------------


def test_the_trend_gives_coverage_per_ingest_batch(two_batches: Path) -> None:
    report = drift(shop(), two_batches)
    first, second = report.coverage.trend
    assert (first.window, first.batch, first.source_format) == ("batch 1", 1, "csv")
    assert first.row.flows == 4 + 2 + 3 + 1 + 6 + 2 + 1 + 1  # every request but the 21st's
    assert first.row.covered_flows == 4 + 2 + 6
    assert (second.window, second.row.flows, second.row.covered_flows) == ("batch 2", 5, 0)
    assert second.first_seen == dt.datetime(2026, 11, 21, 9, 2)
    assert first.row.flows + second.row.flows == report.coverage.total.flows


def test_windows_split_the_same_totals_as_one_window(two_batches: Path) -> None:
    split = drift(shop(), two_batches).to_json()
    whole = drift(shop(), two_batches, trend=None).to_json()
    assert whole["coverage"]["trend"] == []  # type: ignore[index]
    for data in (split, whole):
        data["coverage"].pop("trend")  # type: ignore[attr-defined]
    assert split == whole


def test_the_trend_per_day_splits_one_batch_by_utc_day(db: Path, tmp_path: Path) -> None:
    flows = tmp_path / "flows.csv"
    flows.write_text(HEADER + "\n".join(CSV_ROWS) + "\n")
    ingest([str(flows)], "csv", db)
    points = drift(shop(), db, trend="day").coverage.trend
    assert [p.window for p in points] == ["2026-01-05", "2026-11-20", "2026-11-21"]
    assert [p.row.flows for p in points] == [1, 19, 5]
    assert all(p.batch is None for p in points)


def test_the_trend_is_in_json_text_and_respects_since(shop_dir: Path, two_batches: Path) -> None:
    data = json.loads(run(shop_dir, two_batches, "--format", "json").stdout)
    assert set(data) == {*CATEGORIES, "coverage", "window"}
    assert [p["window"] for p in data["coverage"]["trend"]] == ["batch 1", "batch 2"]
    assert data["coverage"]["trend"][1]["flowShare"] == 0.0
    recent = json.loads(
        run(
            shop_dir, two_batches, "--format", "json", "--now", "2026-11-21", "--since", "1d"
        ).stdout
    )
    assert [p["window"] for p in recent["coverage"]["trend"]] == ["batch 2"]
    text = run(shop_dir, two_batches, "--trend", "day")
    assert "coverage trend" in text.stdout
    assert "2026-11-21" in text.stdout
