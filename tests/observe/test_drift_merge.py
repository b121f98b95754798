"""Drift merges the observed groups of declared services across their pods and addresses.

Merging is only an optimisation: every report must be the same as judging each pod pair on its
own, and the SQL merge (DuckDB) must give the same groups as the Python one (Spark's path).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from observe_helpers import HUBBLE
from test_drift import bookinfo, shop

from trustmap.model import Graph
from trustmap.observe import ingest
from trustmap.observe.drift import drift, drift_from_groups, identified_by
from trustmap.observe.identity import Resolver
from trustmap.observe.observed import (
    ObservedGroup,
    batches,
    groups_from_records,
    groups_sql,
    observed_groups,
    open_flow_db,
)

HEADER = (
    "time,src_namespace,src_pod,src_ip,src_labels,dst_namespace,dst_pod,dst_ip,dst_labels,"
    "dst_names,dst_port,protocol,verdict,drop_reason,direction,count,src_workload,dst_workload\n"
)
ROWS = [
    # two web pods call two cart pods: one declared edge, four pod pairs
    "2026-11-20T09:00:05Z,shop,web-b,10.0.0.12,app=web,shop,cart-a,10.0.1.1,app=cart,,7070,TCP,FORWARDED,,request,4",
    "2026-11-20T09:00:01Z,shop,web-a,10.0.0.11,app=web,shop,cart-b,10.0.1.2,app=cart,,7070,TCP,FORWARDED,,request,2",
    "2026-11-20T09:00:01Z,shop,web-a,10.0.0.11,app=web,shop,cart-a,10.0.1.1,app=cart,,7070,TCP,FORWARDED,,request,1",
    "2026-11-21T09:00:00Z,shop,web-b,10.0.0.12,app=web,shop,cart-b,10.0.1.2,app=cart,,7070,TCP,FORWARDED,,request,7",
    # dropped from two pods with two reasons
    "2026-11-20T09:01:00Z,shop,web-a,10.0.0.11,app=web,shop,cart-a,10.0.1.1,app=cart,,7070,TCP,DROPPED,POLICY_DENIED,request,2",
    "2026-11-20T09:01:30Z,shop,web-b,10.0.0.12,app=web,shop,cart-b,10.0.1.2,app=cart,,7070,TCP,DROPPED,CT_NO_MAP_FOUND,request,1",
    # undeclared from two cart pods, expired grant from two web pods
    "2026-11-20T09:02:00Z,shop,cart-a,10.0.1.1,app=cart,shop,web-a,10.0.0.11,app=web,,8080,TCP,FORWARDED,,request,3",
    "2026-11-20T09:02:00Z,shop,cart-b,10.0.1.2,app=cart,shop,web-b,10.0.0.12,app=web,,8080,TCP,DROPPED,POLICY_DENIED,request,1",
    "2026-11-20T09:03:00Z,shop,web-a,10.0.0.11,app=web,shop,ledger-0,10.0.2.1,app=ledger,,7000,TCP,FORWARDED,,request,1",
    "2026-11-22T09:03:00Z,shop,web-b,10.0.0.12,app=web,shop,ledger-1,10.0.2.2,app=ledger,,7000,TCP,FORWARDED,,request,1",
    # egress from two pods, declared and not
    "2026-11-20T09:04:00Z,shop,web-a,10.0.0.11,app=web,,,54.1.2.3,,api.stripe.com,443,TCP,FORWARDED,,request,6",
    "2026-11-20T09:04:00Z,shop,web-b,10.0.0.12,app=web,,,8.8.8.8,,,53,UDP,FORWARDED,,request,2",
    # pods of no declared service stay apart: they are named by pod
    "2026-11-20T09:06:00Z,shop,stranger-1,10.0.9.1,app=stranger,shop,cart-a,10.0.1.1,app=cart,,7070,TCP,FORWARDED,,request,1",
    "2026-11-20T09:06:00Z,shop,stranger-2,10.0.9.2,app=stranger,shop,cart-b,10.0.1.2,app=cart,,7070,TCP,FORWARDED,,request,1",
]


@pytest.fixture
def pods_db(tmp_path: Path) -> Path:
    flows, db = tmp_path / "pods.csv", tmp_path / "pods.duckdb"
    flows.write_text(HEADER + "".join(f"{row},,\n" for row in ROWS))
    report = ingest([str(flows)], "csv", db)
    assert (report.read, report.malformed) == (len(ROWS), 0)
    return db


@pytest.fixture
def bookinfo_db(tmp_path: Path) -> Path:
    db = tmp_path / "bookinfo.duckdb"
    ingest([str(HUBBLE / "basic-sample-400-tcp-flows.json")], "hubble", db)
    return db


def unmerged(graph: Graph, db: Path, trend: str | None) -> str:
    """The report judged pod pair by pod pair."""
    runs = batches(db) if trend == "batch" else None
    report = drift_from_groups(graph, observed_groups(db, None, trend), None, batches=runs)
    return json.dumps(report.to_json(), sort_keys=True)


def merged(graph: Graph, db: Path, trend: str | None) -> str:
    return json.dumps(drift(graph, db, trend=trend).to_json(), sort_keys=True)


@pytest.mark.parametrize("trend", ["batch", "day", None])
def test_merging_pods_leaves_the_report_unchanged(
    pods_db: Path, bookinfo_db: Path, trend: str | None
) -> None:
    assert merged(shop(), pods_db, trend) == unmerged(shop(), pods_db, trend)
    report = json.loads(merged(shop(), pods_db, trend))
    assert all(report[name] for name in ("undeclared", "dropped", "expired", "undeclaredEgress"))
    assert merged(bookinfo(), bookinfo_db, trend) == unmerged(bookinfo(), bookinfo_db, trend)


def test_a_merged_group_sums_counts_and_keeps_its_earliest_flow_as_example(pods_db: Path) -> None:
    identified = identified_by(Resolver(shop()))
    every = observed_groups(pods_db)
    groups = observed_groups(pods_db, identified=identified)
    assert len(groups) < len(every)
    calls = [g for g in groups if g.port == 7070 and g.verdict == "FORWARDED" and g.src.workload]
    (web_cart,) = [g for g in groups if g.port == 7070 and g.verdict == "FORWARDED"
                   and g.src.labels == ("app=web",)]  # fmt: skip
    assert web_cart.count == 4 + 2 + 1 + 7
    assert (web_cart.first_seen, web_cart.last_seen) == (
        dt.datetime(2026, 11, 20, 9, 0, 1),
        dt.datetime(2026, 11, 21, 9, 0),
    )
    # two rows at 09:00:01 from web-a: cart-a sorts before cart-b
    assert (web_cart.src.pod, web_cart.dst.pod, web_cart.dst.ip) == ("web-a", "cart-a", "10.0.1.1")
    strangers = [g for g in groups if g.src.labels == ("app=stranger",)]
    assert sorted(g.src.pod for g in strangers) == ["stranger-1", "stranger-2"]
    assert all(g.dst.pod for g in strangers)  # the declared side merged, the example kept
    assert not calls or all(g.src.pod for g in calls)
    dropped = [g for g in groups if g.verdict == "DROPPED" and g.port == 7070]
    assert sorted(g.drop_reason or "" for g in dropped) == ["CT_NO_MAP_FOUND", "POLICY_DENIED"]


@pytest.mark.parametrize("window", [None, "batch", "day"])
def test_the_sql_merge_gives_the_groups_of_the_python_merge(
    pods_db: Path, bookinfo_db: Path, window: str | None
) -> None:
    for graph, db in ((shop(), pods_db), (bookinfo(), bookinfo_db)):
        identified = identified_by(Resolver(graph))
        with open_flow_db(db) as con:
            cursor = con.execute(groups_sql("duckdb", None, window=window))
            names = [column[0] for column in cursor.description or ()]
            records = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        in_python = groups_from_records(records, identified)
        in_sql = observed_groups(db, None, window, identified=identified)
        assert in_sql == in_python
        assert len(in_sql) < len(records)


def test_bookinfo_groups_merge_per_pod_description_with_the_same_counts(bookinfo_db: Path) -> None:
    identified = identified_by(Resolver(bookinfo()))
    groups = observed_groups(bookinfo_db, identified=identified)
    every = observed_groups(bookinfo_db)
    assert len(groups) < len(every)

    def totals(found: list[ObservedGroup]) -> dict[tuple[object, ...], int]:
        sums: dict[tuple[object, ...], int] = {}
        for g in found:
            key = (g.src.labels, g.dst.labels, g.port, g.verdict, g.src.entity, g.dst.entity)
            sums[key] = sums.get(key, 0) + g.count
        return sums

    assert totals(groups) == totals(every)
    reviews = [g for g in groups if "app=reviews" in g.src.labels and "app=ratings" in g.dst.labels]
    assert reviews
    observed = {
        g.src.ip for g in every if "app=reviews" in g.src.labels and "app=ratings" in g.dst.labels
    }
    assert {g.src.ip for g in reviews} <= observed  # examples are real flows


def test_the_json_report_is_written_exactly_as_json_dumps_writes_it(pods_db: Path) -> None:
    from trustmap.report.drift import pretty_json

    report = drift(shop(), pods_db).to_json()
    assert pretty_json(report) == json.dumps(report, indent=2, sort_keys=True)
    shares = {"share": [0.0001, 0.5, 1.0, 0.8333], "n": [0, 2**40], "none": None, "t": True}
    assert pretty_json(shares) == json.dumps(shares, indent=2, sort_keys=True)
    accented = {"file": "équipe/shop.yaml"}
    assert pretty_json(accented) == json.dumps(accented, indent=2, sort_keys=True)
