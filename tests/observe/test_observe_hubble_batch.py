"""Many Hubble files in one run: one statement (compiled reader or DuckDB's), collapsed across
files, bad files isolated."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from observe_helpers import HUBBLE, rows

from trustmap.errors import UsageError
from trustmap.observe import ingest
from trustmap.observe.formats import hubble_native
from trustmap.observe.formats.hubble import split_url
from trustmap.observe.formats.hubble_sql import url_path

FAST = {"auto": "native" if hubble_native.AVAILABLE else "duckdb", "duckdb": "duckdb"}
"""The reader each engine choice stages a clean Hubble file with."""
ENGINES = pytest.mark.parametrize("engine", sorted(FAST))
CAPTURE = HUBBLE / "basic-sample-400-tcp-flows.json"
HTTP = HUBBLE / "basic-sample-348-http-flows.json"


def _split(source: Path, first: Path, second: Path) -> None:
    """Alternate lines into two files: each packet's observation points land in both."""
    lines = source.read_text().splitlines(keepends=True)
    first.write_text("".join(lines[0::2]))
    second.write_text("".join(lines[1::2]))


def _without_batch(db: Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "batch_id"} for row in rows(db)]


@ENGINES
def test_files_read_in_one_statement_collapse_across_files(tmp_path: Path, engine: str) -> None:
    first, second = tmp_path / "node-a.json", tmp_path / "node-b.json"
    _split(CAPTURE, first, second)
    report = ingest([first, second], "hubble", tmp_path / "split.duckdb", engine=engine)
    ingest([CAPTURE], "hubble", tmp_path / "whole.duckdb", engine=engine)
    ingest([first, second], "hubble", tmp_path / "python.duckdb", engine="python")
    assert [f.engine for f in report.files] == [FAST[engine]] * 2
    assert [f.records_read for f in report.files] == [200, 200]
    split = _without_batch(tmp_path / "split.duckdb")
    assert split == _without_batch(tmp_path / "whole.duckdb")
    assert split == _without_batch(tmp_path / "python.duckdb")


@ENGINES
def test_gzip_and_plain_files_of_one_run_collapse_together(tmp_path: Path, engine: str) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    _split(HTTP, first, second)
    packed = tmp_path / "b.json.gz"
    packed.write_bytes(gzip.compress(second.read_bytes()))
    report = ingest([first, packed], "hubble", tmp_path / "mixed.duckdb", engine=engine)
    ingest([HTTP], "hubble", tmp_path / "whole.duckdb", engine=engine)
    assert [f.engine for f in report.files] == [FAST[engine]] * 2
    assert _without_batch(tmp_path / "mixed.duckdb") == _without_batch(tmp_path / "whole.duckdb")


@ENGINES
def test_a_bad_line_sends_only_its_file_to_the_python_parser(tmp_path: Path, engine: str) -> None:
    first, second = tmp_path / "good.json", tmp_path / "bad.json"
    _split(CAPTURE, first, second)
    lines = second.read_text().splitlines(keepends=True)
    lines.insert(3, '{"flow": {"time": "yesterday", "verdict": "FORWARDED"}}\n')
    second.write_text("".join(lines))
    report = ingest([first, second], "hubble", tmp_path / "fast.duckdb", engine=engine)
    assert [f.engine for f in report.files] == [FAST[engine], "python"]
    assert report.malformed == 1
    shown = [(d.code, d.span.file, d.span.line) for d in report.diagnostics if d.span]
    assert ("TM501", str(second), 4) in shown
    ingest([first, second], "hubble", tmp_path / "slow.duckdb", engine="python")
    assert _without_batch(tmp_path / "fast.duckdb") == _without_batch(tmp_path / "slow.duckdb")
    assert sum(r["count"] for r in rows(tmp_path / "fast.duckdb")) == 400


@ENGINES
def test_a_truncated_last_line_costs_only_that_line(tmp_path: Path, engine: str) -> None:
    first, second = tmp_path / "good.json", tmp_path / "cut.json"
    _split(CAPTURE, first, second)
    second.write_text(second.read_text() + '{"flow": {"time": "2021-')
    report = ingest([first, second], "hubble", tmp_path / "flows.duckdb", engine=engine)
    assert [f.engine for f in report.files] == [FAST[engine], "python"]
    assert (report.read, report.malformed) == (401, 1)


def _line(node: str, destination: dict[str, Any]) -> str:
    flow = {
        "time": "2026-01-01T10:00:00Z", "verdict": "FORWARDED", "node_name": node,
        "IP": {"source": "10.0.0.1", "destination": "10.0.0.2"},
        "l4": {"TCP": {"source_port": 40000, "destination_port": 7070, "flags": {"SYN": True}}},
        "source": {"namespace": "shop", "pod_name": "web-1", "labels": ["k8s:app=web"]},
        "destination": destination, "is_reply": False,
    }  # fmt: skip
    return json.dumps({"flow": flow, "node_name": node, "time": flow["time"]})


@pytest.mark.parametrize("engine", ["auto", "duckdb", "python"])
def test_a_peer_known_better_on_one_node_keeps_the_fuller_description(
    tmp_path: Path, engine: str
) -> None:
    full = {"ID": 7, "identity": 4242, "namespace": "shop", "pod_name": "cart-1",
            "labels": ["k8s:app=cart", "k8s:io.cilium.k8s.policy.serviceaccount=cart"],
            "workloads": [{"name": "cart", "kind": "Deployment"}]}  # fmt: skip
    partial = {"identity": 4242, "labels": ["k8s:app=cart"]}
    capture = tmp_path / "flows.json"
    capture.write_text(_line("a", partial) + "\n" + _line("b", full) + "\n")
    ingest([capture], "hubble", tmp_path / "flows.duckdb", engine=engine)
    (row,) = rows(tmp_path / "flows.duckdb")
    assert (row["dst_pod"], row["dst_workload"], row["dst_service_account"]) == (
        "cart-1", "cart", "cart",
    )  # fmt: skip
    assert (row["count"], row["reporter"]) == (2, "b")


@pytest.mark.parametrize(
    "url",
    ["http://cart:7070/x?y=1", "https://a/b/c#frag", "/status/418", "/", "http://host",
     "http://host/", "grpc://svc:50051/pkg.Svc/Get", "a/b://c/d", "?only=query", "x://y?z"],
)  # fmt: skip
def test_url_paths_are_taken_like_the_python_parser(url: str) -> None:
    con = duckdb.connect()
    (found,) = con.execute(f"SELECT {url_path('$url')}", {"url": url}).fetchall()[0]
    assert found == split_url(url)[1]


def test_running_out_of_the_memory_allowed_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="memory-limit"):
        ingest([CAPTURE], "hubble", tmp_path / "flows.duckdb", memory_limit="8MB")


def test_a_memory_limit_that_is_not_a_size_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a size"):
        ingest([CAPTURE], "hubble", tmp_path / "flows.duckdb", memory_limit="lots")
