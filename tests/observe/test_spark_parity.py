"""The scale path: drift's aggregation on PySpark (local mode) equals DuckDB's, group for group
and byte for byte in the drift report, on every Hubble capture and on crafted CSV flows.

Needs PySpark (the ``spark`` extra) and Java 17+: in CI (``CI=true``) their absence fails the
module; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from observe_helpers import HUBBLE

from trustmap.cli import cli
from trustmap.errors import InputError
from trustmap.graph import graph_from_text
from trustmap.model import Graph
from trustmap.observe import ingest
from trustmap.observe.drift import drift, drift_from_groups
from trustmap.observe.observed import ObservedGroup, flows_to_parquet, observed_groups

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# PySpark reads results through a local socket it never closes (pyspark.util
# local_connect_and_auth); the garbage collector then warns. Nothing else is ignored.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")

TODAY = dt.date(2026, 11, 23)
ZONE = "Asia/Kolkata"  # UTC+05:30

DECLARATIONS = """\
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [a@example.com], namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: books}
spec: {owners: [b@example.com], namespaces: [bookinfo]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: web, podLabels: {app: web}}
  dependsOn:
    - {service: shop/cart, reason: carts}
    - {service: shop/ledger, reason: old grant, expires: 2026-01-01}
    - {service: shop/payment, reason: pay}
  egress:
    - {host: api.stripe.com, ports: [{port: 443}], reason: cards}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: cart, podLabels: {app: cart}}
  interfaces: [{name: grpc, port: 7070, consumers: [shop/web]}]
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: ledger, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: ledger, podLabels: {app: ledger}}
  interfaces: [{name: grpc, port: 7000, consumers: [shop/web]}]
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: payment, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: payment, podLabels: {app: payment}}
  interfaces: [{name: grpc, port: 50051, consumers: [shop/web]}]
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: productpage, namespace: bookinfo}
spec:
  team: books
  workload: {serviceAccount: bookinfo-productpage, podLabels: {app: productpage}}
  interfaces: [{name: http, port: 9080}]
  dependsOn:
    - {service: bookinfo/details, reason: book details}
    - {service: bookinfo/reviews, reason: book reviews}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: details, namespace: bookinfo}
spec:
  team: books
  workload: {serviceAccount: bookinfo-details, podLabels: {app: details}}
  interfaces: [{name: http, port: 9080, consumers: [bookinfo/productpage]}]
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec:
  team: books
  workload: {serviceAccount: bookinfo-reviews, podLabels: {app: reviews}}
  interfaces: [{name: http, port: 9080, consumers: [bookinfo/productpage]}]
  dependsOn: [{service: bookinfo/ratings, reason: stars}]
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec:
  team: books
  workload: {serviceAccount: bookinfo-ratings, podLabels: {app: ratings}}
  interfaces: [{name: http, port: 9080, consumers: [bookinfo/reviews]}]
"""

HEADER = (
    "time,src_namespace,src_workload,src_service_account,src_ip,src_labels,dst_namespace,"
    "dst_workload,dst_ip,dst_labels,dst_names,dst_port,protocol,verdict,drop_reason,direction,"
    "l7_method,l7_path,l7_status,count\n"
)
WEB = "shop,web,web,10.0.0.1,app=web;pod-template-hash=1"
CART = "shop,,10.0.0.2,k8s:app=cart"
LEDGER = "shop,ledger,10.0.0.3,"
CSV_ROWS = [
    f"2026-11-20T09:00:00Z,{WEB},{CART},,7070,TCP,FORWARDED,,request,POST,/Cart/Get,200,4",
    f"2026-11-20T09:00:01Z,{WEB},{CART},,7070,TCP,FORWARDED,,reply,,,200,4",
    f"2026-11-20T09:01:00Z,{WEB},{CART},,7070,TCP,DROPPED,POLICY_DENY,request,,,,2",
    f"2026-11-20T11:01:00+02:00,{WEB},{CART},,7070,TCP,DROPPED,POLICY_DENIED,request,,,,1",
    f"2026-11-20T09:01:30Z,{WEB},{CART},,7070,TCP,AUDIT,,request,,,,3",
    f"2026-11-20T09:01:40Z,{WEB},{CART},,7070,TCP,REDIRECTED,,unknown,,,,1",
    "2026-11-20T09:02:00Z,shop,cart,cart,10.0.0.2,app=cart,shop,web,10.0.0.1,,,8080,TCP,FORWARDED,,request,,,,3",
    "2026-11-21T09:02:00.123456Z,shop,cart,cart,10.0.0.2,app=cart,shop,web,10.0.0.1,,,8080,TCP,FORWARDED,,request,,,,5",
    f"2026-11-20T09:03:00Z,{WEB},{LEDGER},,7000,TCP,FORWARDED,,request,,,,1",
    f"2026-11-20T09:04:00Z,{WEB},,,54.1.2.3,,api.stripe.com;stripe.com,443,TCP,FORWARDED,,request,,,,6",
    f"2026-11-20T09:05:00Z,{WEB},,,8.8.8.8,,,53,UDP,FORWARDED,,request,A,example.org,0,2",
    f"2026-11-20T09:05:30Z,{WEB},,,10.9.9.9,,,,ICMPv4,FORWARDED,,request,,,,1",
    f"2026-11-20T09:06:00Z,shop,,,10.0.0.9,app=stranger,{CART},,7070,TCP,FORWARDED,,request,,,,1",
    f"2026-01-05T09:00:00Z,shop,cart,cart,10.0.0.2,app=cart,{LEDGER},,7000,TCP,FORWARDED,,request,,,,1",
    "2026-11-20T09:07:00Z,,,,10.0.0.1,,,,10.0.0.5,,,50051,TCP,FORWARDED,,request,,,,2",  # by IP only
]


def pod(name: str, ip: str) -> dict[str, object]:
    """A pod of ``kubectl get pods -o json``, as much as the snapshot reads."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{name}-1", "namespace": "shop", "labels": {"app": name}},
        "spec": {"serviceAccountName": name, "containers": [{"name": name}]},
        "status": {"podIP": ip},
    }


SNAPSHOT = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [pod("web", "10.0.0.1"), pod("payment", "10.0.0.5")],
}


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (`make install` installs the spark extra)"
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and Path(java_home, "bin", "java").exists()):
        return "no Java runtime (`make system` installs default-jre-headless)"
    return None


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """A small local Spark, one per module: two threads and shuffle partitions, no UI, quiet
    logs, and a session time zone that is not UTC (the queries must not depend on it)."""
    missing = _spark_missing()
    if missing:
        if _on_ci():
            pytest.fail(f"CI must run the Spark parity test: {missing}")
        pytest.skip(missing)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("trustmap-parity")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", ZONE)
        .config("spark.driver.memory", "512m")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Every Hubble capture and the crafted CSV, ingested as two batches: (database, Parquet)."""
    folder = tmp_path_factory.mktemp("parity")
    db = folder / "flows.duckdb"
    hubble = ingest(sorted(str(path) for path in HUBBLE.glob("*.json")), "hubble", db)
    assert hubble.malformed == 0
    crafted = folder / "flows.csv"
    crafted.write_text(HEADER + "\n".join(CSV_ROWS) + "\n")
    assert ingest([str(crafted)], "csv", db).malformed == 0
    return db, flows_to_parquet(db, folder / "parquet")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return graph_from_text(DECLARATIONS, "parity.yaml", TODAY)


def spark_groups(
    spark: SparkSession,
    parquet: Path,
    start: dt.datetime | None = None,
    window: str | None = None,
) -> list[ObservedGroup]:
    from trustmap.observe.spark import observed_groups_spark

    return observed_groups_spark(spark, parquet, start, window)


CUT = dt.datetime(2026, 11, 20, 9, 1, 30)
FUTURE = dt.datetime(2030, 1, 1)


@pytest.mark.parametrize(
    ("start", "window"),
    [(None, None), (None, "batch"), (None, "day"), (CUT, None), (CUT, "day"), (FUTURE, None)],
)
def test_spark_groups_equal_duckdb_groups(
    spark: SparkSession, flows: tuple[Path, Path], start: dt.datetime | None, window: str | None
) -> None:
    db, parquet = flows
    expected = observed_groups(db, start, window)
    assert spark_groups(spark, parquet, start, window) == expected
    if start is None:
        assert len(expected) > 50
    elif start.year == 2026:
        assert 0 < len(expected) < len(observed_groups(db, None, window))
    else:
        assert expected == []
    if window is not None and expected:
        assert all(group.window for group in expected if group.first_seen)


def test_the_groups_compared_cover_verdicts_ports_names_and_time(
    spark: SparkSession, flows: tuple[Path, Path]
) -> None:
    groups = spark_groups(spark, flows[1])
    assert {g.verdict for g in groups} >= {"FORWARDED", "DROPPED", "AUDIT", "REDIRECTED"}
    assert {g.protocol for g in groups} >= {"TCP", "UDP", "ICMPv4"}
    assert any(g.port is None for g in groups)
    (stripe,) = [g for g in groups if g.dst_names == ("api.stripe.com", "stripe.com")]
    assert (stripe.count, stripe.port) == (6, 443)
    (dropped,) = [g for g in groups if g.verdict == "DROPPED"]
    assert (dropped.count, dropped.drop_reason) == (3, "POLICY_DENIED")  # min of two reasons
    assert dropped.first_seen == dt.datetime(2026, 11, 20, 9, 1)  # +02:00 row converted to UTC
    assert dropped.last_seen == dt.datetime(2026, 11, 20, 9, 1)
    cart_web = [g for g in groups if g.src.workload == "cart" and g.port == 8080]
    assert [g.last_seen for g in cart_web] == [dt.datetime(2026, 11, 21, 9, 2, 0, 123456)]
    assert all(g.first_seen is None or g.first_seen.tzinfo is None for g in groups)
    assert spark.conf.get("spark.sql.session.timeZone") == ZONE  # restored after the query
    assert any(g.src.labels and g.dst.labels for g in groups)


@pytest.mark.parametrize("start", [None, CUT])
def test_the_drift_report_of_spark_groups_equals_duckdb_s(
    spark: SparkSession, flows: tuple[Path, Path], graph: Graph, start: dt.datetime | None
) -> None:
    db, parquet = flows
    on_duckdb = drift_from_groups(graph, observed_groups(db, start), start).to_json()
    on_spark = drift_from_groups(graph, spark_groups(spark, parquet, start), start).to_json()
    assert json.dumps(on_spark, sort_keys=True) == json.dumps(on_duckdb, sort_keys=True)
    filled = [name for name in ("undeclared", "unused", "dropped", "expired") if on_duckdb[name]]
    assert len(filled) >= (4 if start is None else 2), on_duckdb


@pytest.mark.parametrize("trend", ["batch", "day", None])
def test_spark_drift_with_its_coverage_trend_equals_drift_on_duckdb(
    spark: SparkSession, flows: tuple[Path, Path], graph: Graph, trend: str | None
) -> None:
    from trustmap.observe.spark import spark_drift

    db, parquet = flows
    since, now = dt.timedelta(days=4000), dt.datetime(2026, 11, 24)
    expected = drift(graph, db, since, now, trend=trend).to_json()
    on_spark = spark_drift(graph, flows=parquet, since=since, now=now, trend=trend)
    assert on_spark.to_json() == expected
    points = expected["coverage"]["trend"]  # type: ignore[index]
    if trend == "batch":
        assert [(p["window"], p["format"]) for p in points] == [
            ("batch 1", "hubble"),
            ("batch 2", "csv"),
        ]
    elif trend == "day":
        assert len(points) > 3
    else:
        assert points == []


def test_cli_drift_on_spark_prints_the_duckdb_report_with_a_snapshot(
    spark: SparkSession, flows: tuple[Path, Path], tmp_path: Path
) -> None:
    db, parquet = flows
    (tmp_path / "decl.yaml").write_text(DECLARATIONS)
    (tmp_path / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    base = ["drift", str(tmp_path / "decl.yaml"), "--db", str(db), "--now", "2026-11-23"]
    base += ["--since", "7d", "--format", "json", "--snapshot", str(tmp_path / "snapshot.json")]
    runs = {
        "duckdb": CliRunner().invoke(cli, base),
        "spark": CliRunner().invoke(cli, [*base, "--engine", "spark"]),
        "parquet": CliRunner().invoke(cli, [*base, "--engine", "spark", "--flows-parquet", str(parquet)]),
    }  # fmt: skip
    for name, result in runs.items():
        assert result.exit_code == 1, (name, result.output)
    reports = {name: json.loads(result.stdout) for name, result in runs.items()}
    assert reports["spark"] == reports["parquet"] == reports["duckdb"]
    assert reports["duckdb"]["undeclared"]
    # the address-only web → payment requests resolve through the snapshot: not unused
    blind = json.loads(CliRunner().invoke(cli, base[:-2]).stdout)
    assert "shop/payment" in [e["destination"] for e in blind["unused"]]
    assert "shop/payment" not in [e["destination"] for e in reports["duckdb"]["unused"]]
    assert spark.getActiveSession() is not None  # the CLI left the running session alone


def test_a_parquet_without_the_flows_columns_is_an_input_error(
    spark: SparkSession, tmp_path: Path
) -> None:
    other = tmp_path / "other.parquet"
    spark.sql("SELECT 'a' AS src_ip, 1 AS dst_port").write.parquet(str(other))
    with pytest.raises(InputError, match=r"missing column\(s\) batch_id, time, last_time"):
        spark_groups(spark, other)


def test_a_file_that_is_not_parquet_is_an_input_error_naming_it(
    spark: SparkSession, tmp_path: Path
) -> None:
    bad = tmp_path / "flows.parquet"
    bad.write_text("time,src_ip\n")
    with pytest.raises(InputError, match=r"flows.parquet: cannot read as Parquet: .*not a Parquet"):
        spark_groups(spark, bad)


def test_cli_reports_a_missing_parquet_dataset_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "decl.yaml").write_text(DECLARATIONS)
    args = ["drift", str(tmp_path / "decl.yaml"), "--engine", "spark"]
    missing = CliRunner().invoke(cli, [*args, "--flows-parquet", str(tmp_path / "none")])
    assert missing.exit_code == 2
    assert "no such Parquet file or directory" in missing.output
    wrong = CliRunner().invoke(
        cli, ["drift", str(tmp_path / "decl.yaml"), "--flows-parquet", str(tmp_path)]
    )
    assert wrong.exit_code == 2
    assert "need --engine spark" in wrong.output
