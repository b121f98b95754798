"""Hubble JSON samples ingest completely, oriented client → server, the same with both engines."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from observe_helpers import HUBBLE, SAMPLES, nonblank_lines, rows

from trustmap.observe import ingest
from trustmap.observe.formats import hubble_native

CAPTURES = sorted(HUBBLE.glob("*.json"))
EXPORT = SAMPLES / "hubble" / "cilium-docs" / "export-events-dropped.jsonl"


def _flows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line)["flow"] for line in path.read_text().splitlines() if line.strip()]


def _client_server(flow: dict[str, object]) -> tuple[object, object, object]:
    """(client ip, server ip, server port) of an L7 record, read straight from the JSON."""
    ip: dict[str, str] = flow["IP"]  # type: ignore[assignment]
    l4: dict[str, dict[str, int]] = flow["l4"]  # type: ignore[assignment]
    ports = next(iter(l4.values()))
    if flow["l7"]["type"] == "RESPONSE":  # type: ignore[index]
        return ip["destination"], ip["source"], ports["source_port"]
    return ip["source"], ip["destination"], ports["destination_port"]


def test_the_samples_hold_the_flows_their_readme_counts() -> None:
    assert len(CAPTURES) == 9
    assert sum(nonblank_lines(path) for path in CAPTURES) == 1916


@pytest.mark.parametrize("path", [*CAPTURES, EXPORT], ids=lambda p: p.name)
def test_every_hubble_sample_ingests_every_line(path: Path, db: Path) -> None:
    report = ingest([path], "hubble", db)
    lines = nonblank_lines(path)
    assert (report.read, report.malformed, report.skipped) == (lines, 0, 0)
    assert report.files[0].engine == ("native" if hubble_native.AVAILABLE else "duckdb")
    stored = rows(db)
    assert len(stored) == report.stored == lines - report.duplicates
    assert sum(r["count"] for r in stored) == lines
    raw_verdicts = {flow["verdict"] for flow in _flows(path)}
    assert {r["verdict"] for r in stored} == raw_verdicts


@pytest.mark.parametrize("path", [*CAPTURES, EXPORT], ids=lambda p: p.name)
def test_every_engine_stores_the_same_rows(path: Path, tmp_path: Path) -> None:
    ingest([path], "hubble", tmp_path / "slow.duckdb", engine="python")
    expected = rows(tmp_path / "slow.duckdb")
    for engine in ("auto", "duckdb"):
        ingest([path], "hubble", tmp_path / f"{engine}.duckdb", engine=engine)
        assert rows(tmp_path / f"{engine}.duckdb") == expected, engine


def test_l7_responses_are_swapped_back_to_client_server(db: Path) -> None:
    path = HUBBLE / "basic-sample-348-http-flows.json"
    ingest([path], "hubble", db)
    l7 = [flow for flow in _flows(path) if "l7" in flow]
    expected = {(*_client_server(f), f["l7"]["type"] == "RESPONSE") for f in l7}  # type: ignore[index]
    stored = {
        (r["src_ip"], r["dst_ip"], r["dst_port"], r["direction"] == "reply")
        for r in rows(db, "l7_protocol = 'http'")
    }
    assert stored == expected
    responses = rows(db, "direction = 'reply' AND l7_protocol = 'http'")
    assert responses
    assert all(r["l7_status"] in (200, 503) for r in responses)
    assert {r["l7_method"] for r in responses} == {"GET"}


def test_labels_service_account_and_entity_come_from_cilium_labels(db: Path) -> None:
    ingest([HUBBLE / "basic-sample-10-flows.json"], "hubble", db)
    reviews = rows(db, "dst_pod = 'reviews-v1-545db77b95-s6jb8' AND src_entity = 'host'")[0]
    assert reviews["dst_namespace"] == "bookinfo"
    assert reviews["dst_service_account"] == "bookinfo-reviews"
    assert reviews["dst_cluster"] == "default"
    assert reviews["dst_labels"] == ["app=reviews", "security.istio.io/tlsMode=istio", "version=v1"]
    assert reviews["src_labels"] is None


def test_drops_keep_their_reason_and_a_syn_is_a_request(db: Path) -> None:
    ingest([EXPORT], "hubble", db)
    by_reason = {r["drop_reason"]: r for r in rows(db)}
    assert set(by_reason) == {"POLICY_DENIED", "INVALID_SOURCE_IP"}
    denied = by_reason["POLICY_DENIED"]
    assert (denied["src_pod"], denied["dst_port"], denied["direction"]) == ("xwing", 80, "request")
    assert by_reason["INVALID_SOURCE_IP"]["protocol"] == "ICMPv6"
    assert by_reason["INVALID_SOURCE_IP"]["direction"] == "unknown"


def test_redirected_verdicts_are_kept_apart_from_final_ones(db: Path) -> None:
    path = HUBBLE / "basic-sample-400-l7-redirected-flows.json"
    report = ingest([path], "hubble", db)
    assert {r["verdict"] for r in rows(db)} == {"REDIRECTED"}
    assert report.read == 400


def test_gzip_input_is_detected_by_magic_bytes_not_name(tmp_path: Path, db: Path) -> None:
    source = HUBBLE / "basic-sample-400-udp-flows.json"
    packed = tmp_path / "capture.data"
    with source.open("rb") as raw, gzip.open(packed, "wb") as out:
        shutil.copyfileobj(raw, out)
    report = ingest([packed], "hubble", db)
    plain = ingest([source], "hubble", tmp_path / "plain.duckdb")
    assert (report.read, report.stored) == (plain.read, plain.stored) == (400, plain.stored)
    python = ingest([packed], "hubble", tmp_path / "python.duckdb", engine="python")
    assert python.stored == plain.stored


def test_the_run_is_recorded_as_a_batch_with_its_time_range(db: Path) -> None:
    import duckdb

    ingest([HUBBLE / "basic-sample-5-dns-flows.json"], "hubble", db)
    second = ingest([HUBBLE / "basic-sample-5-http-flows.json"], "hubble", db)
    assert second.batch_id == 2
    con = duckdb.connect(str(db), read_only=True)
    batches = con.execute(
        "SELECT batch_id, format, records_read, records_stored + duplicates, first_time <= last_time "
        "FROM batches ORDER BY batch_id"
    ).fetchall()
    con.close()
    assert batches == [(1, "hubble", 5, 5, True), (2, "hubble", 5, 5, True)]
