"""Compact Hubble, Envoy, Istio and Linkerd samples: every record read, fields mapped."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from observe_helpers import SAMPLES, nonblank_lines, rows

from trustmap.observe import ingest

COMPACT = SAMPLES / "hubble" / "cilium-docs"
ISTIO = SAMPLES / "istio"
LINKERD = SAMPLES / "linkerd"


def test_compact_http_lines_keep_method_path_status_and_verdict(db: Path) -> None:
    path = COMPACT / "observe-pod-deathstar-protocol-http.compact.txt"
    report = ingest([path], "hubble-compact", db, year=2023)
    assert (report.read, report.malformed) == (nonblank_lines(path), 0)
    found = {(r["direction"], r["verdict"], r["l7_method"], r["l7_path"], r["l7_status"])
             for r in rows(db)}  # fmt: skip
    assert found == {
        ("request", "FORWARDED", "POST", "/v1/request-landing", None),
        ("reply", "FORWARDED", "POST", "/v1/request-landing", 200),
        ("request", "DROPPED", "PUT", "/v1/exhaust-port", None),
    }
    for row in rows(db):
        assert (row["src_pod"], row["dst_pod"]) == ("tiefighter", "deathstar-c74d84667-cx5kp")
        assert row["time"].year == 2023


def test_compact_syn_retransmits_and_observation_points_collapse(db: Path) -> None:
    path = COMPACT / "observe-pod-deathstar-verdict-dropped.compact.txt"
    report = ingest([path], "hubble-compact", db, year=2023)
    assert (report.read, report.stored, report.duplicates) == (4, 2, 2)
    xwing = rows(db, "src_pod = 'xwing'")[0]
    assert (xwing["verdict"], xwing["drop_reason"], xwing["direction"]) == (
        "DROPPED", "POLICY_DENIED", "request",
    )  # fmt: skip
    assert xwing["count"] == 3
    assert xwing["last_time"] - xwing["time"] == dt.timedelta(seconds=1, milliseconds=2)


def test_a_narrow_window_keeps_the_retransmit_apart(db: Path) -> None:
    path = COMPACT / "observe-pod-deathstar-verdict-dropped.compact.txt"
    ingest([path], "hubble-compact", db, year=2023, window=dt.timedelta(milliseconds=100))
    assert sorted(r["count"] for r in rows(db, "src_pod = 'xwing'")) == [1, 2]


def test_envoy_default_line_maps_client_upstream_and_authority(db: Path) -> None:
    report = ingest([SAMPLES / "envoy" / "envoy-default-example.log"], "envoy", db)
    assert (report.read, report.stored, report.malformed) == (1, 1, 0)
    row = rows(db)[0]
    assert (row["src_ip"], row["dst_ip"], row["dst_port"]) == ("10.0.35.28", "10.0.2.1", 80)
    assert (row["l7_method"], row["l7_path"], row["l7_status"]) == (
        "POST",
        "/api/v1/locations",
        204,
    )
    assert row["dst_names"] == ["locations"]
    assert row["time"] == dt.datetime(2016, 4, 15, 20, 17, 0, 310000)


@pytest.mark.parametrize(("fmt", "suffix"), [("istio", "log"), ("istio-json", "jsonl")])
def test_istio_server_side_makes_the_reporter_the_destination(
    fmt: str, suffix: str, db: Path
) -> None:
    name = "httpbin-server-side" + (".derived" if fmt == "istio-json" else "")
    path = ISTIO / f"istio-{'json' if fmt == 'istio-json' else 'text'}-access.{name}.{suffix}"
    ingest([path], fmt, db, reporter="foo/httpbin-74fb669cc6-q5hx7")
    row = rows(db)[0]
    assert (row["src_ip"], row["src_port"]) == ("10.44.1.23", 37652)
    assert (row["dst_ip"], row["dst_port"], row["dst_namespace"]) == ("10.44.1.27", 80, "foo")
    assert row["dst_pod"] == "httpbin-74fb669cc6-q5hx7"
    assert (row["dst_service_namespace"], row["dst_service_name"]) == ("foo", "httpbin")
    assert (row["dst_service_port"], row["mtls"], row["l7_status"]) == (8000, True, 418)


@pytest.mark.parametrize(("fmt", "suffix"), [("istio", "log"), ("istio-json", "jsonl")])
def test_istio_client_side_makes_the_reporter_the_source(fmt: str, suffix: str, db: Path) -> None:
    name = "sleep-client-side" + (".derived" if fmt == "istio-json" else "")
    path = ISTIO / f"istio-{'json' if fmt == 'istio-json' else 'text'}-access.{name}.{suffix}"
    ingest([path], fmt, db, reporter="foo/sleep-6bdb595bcb-9j2xk")
    row = rows(db)[0]
    assert (row["src_namespace"], row["src_pod"]) == ("foo", "sleep-6bdb595bcb-9j2xk")
    assert (row["src_ip"], row["src_port"]) == ("10.44.1.23", 37652)
    assert (row["dst_ip"], row["dst_port"]) == ("10.44.1.27", 80)
    assert (row["dst_service_name"], row["dst_service_port"]) == ("httpbin", 8000)


@pytest.mark.parametrize(("fmt", "suffix"), [("istio", "log"), ("istio-json", "jsonl")])
def test_istio_rbac_denials_are_dropped_with_the_policy(fmt: str, suffix: str, db: Path) -> None:
    kind = "json" if fmt == "istio-json" else "text"
    path = ISTIO / f"istio-{kind}-access.rbac-denied.synthetic.{suffix}"
    report = ingest([path], fmt, db, reporter="foo/httpbin-74fb669cc6-q5hx7")
    assert (report.read, report.stored) == (2, 2)
    reasons = {r["drop_reason"] for r in rows(db)}
    assert reasons == {
        "rbac_access_denied_matched_policy[ns[foo]-policy[deny-sleep]-rule[0]]",
        "rbac_access_denied_matched_policy[none]",
    }
    assert {(r["verdict"], r["l7_status"]) for r in rows(db)} == {("DROPPED", 403)}


def test_istio_text_and_json_give_the_same_rows(tmp_path: Path) -> None:
    for fmt, pattern in (("istio", "istio-text-*.log"), ("istio-json", "istio-json-*.jsonl")):
        ingest(sorted(ISTIO.glob(pattern)), fmt, tmp_path / f"{fmt}.duckdb", reporter="foo/p")
    text, json_rows = rows(tmp_path / "istio.duckdb"), rows(tmp_path / "istio-json.duckdb")
    for row in (*text, *json_rows):
        row.pop("source_format")
    assert text == json_rows


@pytest.mark.parametrize(
    ("name", "records"),
    [
        ("edges_one_output.golden", 4),
        ("edges_one_output_json.golden", 4),
        ("tap_busy_output.golden", 2),
        ("tap_busy_output_wide.golden", 2),
        ("tap_busy_output_json.golden", 2),
    ],
)
def test_every_linkerd_layout_is_read(name: str, records: int, db: Path) -> None:
    report = ingest([LINKERD / name], "linkerd", db)
    assert (report.read, report.malformed, report.stored) == (records, 0, records)


@pytest.mark.parametrize("name", ["edges_one_output.golden", "edges_one_output_json.golden"])
def test_linkerd_edges_name_workloads_and_namespaces(name: str, db: Path) -> None:
    ingest([LINKERD / name], "linkerd", db)
    edges = {(r["src_namespace"], r["src_workload"], r["dst_workload"]) for r in rows(db)}
    assert ("emojivoto", "vote-bot", "web") in edges
    assert ("linkerd", "linkerd-identity", "linkerd-prometheus") in edges
    assert all(r["mtls"] for r in rows(db))


def test_linkerd_edges_json_gives_service_accounts(db: Path) -> None:
    ingest([LINKERD / "edges_one_output_json.golden"], "linkerd", db)
    web = rows(db, "src_workload = 'web' AND dst_workload = 'emoji'")[0]
    assert (web["src_service_account"], web["dst_service_account"]) == ("web", "emoji")


@pytest.mark.parametrize(
    "name", ["tap_busy_output.golden", "tap_busy_output_wide.golden", "tap_busy_output_json.golden"]
)
def test_linkerd_tap_request_and_grpc_end(name: str, db: Path) -> None:
    ingest([LINKERD / name], "linkerd", db)
    request = rows(db, "direction = 'request'")[0]
    assert (request["src_ip"], request["dst_ip"]) == ("0.0.0.1", "ff01::1")
    assert (request["l7_method"], request["l7_path"]) == ("GET", "/some/path")
    end = rows(db, "direction = 'reply'")[0]
    assert (end["l7_protocol"], end["l7_status"]) == ("grpc", 666)


@pytest.mark.parametrize("name", ["tap_busy_output_wide.golden", "tap_busy_output_json.golden"])
def test_linkerd_tap_metadata_names_the_destination_pod(name: str, db: Path) -> None:
    ingest([LINKERD / name], "linkerd", db)
    request = rows(db, "direction = 'request'")[0]
    assert (request["dst_pod"], request["mtls"]) == ("my-pod", True)
