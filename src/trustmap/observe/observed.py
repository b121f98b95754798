"""The observed side of drift: flows aggregated per endpoint pair, port and verdict, with Ibis.

The query is written with Ibis so the same expression can run on DuckDB (the embedded default)
or on a distributed backend when flows outgrow one machine; only the aggregated groups (one per
distinct endpoint pair, port, protocol and verdict, far fewer than flows) reach Python, where
identity resolution joins them with the declarations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
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

__all__ = ["ObservedGroup", "flows_table", "groups_expr", "observed_groups"]

_PEER: Final = ("namespace", "workload", "service_account", "labels", "entity", "pod", "ip")
_KEYS: Final = (
    *(f"src_{name}" for name in _PEER),
    *(f"dst_{name}" for name in _PEER),
    "dst_names",
    "dst_port",
    "protocol",
    "verdict",
)


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


_IBIS_TYPES: Final = {
    "VARCHAR": "string",
    "VARCHAR[]": "array<string>",
    "INTEGER": "int32",
    "BIGINT": "int64",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}


def flows_table() -> ir.Table:
    """The ``flows`` table as an unbound Ibis table (bind it to any backend by name)."""
    return ibis.table({name: _IBIS_TYPES[kind] for name, kind in FLOW_COLUMNS}, name="flows")


def groups_expr(flows: ir.Table, start: dt.datetime | None = None) -> ir.Table:
    """Requests (replies only carry response codes) at or after ``start``, grouped by
    endpoint pair, port, protocol and verdict."""
    rows = flows.filter(flows.direction != "reply")
    if start is not None:
        rows = rows.filter(rows.time >= start)
    return rows.group_by(list(_KEYS)).aggregate(
        count=rows["count"].sum(),
        first_seen=rows.time.min(),
        last_seen=rows.last_time.max(),
        drop_reason=rows.drop_reason.min(),
    )


def observed_groups(db_path: Path, start: dt.datetime | None = None) -> list[ObservedGroup]:
    """Requests of ``db_path`` observed at or after ``start`` (UTC), grouped, in a stable order.

    The Ibis expression is compiled to DuckDB SQL and run on a plain DuckDB connection: Ibis
    12's DuckDB backend calls ``fetch_arrow_table``, deprecated in DuckDB 2.0 (a warning, an
    error under the test suite's ``filterwarnings = error``), so only its compiler is used here.

    Raises:
        InputError: when the file is missing or is not a flow database.
    """
    sql = ibis.to_sql(groups_expr(flows_table(), start), dialect="duckdb")
    with _connect(db_path) as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        records = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return sorted((_group(record) for record in records), key=_order)


@contextmanager
def _connect(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
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


def _endpoint(record: dict[str, Any], side: str) -> ObservedEndpoint:
    return ObservedEndpoint(
        namespace=record[f"{side}_namespace"],
        workload=record[f"{side}_workload"],
        service_account=record[f"{side}_service_account"],
        labels=tuple(record[f"{side}_labels"] or ()),
        entity=record[f"{side}_entity"],
        pod=record[f"{side}_pod"],
        ip=record[f"{side}_ip"],
    )


def _group(record: dict[str, Any]) -> ObservedGroup:
    return ObservedGroup(
        src=_endpoint(record, "src"),
        dst=_endpoint(record, "dst"),
        dst_names=tuple(record["dst_names"] or ()),
        port=record["dst_port"],
        protocol=record["protocol"] or "",
        verdict=record["verdict"] or "",
        drop_reason=record["drop_reason"],
        count=int(record["count"] or 0),
        first_seen=record["first_seen"],
        last_seen=record["last_seen"] or record["first_seen"],
    )


def _order(group: ObservedGroup) -> tuple[str, ...]:
    return tuple(
        "" if value is None else str(value)
        for value in (
            group.first_seen, group.src.namespace, group.src.pod, group.src.ip,
            group.dst.namespace, group.dst.pod, group.dst.ip, group.port, group.protocol,
            group.verdict, group.dst_names, group.src.labels, group.dst.labels,
            group.src.entity, group.dst.entity, group.src.service_account,
            group.dst.service_account, group.src.workload, group.dst.workload,
        )
    )  # fmt: skip
