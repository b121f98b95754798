"""Drift: observed flows against declarations, on a real Hubble capture and on crafted CSV flows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from observe_helpers import HUBBLE

from trustmap.cli import cli
from trustmap.graph import graph_from_text
from trustmap.model import Graph
from trustmap.observe import ingest
from trustmap.observe.drift import CATEGORIES, DriftEntry, drift, drift_from_groups
from trustmap.observe.identity import ObservedEndpoint, Resolver

TODAY = dt.date(2026, 11, 23)
TCP_SAMPLE = HUBBLE / "basic-sample-400-tcp-flows.json"


def service(name: str, namespace: str, team: str, body: str, account: str | None = None) -> str:
    """A Service document whose spec continues with ``body`` (indented two spaces)."""
    return (
        f"---\napiVersion: trustmap.dev/v1alpha1\nkind: Service\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  team: {team}\n"
        f"  workload: {{serviceAccount: {account or name}, podLabels: {{app: {name}}}}}\n{body}"
    )


def team(name: str, namespace: str) -> str:
    return (
        f"---\napiVersion: trustmap.dev/v1alpha1\nkind: Team\nmetadata: {{name: {name}}}\n"
        f"spec: {{owners: [a@example.com], namespaces: [{namespace}]}}\n"
    )


def http(consumers: str) -> str:
    return f"  interfaces:\n    - {{name: http, port: 9080, consumers: [{consumers}]}}\n"


BOOKINFO = (
    team("books", "bookinfo")
    + service(
        "productpage",
        "bookinfo",
        "books",
        http("") + "  dependsOn:\n"
        "    - {service: bookinfo/details, reason: book details}\n"
        "    - {service: bookinfo/reviews, reason: book reviews}\n",
        "bookinfo-productpage",
    )
    + service(
        "details",
        "bookinfo",
        "books",
        http("bookinfo/productpage, bookinfo/reviews"),
        "bookinfo-details",
    )
    + service(
        "reviews",
        "bookinfo",
        "books",
        http("bookinfo/productpage") + "  dependsOn:\n"
        "    - {service: bookinfo/ratings, reason: stars}\n"
        "    - {service: bookinfo/details, reason: never called}\n",
        "bookinfo-reviews",
    )
    + service("ratings", "bookinfo", "books", http("bookinfo/reviews"), "bookinfo-ratings")
)


def bookinfo() -> Graph:
    return graph_from_text(BOOKINFO, "bookinfo.yaml", TODAY)


def keys(entries: tuple[DriftEntry, ...]) -> list[tuple[str, str, int | None, str]]:
    return [(e.source, e.destination, e.port, e.protocol) for e in entries]


def raw_requests(path: Path, src_app: str, dst_app: str) -> int:
    """Hubble records from one app to another that are not replies, read straight from JSON."""
    total = 0
    for line in path.read_text().splitlines():
        flow = json.loads(line).get("flow")
        if not flow or flow.get("is_reply"):
            continue
        src = flow.get("source", {}).get("labels", [])
        dst = flow.get("destination", {}).get("labels", [])
        total += f"k8s:app={src_app}" in src and f"k8s:app={dst_app}" in dst
    return total


@pytest.fixture
def bookinfo_db(db: Path) -> Path:
    ingest([str(TCP_SAMPLE)], "hubble", db)
    return db


def test_the_bookinfo_capture_shows_ratings_calling_productpage_undeclared(
    bookinfo_db: Path,
) -> None:
    report = drift(bookinfo(), bookinfo_db)
    (entry,) = report.category("undeclared")
    assert (entry.source, entry.destination, entry.port, entry.protocol) == (
        "bookinfo/ratings",
        "bookinfo/productpage",
        9080,
        "TCP",
    )
    assert entry.count == raw_requests(TCP_SAMPLE, "ratings", "productpage") == 87
    assert entry.first_seen == dt.datetime(2021, 11, 10, 10, 40, 56, 483207)
    assert entry.last_seen is not None
    assert entry.last_seen > entry.first_seen
    assert entry.example is not None
    assert "productpage-v1-6b746f74dc-9rcxx:9080/TCP" in entry.example


def test_declared_bookinfo_calls_that_were_observed_are_not_drift(bookinfo_db: Path) -> None:
    report = drift(bookinfo(), bookinfo_db)
    assert keys(report.category("unused")) == [
        ("bookinfo/reviews", "bookinfo/details", 9080, "TCP")
    ]
    assert report.category("dropped") == ()
    assert report.category("expired") == ()


def test_pods_hubble_labelled_world_are_unknown_pods_not_egress(bookinfo_db: Path) -> None:
    # productpage → reviews-v1 pods carry the world identity in this capture (Cilium did not know
    # them yet); they are named pods, so they are not counted as egress to the world
    report = drift(bookinfo(), bookinfo_db)
    assert report.category("undeclaredEgress") == ()


def test_bookinfo_coverage_counts_declared_workloads_and_allowed_requests(
    bookinfo_db: Path,
) -> None:
    cov = drift(bookinfo(), bookinfo_db).coverage
    (books,) = [row for row in cov.teams if row.name == "books"]
    assert books.covered_workloads == 4  # productpage, details, reviews, ratings
    assert 0 < books.covered_flows < books.flows  # ratings → productpage is not covered
    namespaces = {row.name for row in cov.namespaces}
    assert {"bookinfo", "jaeger", "kube-system"} <= namespaces
    (jaeger,) = [row for row in cov.namespaces if row.name == "jaeger"]
    assert jaeger.covered_flows == 0
    assert jaeger.covered_workloads == 0
    assert cov.total.flows == sum(row.flows for row in cov.namespaces)


# crafted CSV flows ---------------------------------------------------------------------------

SHOP = (
    team("shop", "shop")
    + service(
        "web",
        "shop",
        "shop",
        "  dependsOn:\n"
        "    - {service: shop/cart, reason: carts}\n"
        "    - {service: shop/ledger, reason: old grant, expires: 2026-01-01}\n"
        "    - {service: shop/payment, reason: pay}\n"
        "  egress:\n"
        "    - {host: api.stripe.com, ports: [{port: 443}], reason: cards}\n",
    )
    + service(
        "cart",
        "shop",
        "shop",
        "  interfaces:\n    - {name: grpc, port: 7070, consumers: [shop/web]}\n",
    )
    + service(
        "ledger",
        "shop",
        "shop",
        "  interfaces:\n    - {name: grpc, port: 7000, consumers: [shop/web]}\n",
    )
    + service(
        "payment",
        "shop",
        "shop",
        "  interfaces:\n    - {name: grpc, port: 50051, consumers: [shop/web]}\n"
        "  dependsOn:\n    - {service: shop/web, reason: no interface}\n",
    )
)

HEADER = (
    "time,src_namespace,src_workload,src_ip,src_labels,dst_namespace,dst_workload,dst_ip,"
    "dst_labels,dst_names,dst_port,protocol,verdict,drop_reason,direction,count\n"
)
WEB = "shop,,10.0.0.1,app=web;pod-template-hash=1"
CART = "shop,,10.0.0.2,k8s:app=cart"
LEDGER = "shop,ledger,10.0.0.3,"
CSV_ROWS = [
    f"2026-11-20T09:00:00Z,{WEB},{CART},,7070,TCP,FORWARDED,,request,4",
    f"2026-11-20T09:00:01Z,{WEB},{CART},,7070,TCP,FORWARDED,,reply,4",
    f"2026-11-20T09:01:00Z,{WEB},{CART},,7070,TCP,DROPPED,POLICY_DENIED,request,2",
    f"2026-11-20T09:02:00Z,{CART},{WEB},,8080,TCP,FORWARDED,,request,3",
    f"2026-11-21T09:02:00Z,{CART},{WEB},,8080,TCP,FORWARDED,,request,5",
    f"2026-11-20T09:03:00Z,{WEB},{LEDGER},,7000,TCP,FORWARDED,,request,1",
    f"2026-11-20T09:04:00Z,{WEB},,,54.1.2.3,,api.stripe.com,443,TCP,FORWARDED,,request,6",
    f"2026-11-20T09:05:00Z,{WEB},,,8.8.8.8,,,53,UDP,FORWARDED,,request,2",
    f"2026-11-20T09:06:00Z,shop,,10.0.0.9,app=stranger,{CART},,7070,TCP,FORWARDED,,request,1",
    f"2026-01-05T09:00:00Z,{CART},{LEDGER},,7000,TCP,FORWARDED,,request,1",
]


@pytest.fixture
def shop_db(db: Path, tmp_path: Path) -> Path:
    flows = tmp_path / "flows.csv"
    flows.write_text(HEADER + "\n".join(CSV_ROWS) + "\n")
    report = ingest([str(flows)], "csv", db)
    assert report.malformed == 0
    return db


def shop() -> Graph:
    return graph_from_text(SHOP, "shop.yaml", TODAY)


def test_undeclared_traffic_is_merged_with_counts_and_first_and_last_seen(shop_db: Path) -> None:
    undeclared = drift(shop(), shop_db).category("undeclared")
    assert keys(undeclared) == [
        ("shop/cart", "shop/ledger", 7000, "TCP"),
        ("shop/cart", "shop/web", 8080, "TCP"),
    ]
    cart_web = undeclared[1]
    assert cart_web.count == 8
    assert cart_web.first_seen == dt.datetime(2026, 11, 20, 9, 2)
    assert cart_web.last_seen == dt.datetime(2026, 11, 21, 9, 2)


def test_declared_but_dropped_traffic_is_an_enforcement_bug(shop_db: Path) -> None:
    (dropped,) = drift(shop(), shop_db).category("dropped")
    assert (dropped.source, dropped.destination, dropped.port) == ("shop/web", "shop/cart", 7070)
    assert dropped.count == 2
    assert dropped.detail == "POLICY_DENIED"
    assert dropped.code == "TM512"


def test_traffic_on_an_expired_dependency_names_the_failed_condition(shop_db: Path) -> None:
    (expired,) = drift(shop(), shop_db).category("expired")
    assert keys((expired,)) == [("shop/web", "shop/ledger", 7000, "TCP")]
    assert expired.detail is not None
    assert "2026-01-01" in expired.detail


def test_declared_dependencies_never_observed_are_unused(shop_db: Path) -> None:
    unused = drift(shop(), shop_db).category("unused")
    assert keys(unused) == [("shop/web", "shop/payment", 50051, "TCP")]
    line = next(n for n, text in enumerate(SHOP.splitlines(), 1) if "service: shop/payment" in text)
    assert unused[0].count == 0
    assert unused[0].detail == f"declared at shop.yaml:{line}"


def test_egress_outside_the_declared_hosts_is_reported(shop_db: Path) -> None:
    (egress,) = drift(shop(), shop_db).category("undeclaredEgress")
    assert (egress.source, egress.destination, egress.port, egress.protocol) == (
        "shop/web",
        "8.8.8.8",
        53,
        "UDP",
    )


def test_since_keeps_only_recent_flows(shop_db: Path) -> None:
    now = dt.datetime(2026, 11, 21, 12, 0)
    report = drift(shop(), shop_db, since=dt.timedelta(days=1), now=now)
    assert keys(report.category("undeclared")) == [("shop/cart", "shop/web", 8080, "TCP")]
    assert report.category("undeclared")[0].count == 5
    assert report.category("dropped") == ()
    assert report.category("expired") == ()
    assert report.start == dt.datetime(2026, 11, 20, 12, 0)


def test_coverage_separates_unresolved_pods_from_declared_services(shop_db: Path) -> None:
    cov = drift(shop(), shop_db).coverage
    assert cov.total.flows == 4 + 2 + 8 + 1 + 6 + 2 + 1 + 1  # requests only, replies ignored
    assert cov.total.covered_flows == 4 + 2 + 6  # web→cart (also when dropped), stripe egress
    assert (cov.total.workloads, cov.total.covered_workloads) == (4, 3)  # + shop/10.0.0.9


def test_json_has_one_list_per_category_and_coverage(shop_db: Path) -> None:
    data = drift(shop(), shop_db).to_json()
    assert set(data) == {*CATEGORIES, "coverage", "window"}
    assert [len(data[name]) for name in CATEGORIES] == [2, 1, 1, 1, 1]  # type: ignore[arg-type]
    share = data["coverage"]["total"]["flowShare"]  # type: ignore[index]
    assert share == round(12 / 25, 4)


def test_the_report_is_deterministic(shop_db: Path) -> None:
    assert drift(shop(), shop_db).to_json() == drift(shop(), shop_db).to_json()


def test_a_graph_without_dependencies_and_no_flows_has_no_drift() -> None:
    graph = graph_from_text(team("shop", "shop") + service("web", "shop", "shop", ""), "w.yaml")
    report = drift_from_groups(graph, ())
    assert not report.has_drift
    assert report.coverage.total.flows == 0


# identity resolution -------------------------------------------------------------------------


def endpoint(
    namespace: str | None = "shop",
    labels: tuple[str, ...] = (),
    account: str | None = None,
    workload: str | None = None,
    entity: str | None = None,
    pod: str | None = None,
    ip: str | None = None,
) -> ObservedEndpoint:
    return ObservedEndpoint(namespace, workload, account, labels, entity, pod, ip)


@pytest.mark.parametrize(
    ("observed", "label"),
    [
        (endpoint(labels=("k8s:app=cart", "version=v1")), "shop/cart"),
        (endpoint(account="ledger"), "shop/ledger"),
        (endpoint(workload="payment"), "shop/payment"),
        (
            endpoint(namespace="other", labels=("app=cart",), pod="cart-1"),
            "unknown pod other/cart-1",
        ),
        (endpoint(labels=("app=nobody",), pod="x-1"), "unknown pod shop/x-1"),
        (endpoint(namespace=None, entity="reserved:world,world"), "world"),
        (endpoint(namespace=None, entity="host"), "host"),
        (endpoint(namespace=None, ip="93.184.216.34"), "world"),
        (endpoint(namespace=None, ip="10.1.2.3"), "unknown ip 10.1.2.3"),
    ],
)
def test_endpoints_resolve_by_labels_account_or_workload_and_never_by_guess(
    observed: ObservedEndpoint, label: str
) -> None:
    identity = Resolver(shop()).resolve(observed)
    assert identity.label == label
    assert identity.resolved == ("/" in label and not label.startswith("unknown"))


def test_an_endpoint_matching_two_services_stays_unresolved() -> None:
    text = SHOP + service("cart-canary", "shop", "shop", "", "cart-canary").replace(
        "podLabels: {app: cart-canary}", "podLabels: {app: cart}"
    )
    graph = graph_from_text(text, "shop.yaml", TODAY)
    identity = Resolver(graph).resolve(endpoint(labels=("app=cart",), pod="cart-1"))
    assert not identity.resolved
    assert identity.label == "unknown pod shop/cart-1"


# CLI ---------------------------------------------------------------------------------------


def test_cli_exits_1_with_json_lists_when_drift_is_found(shop_db: Path, tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SHOP)
    result = CliRunner().invoke(
        cli,
        ["drift", str(tmp_path / "shop.yaml"), "--db", str(shop_db), "--now", "2026-11-23",
         "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert [e["destination"] for e in data["undeclared"]] == ["shop/ledger", "shop/web"]


def test_cli_exits_0_when_the_window_holds_no_drift(shop_db: Path, tmp_path: Path) -> None:
    text = team("shop", "shop") + service("web", "shop", "shop", "")
    (tmp_path / "web.yaml").write_text(text)
    result = CliRunner().invoke(
        cli, ["drift", str(tmp_path / "web.yaml"), "--db", str(shop_db), "--since", "1h"]
    )
    assert result.exit_code == 0, result.output


def test_cli_exits_2_on_a_missing_database_or_a_bad_duration(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SHOP)
    missing = CliRunner().invoke(
        cli, ["drift", str(tmp_path / "shop.yaml"), "--db", str(tmp_path / "none.duckdb")]
    )
    assert missing.exit_code == 2
    assert "no flow database" in missing.output
    bad = CliRunner().invoke(cli, ["drift", str(tmp_path / "shop.yaml"), "--since", "soon"])
    assert bad.exit_code == 2
    assert "not a duration" in bad.output


def test_cli_text_output_shows_each_category_and_coverage(shop_db: Path, tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SHOP)
    result = CliRunner().invoke(cli, ["drift", str(tmp_path / "shop.yaml"), "--db", str(shop_db)])
    assert result.exit_code == 1
    for name in (*CATEGORIES, "coverage", "TM510", "shop/cart"):
        assert name in result.output
