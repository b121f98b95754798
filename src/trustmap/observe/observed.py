"""The observed side of drift: flows aggregated per endpoint pair, port and verdict, with Ibis.

The query is written with Ibis so the same expression can run on DuckDB (the embedded default)
or on a distributed backend when flows outgrow one machine (Spark: :mod:`trustmap.observe.spark`);
only the aggregated groups (one per distinct endpoint pair, port, protocol and verdict, far fewer
than flows) reach Python, where identity resolution joins them with the declarations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import duckdb
import ibis
import ibis.expr.types as ir

from trustmap.errors import InputError
from trustmap.observe.identity import ObservedEndpoint
from trustmap.observe.schema import FLOW_COLUMNS

__all__ = [
    "WINDOWS",
    "BatchInfo",
    "ObservedGroup",
    "batches",
    "flows_table",
    "flows_to_parquet",
    "groups_expr",
    "groups_from_records",
    "groups_sql",
    "observed_groups",
    "open_flow_db",
]

_PEER: Final = ("namespace", "workload", "service_account", "labels", "entity", "pod", "ip")
_KEYS: Final = (
    *(f"src_{name}" for name in _PEER),
    *(f"dst_{name}" for name in _PEER),
    "dst_names",
    "dst_port",
    "protocol",
    "verdict",
)

WINDOWS: Final = ("batch", "day")
"""How observations split into windows for the coverage trend: per ingest batch, or per UTC day."""


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """One ingest run (a row of ``batches``)."""

    batch_id: int
    """Identifier."""
    source_format: str
    """The ``--format`` it was read with."""
    first_time: dt.datetime | None
    """Earliest observation."""
    last_time: dt.datetime | None
    """Latest observation."""


@dataclass(frozen=True, slots=True)
class ObservedGroup:
    """Requests between two endpoints on one port, protocol and verdict."""

    src: ObservedEndpoint
    """Client."""
    dst: ObservedEndpoint
    """Server."""
    dst_names: tuple[str, ...]
    """DNS names of the server."""
    port: int | None
    """Destination port."""
    protocol: str
    """Transport protocol."""
    verdict: str
    """Hubble verdict name."""
    drop_reason: str | None
    """Why it was dropped (smallest reason name when several)."""
    count: int
    """Observations."""
    first_seen: dt.datetime | None
    """Earliest observation (UTC)."""
    last_seen: dt.datetime | None
    """Latest observation (UTC)."""
    window: str | None = None
    """The window the requests fall in when grouped by one (:data:`WINDOWS`): a batch id, or
    a UTC day ``YYYY-MM-DD``; ``None`` when not grouped by window or the row has no time."""


_IBIS_TYPES: Final = {
    "VARCHAR": "string",
    "VARCHAR[]": "array<string>",
    "INTEGER": "int32",
    "BIGINT": "int64",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}


def flows_table(name: str = "flows") -> ir.Table:
    """The ``flows`` table as an unbound Ibis table (bind it to any backend by ``name``)."""
    return ibis.table({column: _IBIS_TYPES[kind] for column, kind in FLOW_COLUMNS}, name=name)


def groups_expr(
    flows: ir.Table, start: dt.datetime | None = None, window: str | None = None
) -> ir.Table:
    """Requests (replies only carry response codes) at or after ``start``, grouped by
    endpoint pair, port, protocol and verdict, and by ``window`` (one of :data:`WINDOWS`)
    when given: the ingest batch, or the UTC day of the first observation."""
    rows = flows.filter(flows.direction != "reply")
    if start is not None:
        rows = rows.filter(rows.time >= start)
    keys: list[Any] = list(_KEYS)
    if window == "batch":
        keys.append(rows.batch_id.cast("string").name("window"))
    elif window == "day":
        keys.append(rows.time.date().cast("string").name("window"))
    elif window is not None:
        raise ValueError(f"window {window!r} is not one of {WINDOWS}")
    return rows.group_by(keys).aggregate(
        count=rows["count"].sum(),
        first_seen=rows.time.min(),
        last_seen=rows.last_time.max(),
        drop_reason=rows.drop_reason.min(),
    )


def observed_groups(
    db_path: Path, start: dt.datetime | None = None, window: str | None = None
) -> list[ObservedGroup]:
    """Requests of ``db_path`` observed at or after ``start`` (UTC), grouped, in a stable order.

    The Ibis expression is compiled to DuckDB SQL and run on a plain DuckDB connection: Ibis
    12's DuckDB backend calls ``fetch_arrow_table``, deprecated in DuckDB 2.0 (a warning, an
    error under the test suite's ``filterwarnings = error``), so only its compiler is used here.

    Raises:
        InputError: when the file is missing or is not a flow database.
    """
    with open_flow_db(db_path) as con:
        cursor = con.execute(groups_sql("duckdb", start, window=window))
        names = [column[0] for column in cursor.description]
        records = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return groups_from_records(records)


def groups_sql(
    dialect: str,
    start: dt.datetime | None = None,
    table: str = "flows",
    *,
    window: str | None = None,
) -> str:
    """:func:`groups_expr` compiled to one SQL dialect (``duckdb``, ``pyspark``, ...) over the
    table or view named ``table``: the query is written once, each engine runs its own SQL."""
    expr = groups_expr(flows_table(table), start, window)
    return str(ibis.to_sql(expr, dialect=dialect))


def groups_from_records(records: Iterable[Mapping[str, Any]]) -> list[ObservedGroup]:
    """Result rows of :func:`groups_sql` (one mapping per row, by column name), from any
    engine, as groups in a stable order.

    Values are normalised so that engines agree: timestamps become naive UTC (Spark returns
    zone-aware ones for ``TIMESTAMP`` columns), lists become tuples of strings, counts and
    ports become ``int`` (DuckDB sums to 128-bit integers, Spark to 64-bit).
    """
    return sorted((_group(record) for record in records), key=_order)


def flows_to_parquet(db_path: Path, directory: Path) -> Path:
    """Write the ``flows`` table of ``db_path`` to ``directory/flows.parquet`` (created) for an
    engine that reads Parquet, such as Spark; timestamps stay naive UTC (``TIMESTAMP_NTZ``).

    Returns:
        The Parquet file.

    Raises:
        InputError: when the database is missing or is not a flow database, or the file
            cannot be written.
    """
    target = directory / "flows.parquet"
    quoted = str(target).replace("'", "''")
    with open_flow_db(db_path) as con:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY flows TO '{quoted}' (FORMAT parquet)")
        except (OSError, duckdb.Error) as err:
            raise InputError(f"{target}: cannot write the flows as Parquet: {err}") from err
    return target


def batches(db_path: Path) -> dict[int, BatchInfo]:
    """The ingest batches of ``db_path`` by id.

    Raises:
        InputError: when the file is missing or is not a flow database.
    """
    with open_flow_db(db_path) as con:
        rows = con.execute(
            "SELECT batch_id, format, first_time, last_time FROM batches ORDER BY batch_id"
        ).fetchall()
    return {int(row[0]): BatchInfo(int(row[0]), str(row[1]), row[2], row[3]) for row in rows}


@contextmanager
def open_flow_db(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a flow database written by ``trustmap observe ingest``.

    Raises:
        InputError: when the file is missing, unreadable or has no ``flows`` table.
    """
    if not db_path.is_file():
        raise InputError(f"{db_path}: no flow database; run `trustmap observe ingest` first")
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as err:
        raise InputError(f"{db_path}: cannot open the flow database: {err}") from err
    try:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'flows'"
        ).fetchall()
        if not found[0][0]:
            raise InputError(f"{db_path}: not a trustmap flow database (no `flows` table)")
        yield con
    finally:
        con.close()


def _endpoint(record: Mapping[str, Any], side: str) -> ObservedEndpoint:
    return ObservedEndpoint(
        namespace=record[f"{side}_namespace"],
        workload=record[f"{side}_workload"],
        service_account=record[f"{side}_service_account"],
        labels=_strings(record[f"{side}_labels"]),
        entity=record[f"{side}_entity"],
        pod=record[f"{side}_pod"],
        ip=record[f"{side}_ip"],
    )


def _group(record: Mapping[str, Any]) -> ObservedGroup:
    first_seen = _utc(record["first_seen"])
    return ObservedGroup(
        src=_endpoint(record, "src"),
        dst=_endpoint(record, "dst"),
        dst_names=_strings(record["dst_names"]),
        port=None if record["dst_port"] is None else int(record["dst_port"]),
        protocol=record["protocol"] or "",
        verdict=record["verdict"] or "",
        drop_reason=record["drop_reason"],
        count=int(record["count"] or 0),
        first_seen=first_seen,
        last_seen=_utc(record["last_seen"]) or first_seen,
        window=None if record.get("window") is None else str(record["window"]),
    )


def _strings(values: Iterable[Any] | None) -> tuple[str, ...]:
    return () if values is None else tuple(str(value) for value in values)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Naive UTC, as the ``flows`` table stores time."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _order(group: ObservedGroup) -> tuple[str, ...]:
    return tuple(
        "" if value is None else str(value)
        for value in (
            group.first_seen, group.src.namespace, group.src.pod, group.src.ip,
            group.dst.namespace, group.dst.pod, group.dst.ip, group.port, group.protocol,
            group.verdict, group.dst_names, group.src.labels, group.dst.labels,
            group.src.entity, group.dst.entity, group.src.service_account,
            group.dst.service_account, group.src.workload, group.dst.workload, group.window,
        )
    )  # fmt: skip
