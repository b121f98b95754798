"""The stage functions refuse bad usage the way the commands report it, and their defaults are
the implementing packages' defaults (``trustmap.api`` repeats them to stay free of DuckDB)."""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path

import pytest

import trustmap
from trustmap import api
from trustmap.errors import UsageError

TODAY = dt.date(2026, 11, 23)
BOUTIQUE = Path(__file__).resolve().parents[1] / "examples" / "online-boutique"


def test_ingest_and_drift_defaults_are_the_observe_packages() -> None:
    from trustmap.observe import ingest as observe_ingest

    ours = inspect.signature(api.ingest).parameters
    theirs = inspect.signature(observe_ingest).parameters
    assert theirs["db_path"].default == api.DEFAULT_DB
    for name in ("window", "memory_limit", "reporter", "year", "force"):
        assert ours[name].default == theirs[name].default, name


def test_load_reads_the_current_directory_when_given_no_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(BOUTIQUE)
    assert len(trustmap.load([], TODAY).services) == len(trustmap.load(today=TODAY).services) == 12


def test_discovering_needs_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="exactly one"):
        trustmap.discover_drafts()
    with pytest.raises(UsageError, match="exactly one"):
        trustmap.discover_drafts(manifests=[tmp_path], flows=tmp_path / "f.duckdb")


def test_spark_options_without_the_spark_engine_are_refused(tmp_path: Path) -> None:
    graph = trustmap.load([BOUTIQUE], TODAY)
    with pytest.raises(UsageError, match="engine='spark'"):
        trustmap.drift(graph, tmp_path / "f.duckdb", flows="flows.parquet")


def test_compile_yaml_writes_what_compile_builds() -> None:
    from trustmap.dialects.emit import dump

    graph = trustmap.load([BOUTIQUE], TODAY)
    (written,) = trustmap.compile_yaml(graph, ["cilium"], "prod", processes=1)
    built = trustmap.compile(graph, "cilium", "prod")
    assert [text for _, text in written.documents] == [dump(m) for _, m in built.objects]
