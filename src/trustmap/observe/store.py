"""The flow database: one DuckDB file holding every ingested flow and every ingest batch.

Records are first staged in a temporary table (in Arrow batches from the Python parsers, or
straight from DuckDB's JSON reader for Hubble) in a narrow shape where each peer is a hash of its
description (:mod:`trustmap.observe.schema`), then collapsed into ``flows`` in one transaction
(:mod:`trustmap.observe.collapse`): observations with the same 5-tuple, direction, verdict and L7
request in the same dedup window bucket become one row whose ``count`` says how many they were.
Each ingest run is one row of ``batches`` so drift can compare windows. The schema is documented
in ``docs/observe.md``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from trustmap.observe.collapse import (
    COLLAPSED_FLOWS_SQL,
    ENDPOINTS_SQL,
    ENDPOINTS_UNIQUE_SQL,
    FLOWS_SQL,
)
from trustmap.observe.record import FlowRecord, Peer
from trustmap.observe.schema import (
    ENDPOINT_COLUMNS,
    FLOW_COLUMNS,
    LIST_SEP,
    RECORD_COLUMNS,
    STAGE_COLUMNS,
    endpoint_hash,
    endpoint_rank,
)

__all__ = [
    "BATCH_ROWS",
    "SCHEMA_VERSION",
    "BatchTotals",
    "FileRow",
    "FlowStore",
    "OutOfMemory",
    "StageRejected",
    "StoreError",
    "endpoint_values",
]

SCHEMA_VERSION: Final = 1
BATCH_ROWS: Final = 50_000
"""Rows per Arrow batch handed to DuckDB (see benchmarks/RESULTS.md)."""

_ARROW: Final[dict[str, pa.DataType]] = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
}
_RECORD: Final = (
    *RECORD_COLUMNS,
    *((f"src_{name}", kind) for name, kind in ENDPOINT_COLUMNS),
    *((f"dst_{name}", kind) for name, kind in ENDPOINT_COLUMNS),
)
"""An Arrow batch of parsed records: the flow, then both peers' descriptions."""

_SCHEMA_SQL: Final = f"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS batches (
    batch_id INTEGER PRIMARY KEY, format VARCHAR NOT NULL, reporter VARCHAR,
    files VARCHAR[] NOT NULL, ingested_at TIMESTAMP NOT NULL,
    first_time TIMESTAMP, last_time TIMESTAMP, dedup_window_seconds DOUBLE NOT NULL,
    records_read BIGINT NOT NULL, records_stored BIGINT NOT NULL, duplicates BIGINT NOT NULL,
    malformed BIGINT NOT NULL, skipped BIGINT NOT NULL, lost_events BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_files (
    batch_id INTEGER NOT NULL, path VARCHAR NOT NULL, size BIGINT, mtime TIMESTAMP,
    records_read BIGINT NOT NULL, malformed BIGINT NOT NULL, skipped BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS flows ({", ".join(f'"{n}" {t}' for n, t in FLOW_COLUMNS)});
"""


class StoreError(Exception):
    """The database file cannot be opened or is not a trustmap flow database."""


class OutOfMemory(StoreError):
    """DuckDB ran out of the memory it was allowed (``memory_limit``)."""


class StageRejected(Exception):
    """DuckDB refused a bulk staging statement (a line it cannot read); nothing was staged."""


@dataclass(frozen=True, slots=True)
class FileRow:
    """What one input file contributed to a batch."""

    path: str
    """File as the user named it."""
    size: int | None
    """Size in bytes when read."""
    mtime: dt.datetime | None
    """Modification time (UTC) when read."""
    records_read: int
    """Records (lines or objects) the parser looked at."""
    malformed: int
    """Records that could not be used."""
    skipped: int
    """Records that hold no flow."""


@dataclass(frozen=True, slots=True)
class BatchTotals:
    """What a committed batch holds."""

    batch_id: int
    """Identifier of the batch (window)."""
    stored: int
    """Rows written to ``flows``."""
    staged: int
    """Good records collapsed into those rows."""
    first_time: dt.datetime | None
    """Earliest observation."""
    last_time: dt.datetime | None
    """Latest observation."""


class FlowStore:
    """A flow database: stage records, then collapse them into one batch of ``flows``."""

    def __init__(self, path: Path, *, memory_limit: str | None = None) -> None:
        """Open (creating it and its folder if needed) the database at ``path``.

        ``memory_limit`` (DuckDB syntax, e.g. ``1GB``) caps DuckDB's buffer memory; beyond it
        collapsing spills to ``<db>.tmp``. Default: DuckDB's (80 % of the machine's memory).

        Raises:
            StoreError: when the file cannot be opened as a DuckDB database, or
                ``memory_limit`` is not a size.
        """
        config: dict[str, str | bool | int | float | list[str]] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(path), config=config)
        except (duckdb.ParserException, duckdb.InvalidInputException) as err:
            raise StoreError(f"memory limit '{memory_limit}' is not a size such as 1GB") from err
        except (OSError, duckdb.Error) as err:
            raise StoreError(f"{path}: cannot open the flow database: {err}") from err
        self.con.execute(
            "SET enable_progress_bar = true; SET enable_progress_bar_print = false; "
            "SET preserve_insertion_order = false"
        )
        self._create_schema(path)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _stage ({_columns_sql(STAGE_COLUMNS)})")

    def _create_schema(self, path: Path) -> None:
        self.con.execute(_SCHEMA_SQL)
        row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
        elif row[0] != str(SCHEMA_VERSION):
            raise StoreError(
                f"{path}: flow database schema version {row[0]} is not {SCHEMA_VERSION}; "
                "ingest into a new database file"
            )

    def close(self) -> None:
        """Close the database."""
        self.con.close()

    def __enter__(self) -> FlowStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # staging -----------------------------------------------------------------------------

    def stage(self, records: Iterable[FlowRecord], file_no: int) -> int:
        """Stage ``records`` in Arrow batches of :data:`BATCH_ROWS`; returns how many."""
        total = 0
        for chunk in _chunks(iter(records), BATCH_ROWS):
            arrow_batch = _arrow_table(chunk)  # noqa: F841 - read by DuckDB below
            self.con.execute(_STAGE_RECORDS_SQL, [file_no])
            self.con.execute(_STAGE_PEERS_SQL)
            total += len(chunk)
        return total

    def stage_sql(
        self, sql: str, params: dict[str, object], progress: Callable[[float], None] | None
    ) -> None:
        """Run an ``INSERT INTO _stage`` statement, reporting its progress (0-1) meanwhile.

        Raises:
            StageRejected: when DuckDB cannot read a file (a malformed line, a value of the
                wrong type, an I/O error); nothing of the statement is staged then.
            OutOfMemory: when DuckDB runs out of memory.
        """
        with _staging():
            self._run_with_progress(sql, params, progress)

    def stage_arrow(
        self, sql: str, tables: dict[str, pa.Table | pa.RecordBatch], params: dict[str, object]
    ) -> None:
        """Run a staging statement that reads the Arrow ``tables`` under their names (one
        statement at a time: it may run in another thread while the caller reads on).

        Raises:
            StageRejected: when DuckDB refuses a value (nothing of the statement is staged).
            OutOfMemory: when DuckDB runs out of memory.
        """
        try:
            for name, table in tables.items():
                self.con.register(name, table)
            with _staging():
                self.con.execute(sql, params)
        finally:
            for name in tables:
                self.con.unregister(name)

    def _run_with_progress(
        self, sql: str, params: dict[str, object], progress: Callable[[float], None] | None
    ) -> None:
        if progress is None:
            self.con.execute(sql, params)
            return
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self.con.execute(sql, params)
            except BaseException as err:  # re-raised in the calling thread
                failure.append(err)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.25)
            done = self.con.query_progress()
            if done >= 0:
                progress(min(done, 100.0) / 100.0)
        if failure:
            raise failure[0]

    def query(self, sql: str, params: Sequence[object] | dict[str, object] = ()) -> list[Any]:
        """Rows of a read-only query (for checks and tests)."""
        return self.con.execute(sql, params).fetchall()

    def unstage(self, sql: str, params: dict[str, object]) -> None:
        """Forget what one statement staged (before the files are read another way)."""
        self.con.execute(sql, params)

    # batches -----------------------------------------------------------------------------

    def ingested_before(self, path: str, size: int | None, mtime: dt.datetime | None) -> int | None:
        """Batch id that already holds this exact file (same path, size and mtime), if any."""
        row = self.con.execute(
            "SELECT min(batch_id) FROM batch_files WHERE path = ? AND size = ? AND mtime = ?",
            [path, size, mtime],
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def commit_batch(
        self,
        *,
        source_format: str,
        reporter: str | None,
        files: Sequence[FileRow],
        window: dt.timedelta,
        lost_events: int,
        collapsed: bool = False,
    ) -> BatchTotals:
        """Collapse the staged records into ``flows`` as a new batch and record it.

        ``collapsed``: the staged flows are collapsed already (one Hubble SQL statement staged
        every file of the run), they are written as they are.
        """
        self.con.execute("BEGIN TRANSACTION")
        try:
            totals = self._write_batch(
                source_format, reporter, files, window, lost_events, collapsed
            )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("DELETE FROM _stage; DROP TABLE IF EXISTS _endpoints")
        return totals

    def _write_batch(
        self,
        source_format: str,
        reporter: str | None,
        files: Sequence[FileRow],
        window: dt.timedelta,
        lost_events: int,
        collapsed: bool,
    ) -> BatchTotals:
        row = self.con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM batches").fetchone()
        batch_id = int(row[0]) if row else 1
        before = self._flow_count()
        staged = self.con.execute(
            "SELECT coalesce(sum(records), 0) FROM _stage WHERE part = 'flow'"
        ).fetchone()
        self.con.execute(ENDPOINTS_SQL)
        unique = self.con.execute(ENDPOINTS_UNIQUE_SQL).fetchone()
        if not (unique and unique[0]):
            raise StoreError("two different peers hashed alike; ingest the files in two runs")
        params: dict[str, object] = {"batch": batch_id, "fmt": source_format}
        if collapsed:
            self.con.execute(COLLAPSED_FLOWS_SQL, params)
        else:
            self.con.execute(FLOWS_SQL, {**params, "window": _us(window)})
        stored = self._flow_count() - before
        first, last = self.con.execute(
            "SELECT min(time), max(last_time) FROM flows WHERE batch_id = ?", [batch_id]
        ).fetchone() or (None, None)
        records = int(staged[0]) if staged else 0
        read = sum(f.records_read for f in files)
        malformed = sum(f.malformed for f in files)
        skipped = sum(f.skipped for f in files)
        self.con.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id, source_format, reporter, [f.path for f in files], _utcnow(),
                first, last, window.total_seconds(), read, stored,
                records - stored, malformed, skipped, lost_events,
            ],
        )  # fmt: skip
        self.con.executemany(
            "INSERT INTO batch_files VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [batch_id, f.path, f.size, f.mtime, f.records_read, f.malformed, f.skipped]
                for f in files
            ],
        )
        return BatchTotals(batch_id, stored, records, first, last)

    def _flow_count(self) -> int:
        row = self.con.execute("SELECT count(*) FROM flows").fetchone()
        return int(row[0]) if row else 0


@contextmanager
def _staging() -> Iterator[None]:
    """DuckDB's errors while staging, as :class:`OutOfMemory` or :class:`StageRejected`."""
    try:
        yield
    except duckdb.OutOfMemoryException as err:
        raise OutOfMemory(
            f"out of memory while reading flows ({str(err).splitlines()[0]}); "
            "raise --memory-limit or ingest fewer files per run"
        ) from err
    except duckdb.Error as err:
        raise StageRejected(str(err).splitlines()[0]) from err


def _columns_sql(columns: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f'"{name}" {kind}' for name, kind in columns)


def _us(window: dt.timedelta) -> int:
    return window // dt.timedelta(microseconds=1)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _chunks(records: Iterator[FlowRecord], size: int) -> Iterator[list[FlowRecord]]:
    while chunk := list(islice(records, size)):
        yield chunk


_FLOW_NAMES: Final = ", ".join(name for name, _ in RECORD_COLUMNS)
_STAGE_RECORDS_SQL: Final = f"""
INSERT INTO _stage BY NAME
SELECT 'flow' AS part, 'flow' AS kind, ? AS file_no, {_FLOW_NAMES}, time AS last_time,
    1 AS records, {endpoint_rank("src_", endpoint_hash("src_"))} AS src_pick,
    {endpoint_rank("dst_", endpoint_hash("dst_"))} AS dst_pick
FROM arrow_batch
"""
_STAGE_PEERS_SQL: Final = f"""
INSERT INTO _stage BY NAME
SELECT DISTINCT 'endpoint' AS part, * FROM (
    SELECT {endpoint_hash("src_")} AS ep,
        {", ".join(f"src_{name} AS ep_{name}" for name, _ in ENDPOINT_COLUMNS)} FROM arrow_batch
    UNION ALL
    SELECT {endpoint_hash("dst_")},
        {", ".join(f"dst_{name}" for name, _ in ENDPOINT_COLUMNS)} FROM arrow_batch)
"""


def _arrow_table(records: list[FlowRecord]) -> pa.Table:
    columns: list[list[object]] = [[] for _ in _RECORD]
    (
        time, si, spt, di, dpt, proto, verdict, drop, direction,
        l7p, l7m, l7path, l7s, mtls, reporter, count, *peers,
    ) = (column.append for column in columns)  # fmt: skip
    src, dst = peers[: len(ENDPOINT_COLUMNS)], peers[len(ENDPOINT_COLUMNS) :]
    join = LIST_SEP.join
    for r in records:
        time(r.time), si(r.src.ip), spt(r.src.port), di(r.dst.ip), dpt(r.dst.port)
        proto(r.protocol), verdict(r.verdict), drop(r.drop_reason), direction(r.direction)
        l7p(r.l7_protocol), l7m(r.l7_method), l7path(r.l7_path), l7s(r.l7_status)
        mtls(r.mtls), reporter(r.reporter), count(r.count)
        _peer(src, r.src, None, None, None, None)
        svc = (r.dst_service_namespace, r.dst_service_name, r.dst_service_port)
        _peer(dst, r.dst, join(r.dst_names) or None, *svc)
    arrays = [
        pa.array(values, type=_ARROW[kind])
        for values, (_, kind) in zip(columns, _RECORD, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=[name for name, _ in _RECORD])


def _peer(
    out: list[Callable[[object], None]],
    peer: Peer,
    names: str | None,
    service_namespace: str | None,
    service_name: str | None,
    service_port: int | None,
) -> None:
    """Append one peer's description, in :data:`ENDPOINT_COLUMNS` order."""
    values = endpoint_values(peer, names, service_namespace, service_name, service_port)
    for append, value in zip(out, values, strict=True):
        append(value)


def endpoint_values(
    peer: Peer,
    names: str | None,
    service_namespace: str | None,
    service_name: str | None,
    service_port: int | None,
) -> tuple[object, ...]:
    """One peer's staged description (:data:`ENDPOINT_COLUMNS` order), as the Python parsers
    stage it; ``names`` already joined by :data:`LIST_SEP`."""
    labels = LIST_SEP.join(peer.labels) or None
    return (
        peer.cluster, peer.namespace, peer.pod, peer.workload, peer.workload_kind,
        peer.service_account, labels, None, peer.entity, names,
        service_namespace, service_name, service_port,
    )  # fmt: skip
