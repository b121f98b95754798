"""The flow database: one DuckDB file holding every ingested flow and every ingest batch.

Records are first staged in a temporary table (in Arrow batches from the Python parsers, or
straight from DuckDB's JSON reader for Hubble), then collapsed into ``flows``: observations with
the same 5-tuple, direction, verdict and L7 request in the same dedup window bucket become one
row whose ``count`` says how many they were (see :func:`trustmap.observe.schema.collapse_sql`). Each ingest run is one row of
``batches`` so drift can compare windows. The schema is documented in ``docs/observe.md``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from trustmap.observe.formats.hubble_sql import labelset_select
from trustmap.observe.record import FlowRecord
from trustmap.observe.schema import (
    FLOW_COLUMNS,
    LIST_COLUMNS,
    LIST_SEP,
    RECORD_COLUMNS,
    STAGE_COLUMNS,
    collapse_sql,
)

__all__ = [
    "BATCH_ROWS",
    "SCHEMA_VERSION",
    "BatchTotals",
    "FileRow",
    "FlowStore",
    "StageRejected",
    "StoreError",
]

SCHEMA_VERSION: Final = 1
BATCH_ROWS: Final = 50_000
"""Rows per Arrow batch handed to DuckDB (see benchmarks/RESULTS.md)."""

_ARROW: Final[dict[str, pa.DataType]] = {
    "VARCHAR": pa.string(),
    "VARCHAR[]": pa.list_(pa.string()),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
}

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

        Raises:
            StoreError: when the file cannot be opened as a DuckDB database.
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(path))
        except (OSError, duckdb.Error) as err:
            raise StoreError(f"{path}: cannot open the flow database: {err}") from err
        self.con.execute(
            "SET enable_progress_bar = true; SET enable_progress_bar_print = false; "
            "SET preserve_insertion_order = false"
        )
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
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
            arrow_batch = _arrow_table(chunk, file_no)  # noqa: F841 - read by DuckDB below
            self.con.execute("INSERT INTO _stage SELECT * FROM arrow_batch")
            total += len(chunk)
        return total

    def stage_sql(
        self, sql: str, params: dict[str, object], progress: Callable[[float], None] | None
    ) -> None:
        """Run an ``INSERT INTO _stage`` statement, reporting its progress (0-1) meanwhile.

        Raises:
            StageRejected: when the statement fails; nothing of it is staged then.
        """
        try:
            self._run_with_progress(sql, params, progress)
        except duckdb.Error as err:
            raise StageRejected(str(err).splitlines()[0]) from err

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

    def unstage(self, file_no: int) -> None:
        """Forget what was staged for one file (before falling back to another parser)."""
        self.con.execute("DELETE FROM _stage WHERE file_no = ?", [file_no])

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
    ) -> BatchTotals:
        """Collapse the staged records into ``flows`` as a new batch and record it."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            totals = self._write_batch(source_format, reporter, files, window, lost_events)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("DELETE FROM _stage")
        return totals

    def _write_batch(
        self,
        source_format: str,
        reporter: str | None,
        files: Sequence[FileRow],
        window: dt.timedelta,
        lost_events: int,
    ) -> BatchTotals:
        row = self.con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM batches").fetchone()
        batch_id = int(row[0]) if row else 1
        before = self._flow_count()
        staged = self.con.execute("SELECT coalesce(sum(records), 0) FROM _stage").fetchone()
        self.con.execute(
            _flows_sql(), {"batch": batch_id, "fmt": source_format, "window": _us(window)}
        )
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


def _columns_sql(columns: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f'"{name}" {kind}' for name, kind in columns)


_DERIVED: Final = ("cluster", "namespace", "service_account", "labels", "entity")
"""Peer columns that may instead come from raw Cilium labels (``*_labels_raw``)."""


def _flows_sql() -> str:
    """Collapse the stage into one batch of ``flows`` (parameters ``$batch``, ``$fmt``,
    ``$window``), splitting raw Cilium label lists once per distinct list."""
    output = [
        "$batch", "g.time", "g.last_time",
        *(_final(name) for name, _ in RECORD_COLUMNS[1:-1]),
        "$fmt", "g.count",
    ]  # fmt: skip
    return f"""
    INSERT INTO flows
    WITH grouped AS ({collapse_sql("_stage")}),
    labelsets AS (
        SELECT raw, {labelset_select(f"string_split(raw, '{LIST_SEP}')")} FROM (
            SELECT src_labels_raw AS raw FROM grouped WHERE src_labels_raw IS NOT NULL
            UNION SELECT dst_labels_raw FROM grouped WHERE dst_labels_raw IS NOT NULL)
    )
    SELECT {", ".join(output)}
    FROM grouped AS g
    LEFT JOIN labelsets AS ls ON g.src_labels_raw = ls.raw
    LEFT JOIN labelsets AS ld ON g.dst_labels_raw = ld.raw
    """


def _final(name: str) -> str:
    value = f'g."{name}"'
    if name in LIST_COLUMNS:
        value = f"string_split(nullif({value}, ''), '{LIST_SEP}')"
    side, _, column = name.partition("_")
    if side in ("src", "dst") and column in _DERIVED:
        alias = "ls" if side == "src" else "ld"
        return f'coalesce({value}, {alias}."{column}")'
    return value


def _us(window: dt.timedelta) -> int:
    return window // dt.timedelta(microseconds=1)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _chunks(records: Iterator[FlowRecord], size: int) -> Iterator[list[FlowRecord]]:
    while chunk := list(islice(records, size)):
        yield chunk


def _arrow_table(records: list[FlowRecord], file_no: int) -> pa.Table:
    columns: list[list[object]] = [[] for _ in STAGE_COLUMNS]
    (
        time, sc, sn, sp, sw, sk, ssa, sl, si, spt, se,
        dc, dn, dp, dw, dk, dsa, dl, di, dpt, de,
        names, svc_ns, svc_name, svc_port, proto, verdict, drop, direction,
        l7p, l7m, l7path, l7s, mtls, reporter, count,
        last_time, seen, file, kind, src_raw, dst_raw,
    ) = (column.append for column in columns)  # fmt: skip
    join = LIST_SEP.join
    for r in records:
        s, d = r.src, r.dst
        time(r.time), last_time(r.time)
        sc(s.cluster), sn(s.namespace), sp(s.pod), sw(s.workload), sk(s.workload_kind)
        ssa(s.service_account), sl(join(s.labels) or None), si(s.ip), spt(s.port), se(s.entity)
        dc(d.cluster), dn(d.namespace), dp(d.pod), dw(d.workload), dk(d.workload_kind)
        dsa(d.service_account), dl(join(d.labels) or None), di(d.ip), dpt(d.port), de(d.entity)
        names(join(r.dst_names) or None), svc_ns(r.dst_service_namespace)
        svc_name(r.dst_service_name), svc_port(r.dst_service_port), proto(r.protocol)
        verdict(r.verdict), drop(r.drop_reason), direction(r.direction)
        l7p(r.l7_protocol), l7m(r.l7_method), l7path(r.l7_path), l7s(r.l7_status)
        mtls(r.mtls), reporter(r.reporter), count(r.count), seen(1), file(file_no)
        kind("flow"), src_raw(None), dst_raw(None)
    arrays = [
        pa.array(values, type=_ARROW[kind])
        for values, (_, kind) in zip(columns, STAGE_COLUMNS, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=[name for name, _ in STAGE_COLUMNS])
