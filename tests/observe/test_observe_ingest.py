"""Deduplication, reply swapping, malformed lines, CSV, re-ingestion and the CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from observe_helpers import HUBBLE, rows

from trustmap.cli import cli
from trustmap.errors import UsageError
from trustmap.observe import ingest

CLIENT = {"namespace": "shop", "pod_name": "web-1", "labels": ["k8s:app=web"]}
SERVER = {"namespace": "shop", "pod_name": "cart-1", "labels": ["k8s:app=cart"]}


def _flow(time: str, *, reply: bool | None, point: str, node: str, **extra: Any) -> str:
    src, dst = (SERVER, CLIENT) if reply else (CLIENT, SERVER)
    ips = ("10.0.0.2", "10.0.0.1") if reply else ("10.0.0.1", "10.0.0.2")
    ports = (7070, 40000) if reply else (40000, 7070)
    flow: dict[str, Any] = {
        "time": time, "verdict": "FORWARDED", "IP": {"source": ips[0], "destination": ips[1]},
        "l4": {"TCP": {"source_port": ports[0], "destination_port": ports[1],
                       "flags": {"SYN": True, "ACK": bool(reply)}}},
        "source": src, "destination": dst, "node_name": node,
        "trace_observation_point": point, **extra,
    }  # fmt: skip
    if reply is not None:
        flow["is_reply"] = reply
    return json.dumps({"flow": flow, "node_name": node, "time": time})


def _capture(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_one_packet_seen_at_several_points_and_nodes_is_one_flow(tmp_path: Path, db: Path) -> None:
    capture = _capture(tmp_path / "syn.json", [
        _flow("2026-01-01T10:00:00.000001Z", reply=False, point="TO_STACK", node="a"),
        _flow("2026-01-01T10:00:00.000040Z", reply=None, point="TO_OVERLAY", node="a"),
        _flow("2026-01-01T10:00:00.000090Z", reply=False, point="TO_ENDPOINT", node="b"),
        _flow("2026-01-01T10:00:00.000200Z", reply=True, point="TO_STACK", node="b"),
        _flow("2026-01-01T10:00:00.000260Z", reply=True, point="TO_ENDPOINT", node="a"),
    ])  # fmt: skip
    for engine in ("auto", "duckdb", "python"):
        target = db.with_name(f"{engine}.duckdb")
        report = ingest([capture], "hubble", target, engine=engine)
        assert (report.read, report.stored, report.duplicates) == (5, 2, 3)
        found = {(r["direction"], r["src_pod"], r["dst_pod"], r["dst_port"], r["count"])
                 for r in rows(target)}  # fmt: skip
        assert found == {
            ("request", "web-1", "cart-1", 7070, 3),
            ("reply", "web-1", "cart-1", 7070, 2),
        }


def test_an_l7_response_is_swapped_and_keeps_its_status(tmp_path: Path, db: Path) -> None:
    l7 = {"type": "RESPONSE", "http": {"code": 403, "method": "GET", "url": "http://cart/x?y=1"}}
    capture = _capture(tmp_path / "l7.json", [
        _flow("2026-01-01T10:00:00Z", reply=True, point="", node="a", l7=l7, Type="L7"),
    ])  # fmt: skip
    ingest([capture], "hubble", db)
    row = rows(db)[0]
    assert (row["src_ip"], row["dst_ip"], row["dst_port"]) == ("10.0.0.1", "10.0.0.2", 7070)
    assert (row["direction"], row["l7_status"], row["l7_path"]) == ("reply", 403, "/x")


def test_malformed_lines_are_counted_with_line_numbers_and_good_lines_kept(
    tmp_path: Path, db: Path
) -> None:
    good = (HUBBLE / "basic-sample-5-http-flows.json").read_text().splitlines()
    lines = [good[0], "{not json", good[1], "", '{"flow": {"verdict": "FORWARDED"}}', good[2],
             '{"flow": {"time": "2026-01-01T00:00:00Z", "l4": {"TCP": {"source_port": "x"}}}}',
             "[1, 2]", good[3], '{"hello": 1}', good[4]]  # fmt: skip
    capture = _capture(tmp_path / "mixed.json", lines)
    report = ingest([capture], "hubble", db)
    assert (report.read, report.malformed) == (10, 5)
    assert sum(r["count"] for r in rows(db)) == 5
    assert report.files[0].engine == "python"
    shown = [(d.code, d.span.line if d.span else 0) for d in report.diagnostics]
    assert shown == [("TM501", 2), ("TM501", 5), ("TM501", 7), ("TM501", 8), ("TM501", 10)]
    assert "flow.l4.TCP.source_port" in report.diagnostics[2].message


def test_more_than_five_malformed_lines_are_summarised(tmp_path: Path, db: Path) -> None:
    capture = _capture(tmp_path / "bad.log", ["garbage"] * 8)
    report = ingest([capture], "envoy", db)
    codes = [d.code for d in report.diagnostics]
    assert codes.count("TM501") == 5
    assert "TM502" in codes
    assert "TM506" in codes
    assert report.malformed == 8


def test_a_truncated_gzip_keeps_the_lines_before_the_break(tmp_path: Path, db: Path) -> None:
    data = gzip.compress((HUBBLE / "basic-sample-400-tcp-flows.json").read_bytes())
    capture = tmp_path / "cut.json.gz"
    capture.write_bytes(data[: len(data) // 2])
    report = ingest([capture], "hubble", db)
    assert report.unreadable
    assert any(d.code == "TM500" for d in report.diagnostics)
    assert 0 < sum(r["count"] for r in rows(db)) < 400


CSV_HEADER = "time,src_namespace,src_workload,src_ip,dst_namespace,dst_workload,dst_ip,dst_port,protocol,verdict,src_labels,l7_path"


def test_csv_rows_are_read_and_bad_cells_reported(tmp_path: Path, db: Path) -> None:
    capture = _capture(tmp_path / "flows.csv", [
        CSV_HEADER,
        "2026-01-01T00:00:00Z,shop,web,10.0.0.1,shop,cart,10.0.0.2,7070,tcp,forwarded,app=web;tier=fe,/a",
        "2026-01-01T00:00:01+01:00,shop,web,,shop,cart,,7070,TCP,DROPPED,,",
        "2026-01-01T00:00:02Z,shop,web,,shop,cart,,99999,TCP,DROPPED,,",
        "2026-01-01T00:00:03Z,shop,web,,shop,cart,,80,TCP,DENY,,",
    ])  # fmt: skip
    report = ingest([capture], "csv", db)
    assert (report.read, report.stored, report.malformed) == (4, 2, 2)
    assert [d.span.line for d in report.diagnostics if d.span] == [4, 5]
    assert "did you mean" not in report.diagnostics[0].message
    second, first = rows(db)  # the +01:00 time is the earlier one in UTC
    assert (first["protocol"], first["verdict"]) == ("TCP", "FORWARDED")
    assert first["src_labels"] == ["app=web", "tier=fe"]
    assert second["time"].hour == 23
    assert second["src_ip"] is None


def test_a_csv_header_with_an_unknown_column_suggests_the_right_one(
    tmp_path: Path, db: Path
) -> None:
    capture = _capture(tmp_path / "flows.csv", [CSV_HEADER.replace("verdict", "verdcit"), "x"])
    report = ingest([capture], "csv", db)
    assert [d.code for d in report.diagnostics] == ["TM505"]
    assert "did you mean 'verdict'" in report.diagnostics[0].message


def test_the_same_file_is_not_ingested_twice_unless_forced(db: Path) -> None:
    path = HUBBLE / "basic-sample-5-dns-flows.json"
    ingest([path], "hubble", db)
    again = ingest([path], "hubble", db)
    assert again.batch_id is None
    assert [d.code for d in again.diagnostics] == ["TM504"]
    forced = ingest([path], "hubble", db, force=True)
    assert forced.batch_id == 2


def test_unknown_format_and_bad_reporter_are_usage_errors(db: Path) -> None:
    with pytest.raises(UsageError, match="did you mean 'hubble'"):
        ingest([], "hubbel", db)
    with pytest.raises(UsageError, match="NAMESPACE/POD"):
        ingest([], "istio", db, reporter="just-a-pod")


def test_cli_exit_codes_follow_the_findings(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "f.duckdb")
    good = str(HUBBLE / "basic-sample-5-http-flows.json")
    result = runner.invoke(cli, ["observe", "ingest", good, "--format", "hubble", "--db", db])
    assert result.exit_code == 0, result.output
    assert "5 records read" in result.output
    bad = _capture(tmp_path / "bad.log", ["nope"])
    result = runner.invoke(cli, ["observe", "ingest", str(bad), "--format", "envoy", "--db", db])
    assert result.exit_code == 1
    missing = str(tmp_path / "missing.json")
    result = runner.invoke(
        cli, ["observe", "ingest", missing, "--format", "hubble", "--db", db, "-o", "json"]
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["files"][0]["readable"] is False
