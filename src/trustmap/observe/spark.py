"""The scale path: drift's aggregation on Apache Spark, for flow volumes beyond one machine.

The aggregation is :func:`trustmap.observe.observed.groups_expr`, written once with Ibis. Here it
is compiled to Spark SQL, run by a Spark session over a Parquet dataset holding the ``flows``
table's columns (docs/observe.md, "Schema"), and its rows are normalised exactly like DuckDB's,
so the drift report is the same whichever engine aggregated (tests/observe/test_spark_parity.py).

PySpark is the optional ``spark`` extra and needs Java 17 or later; it is imported only when a
function here runs. Ibis's PySpark backend is used as a compiler only: its ``execute`` converts
through pandas, which warns under pandas 3, whereas ``DataFrame.toArrow`` (PySpark 4) hands the
few aggregated rows back as Arrow.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import ibis

from trustmap.errors import InputError, UsageError
from trustmap.model import Graph
from trustmap.observe.drift import DriftReport, drift_from_groups, identified_by, window_start
from trustmap.observe.identity import Resolver
from trustmap.observe.observed import (
    BatchInfo,
    ObservedGroup,
    flows_table,
    flows_to_parquet,
    groups_from_records,
    groups_sql,
)
from trustmap.observe.schema import FLOW_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from trustmap.observe.snapshot import ClusterSnapshot

__all__ = ["SPARK_HINT", "observed_groups_spark", "spark_drift", "spark_session"]

SPARK_HINT: Final = (
    "install the spark extra (pip install 'trustmap[spark]', or `make install`) and Java 17+ "
    "(`make system` installs default-jre-headless)"
)
"""What to do when Spark is missing or cannot start."""

_TIME_ZONE: Final = "spark.sql.session.timeZone"

_DEFAULTS: Final = {_TIME_ZONE: "UTC", "spark.ui.showConsoleProgress": "false"}
"""Configuration of sessions started here: flows are UTC; no progress bars on stderr."""


@contextmanager
def spark_session(
    master: str | None = None, conf: Mapping[str, str] | None = None
) -> Iterator[SparkSession]:
    """The active Spark session if there is one (left running), else a new one, stopped on exit.

    Args:
        master: Spark master URL (``local[*]``, ``spark://host:7077``, ``yarn``); default: what
            ``spark-submit`` or ``spark-defaults.conf`` say, else ``local[*]``.
        conf: extra Spark settings for a new session.

    Raises:
        UsageError: when PySpark is not installed or Spark cannot start (no Java 17+).
    """
    try:
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise UsageError(f"the Spark engine needs PySpark, which is not installed ({err})") from err
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    builder = SparkSession.builder.appName("trustmap")
    if master:
        builder = builder.master(master)
    for key, value in {**_DEFAULTS, **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except PySparkException as err:
        raise UsageError(f"cannot start Spark: {err}") from err
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def observed_groups_spark(
    session: SparkSession,
    flows: str | Path,
    start: dt.datetime | None = None,
    window: str | None = None,
) -> list[ObservedGroup]:
    """Requests of the Parquet dataset ``flows`` observed at or after ``start`` (naive UTC),
    aggregated by Spark, grouped and ordered as :func:`~trustmap.observe.observed.observed_groups`.

    Args:
        session: a running Spark session; its time zone is UTC while the query runs (a naive
            ``start`` is UTC), then restored.
        flows: Parquet file or directory (any URI Spark reads: ``s3a://``, ``hdfs://``, a local
            path) with the ``flows`` table's columns.
        start: window start; ``None`` = every flow.
        window: also group by ``batch`` or ``day`` (:data:`~trustmap.observe.observed.WINDOWS`).

    Raises:
        InputError: when ``flows`` cannot be read or lacks columns of the ``flows`` table.
    """
    with _flows_view(session, str(flows)) as view:
        return groups_from_records(
            _rows(session, groups_sql("pyspark", start, view, window=window))
        )


def spark_drift(
    graph: Graph,
    *,
    flows: str | Path | None = None,
    db_path: Path | None = None,
    since: dt.timedelta | None = None,
    now: dt.datetime | None = None,
    master: str | None = None,
    snapshot: ClusterSnapshot | None = None,
    trend: str | None = "batch",
) -> DriftReport:
    """:func:`~trustmap.observe.drift.drift` with the aggregation run by Spark.

    Args:
        graph: the declarations.
        flows: Parquet dataset of flows; when ``None``, the ``flows`` table of ``db_path`` is
            exported to a temporary Parquet file first (readable by a local master only).
        db_path: DuckDB flow database, used when ``flows`` is ``None``.
        since: window length before ``now``; ``None`` = every flow.
        now: end of the window (naive UTC); default: the current time.
        master: Spark master URL, see :func:`spark_session`.
        snapshot: pods and Services to resolve endpoints recorded by address or pod name.
        trend: coverage per ``batch`` (ingest run) or per UTC ``day``; ``None`` for none.

    Raises:
        UsageError: when neither ``flows`` nor ``db_path`` is given, or Spark cannot start.
        InputError: when the flows cannot be read.
    """
    start = window_start(since, now)
    with tempfile.TemporaryDirectory(prefix="trustmap-flows-") as scratch:
        if flows is not None:
            source: str | Path = _existing(str(flows))
        elif db_path is not None:
            source = flows_to_parquet(db_path, Path(scratch))
        else:
            raise UsageError("give the flows as a Parquet dataset or a DuckDB flow database")
        with spark_session(master) as session, _flows_view(session, str(source)) as view:
            rows = _rows(session, groups_sql("pyspark", start, view, window=trend))
            runs = _batches(session, view) if trend == "batch" else None
    resolver = Resolver(graph)
    groups = groups_from_records(rows, identified_by(resolver, snapshot))
    return drift_from_groups(
        graph, groups, start, snapshot=snapshot, batches=runs, resolver=resolver
    )


@contextmanager
def _flows_view(session: SparkSession, flows: str) -> Iterator[str]:
    """A temporary view of the dataset under a fresh name, the session's time zone UTC."""
    frame = _read_flows(session, flows)
    view = f"trustmap_flows_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(view)
    zone = session.conf.get(_TIME_ZONE)
    session.conf.set(_TIME_ZONE, "UTC")
    try:
        yield view
    finally:
        session.conf.set(_TIME_ZONE, zone or "UTC")
        session.catalog.dropTempView(view)


def _rows(session: SparkSession, sql: str) -> list[dict[str, Any]]:
    """Rows of a (small, aggregated) query, through Arrow."""
    try:
        rows: list[dict[str, Any]] = session.sql(sql).toArrow().to_pylist()
    except _spark_errors() as err:
        raise InputError(f"Spark could not aggregate the flows: {_message(err)}") from err
    return rows


def _batches(session: SparkSession, view: str) -> dict[int, BatchInfo]:
    flows = flows_table(view)
    expr = flows.group_by("batch_id").aggregate(
        source_format=flows.source_format.min(),
        first_time=flows.time.min(),
        last_time=flows.last_time.max(),
    )
    rows = _rows(session, str(ibis.to_sql(expr, dialect="pyspark")))
    return {
        int(row["batch_id"]): BatchInfo(
            int(row["batch_id"]),
            str(row["source_format"]),
            _naive_utc(row["first_time"]),
            _naive_utc(row["last_time"]),
        )
        for row in rows
        if row["batch_id"] is not None
    }


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _read_flows(session: SparkSession, flows: str) -> DataFrame:
    try:
        frame = session.read.parquet(_existing(flows))
    except _spark_errors() as err:
        raise InputError(f"{flows}: cannot read as Parquet: {_message(err)}") from err
    missing = [name for name, _ in FLOW_COLUMNS if name not in frame.columns]
    if missing:
        raise InputError(
            f"{flows}: not a flows dataset, missing column(s) {', '.join(missing)}; "
            "expected the columns of the `flows` table (docs/observe.md, Schema)"
        )
    return frame


def _existing(flows: str) -> str:
    """``flows``, once a local path is known to exist (URIs are left to Spark)."""
    if "://" not in flows and not Path(flows).exists():
        raise InputError(f"{flows}: no such Parquet file or directory")
    return flows


def _spark_errors() -> tuple[type[Exception], ...]:
    """What Spark raises for bad data: its own errors, and JVM exceptions passed through."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JJavaError)


def _message(err: Exception) -> str:
    """The first line of a Spark error's root cause (the rest is a JVM stack trace)."""
    text = str(err)
    java = getattr(err, "java_exception", None)
    if java is not None:
        while java.getCause() is not None:
            java = java.getCause()
        text = str(java.getMessage() or java.toString())
    lines = text.strip().splitlines()
    return lines[0] if lines else type(err).__name__
