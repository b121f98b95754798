"""The observed side of drift: flows aggregated per endpoint pair, port and verdict, with Ibis.

The query is written with Ibis so the same expression can run on DuckDB (the embedded default)
or on a distributed backend when flows outgrow one machine (Spark: :mod:`trustmap.observe.spark`);
only the aggregated groups (one per distinct endpoint pair, port, protocol and verdict, far fewer
than flows) reach Python, where identity resolution joins them with the declarations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from trustmap.errors import InputError
from trustmap.observe.identity import ObservedEndpoint
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

_VARYING: Final = ("count", "first_seen", "last_seen")
"""Group columns that merging sums or widens rather than matches."""

Identified = Callable[[ObservedEndpoint], bool]
"""Tells whether an endpoint, described without its pod and address, is identified by that
description alone (it resolves to a declared service): such endpoints' groups are merged across
pods and addresses (see :func:`groups_from_records`)."""

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
            return groups_from_records(_records(con.execute(sql)))
        con.execute(f"CREATE TEMP TABLE _groups AS {sql}")
        con.register("_identified", _identified_table(con, identified))
        return groups_from_records(_records(con.execute(_merged_sql(window is not None))))


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_DESCRIBED: Final = ("namespace", "workload", "service_account", "labels", "entity")
"""What identifies an endpoint without its pod and address."""


def _identified_table(con: duckdb.DuckDBPyConnection, identified: Identified) -> pa.Table:
    """The endpoint descriptions of ``_groups`` that ``identified`` accepts, as recorded."""
    sides = " UNION ".join(
        f"SELECT DISTINCT {', '.join(f'{side}_{name} AS {name}' for name in _DESCRIBED)} "
        "FROM _groups"
        for side in ("src", "dst")
    )
    known = [
        row
        for row in con.execute(sides).fetchall()
        if identified(
            ObservedEndpoint(row[0], row[1], row[2], _strings(row[3]), row[4], None, None)
        )
    ]
    text, words = pa.string(), pa.list_(pa.string())
    schema = pa.schema([(name, words if name == "labels" else text) for name in _DESCRIBED])
    return pa.Table.from_pylist([dict(zip(_DESCRIBED, row, strict=True)) for row in known], schema)


def _merged_sql(windowed: bool) -> str:
    """``_groups`` merged across the pods and addresses of the endpoints in ``_identified``:
    the SQL form of :func:`_merge_pods` (same rows, same example pod and address)."""
    matched = {
        side: " AND ".join(
            f"g.{side}_{name} IS NOT DISTINCT FROM {side}.{name}" for name in _DESCRIBED
        )
        for side in ("src", "dst")
    }
    shared = [
        *(f"{side}_{name}" for side in ("src", "dst") for name in _DESCRIBED),
        "dst_names", "dst_port", "protocol", "verdict", "drop_reason",
        *(['"window"'] if windowed else []),
    ]  # fmt: skip
    varying = [f"{side}_{field}" for side in ("src", "dst") for field in ("pod", "ip")]
    blanked = [f"CASE WHEN {field[:3]}_merged THEN NULL ELSE {field} END" for field in varying]
    order = ", ".join(["first_seen", *(f"coalesce({field}, '')" for field in varying)])
    example = f"arg_min(struct_pack({', '.join(varying)}), row({order}))"
    return f"""
    SELECT {", ".join(shared)}, {", ".join(f"example.{field} AS {field}" for field in varying)},
        count, first_seen, last_seen
    FROM (
        SELECT {", ".join(shared)}, sum(count) AS count, min(first_seen) AS first_seen,
            max(coalesce(last_seen, first_seen)) AS last_seen, {example} AS example
        FROM (
            SELECT g.*,
                g.first_seen IS NOT NULL AND src.namespace IS NOT NULL AS src_merged,
                g.first_seen IS NOT NULL AND dst.namespace IS NOT NULL AS dst_merged
            FROM _groups g
            LEFT JOIN _identified src ON {matched["src"]}
            LEFT JOIN _identified dst ON {matched["dst"]})
        GROUP BY {", ".join([*shared, *blanked])})
    """


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
    rows = records if identified is None else _merge_pods(records, identified)
    return sorted((_group(record) for record in rows), key=_order)


def _merge_pods(
    records: Iterable[Mapping[str, Any]], identified: Identified
) -> list[Mapping[str, Any]]:
    """Rows merged across the pods and addresses of identified endpoints."""
    known: dict[tuple[object, ...], bool] = {}
    merged: dict[tuple[object, ...], dict[str, Any]] = {}
    kept: list[Mapping[str, Any]] = []
    for record in records:
        sides = [side for side in ("src", "dst") if _is_identified(record, side, identified, known)]
        if not sides or record["first_seen"] is None:
            kept.append(record)
            continue
        blank = {f"{side}_{field}" for side in sides for field in ("pod", "ip")}
        key = tuple(
            _hashable(value)
            for name, value in record.items()
            if name not in blank and name not in _VARYING
        )
        group = merged.get(key)
        if group is None:
            merged[key] = dict(record)
        else:
            _absorb(group, record)
    return [*kept, *merged.values()]


def _is_identified(
    record: Mapping[str, Any],
    side: str,
    identified: Identified,
    known: dict[tuple[object, ...], bool],
) -> bool:
    labels = _strings(record[f"{side}_labels"])
    description = (
        record[f"{side}_namespace"], record[f"{side}_workload"],
        record[f"{side}_service_account"], labels, record[f"{side}_entity"],
    )  # fmt: skip
    found = known.get(description)
    if found is None:
        namespace, workload, account, _, entity = description
        endpoint = ObservedEndpoint(namespace, workload, account, labels, entity, None, None)
        found = known[description] = identified(endpoint)
    return found


def _absorb(group: dict[str, Any], record: Mapping[str, Any]) -> None:
    """Add ``record`` to the merged row ``group`` (both with a first time): its count, its
    time span, and its pod and address when it comes first in the stable order."""
    count = int(group["count"] or 0) + int(record["count"] or 0)
    lasts = [_utc(row["last_seen"]) or _utc(row["first_seen"]) for row in (group, record)]
    last = max(t for t in lasts if t is not None)
    if _earliest(record) < _earliest(group):
        group.update(record)
    group["count"], group["last_seen"] = count, last


def _earliest(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The part of :func:`_order` that differs between rows merged together."""
    return tuple(
        "" if value is None else str(value)
        for value in (
            _utc(record["first_seen"]), record["src_pod"], record["src_ip"],
            record["dst_pod"], record["dst_ip"],
        )
    )  # fmt: skip


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


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
