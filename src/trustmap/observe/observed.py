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
from trustmap.observe.group import ObservedGroup, group_from_record, group_order
from trustmap.observe.podmerge import Identified, merge_records, merged_groups
from trustmap.observe.schema import FLOW_COLUMNS

__all__ = [
    "WINDOWS",
    "BatchInfo",
    "Identified",
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
    db_path: Path,
    start: dt.datetime | None = None,
    window: str | None = None,
    *,
    identified: Identified | None = None,
) -> list[ObservedGroup]:
    """Requests of ``db_path`` observed at or after ``start`` (UTC), grouped, in a stable order;
    with ``identified``, merged across the pods of identified endpoints
    (:func:`groups_from_records`).

    The Ibis expression is compiled to DuckDB SQL and run on a plain DuckDB connection: Ibis
    12's DuckDB backend calls ``fetch_arrow_table``, deprecated in DuckDB 2.0 (a warning, an
    error under the test suite's ``filterwarnings = error``), so only its compiler is used here.

    Raises:
        InputError: when the file is missing or is not a flow database.
    """
    sql = groups_sql("duckdb", start, window=window)
    with open_flow_db(db_path) as con:
        if identified is None:
            cursor = con.execute(sql)
            names = [column[0] for column in cursor.description or ()]
            return groups_from_records(
                dict(zip(names, row, strict=True)) for row in cursor.fetchall()
            )
        con.execute(f"CREATE TEMP TABLE _groups AS {sql}")
        return merged_groups(con, identified, windowed=window is not None)


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


def groups_from_records(
    records: Iterable[Mapping[str, Any]], identified: Identified | None = None
) -> list[ObservedGroup]:
    """Result rows of :func:`groups_sql` (one mapping per row, by column name), from any
    engine, as groups in a stable order.

    Values are normalised so that engines agree: timestamps become naive UTC (Spark returns
    zone-aware ones for ``TIMESTAMP`` columns), lists become tuples of strings, counts and
    ports become ``int`` (DuckDB sums to 128-bit integers, Spark to 64-bit).

    With ``identified``, rows that differ only in the pod and address of endpoints it
    identifies are merged into one group (counts summed, last seen widened; rows without a
    time are left as they are): what
    drift judges of such an endpoint depends on its description alone, and a busy cluster has
    many pods per service. The merged group keeps the pod and address of its earliest row (in
    the stable order), so examples stay concrete and the same as without merging.
    """
    rows = records if identified is None else merge_records(records, identified)
    return sorted((group_from_record(record) for record in rows), key=group_order)


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
