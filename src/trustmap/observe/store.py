"""The flow database: one DuckDB file holding every ingested flow and every ingest batch.

Records are first staged in a temporary table (in Arrow batches from the Python parsers, or
straight from DuckDB's JSON reader for Hubble), then collapsed into ``flows``: observations with
the same 5-tuple, direction, verdict and L7 request that follow each other within the dedup
window become one row whose ``count`` says how many they were. Each ingest run is one row of
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

from trustmap.observe.record import FlowRecord

__all__ = [
    "BATCH_ROWS",
    "FLOW_COLUMNS",
    "SCHEMA_VERSION",
    "STAGE_COLUMNS",
    "BatchTotals",
    "FileRow",
    "FlowStore",
    "StoreError",
]

SCHEMA_VERSION: Final = 1
BATCH_ROWS: Final = 50_000
"""Rows per Arrow batch handed to DuckDB (see benchmarks/RESULTS.md)."""

_PEER: Final = (
    ("cluster", "VARCHAR"),
    ("namespace", "VARCHAR"),
    ("pod", "VARCHAR"),
    ("workload", "VARCHAR"),
    ("workload_kind", "VARCHAR"),
    ("service_account", "VARCHAR"),
    ("labels", "VARCHAR[]"),
    ("ip", "VARCHAR"),
    ("port", "INTEGER"),
    ("entity", "VARCHAR"),
)
_AFTER_PEERS: Final = (
    ("dst_names", "VARCHAR[]"),
    ("dst_service_namespace", "VARCHAR"),
    ("dst_service_name", "VARCHAR"),
    ("dst_service_port", "INTEGER"),
    ("protocol", "VARCHAR"),
    ("verdict", "VARCHAR"),
    ("drop_reason", "VARCHAR"),
    ("direction", "VARCHAR"),
    ("l7_protocol", "VARCHAR"),
    ("l7_method", "VARCHAR"),
    ("l7_path", "VARCHAR"),
    ("l7_status", "INTEGER"),
    ("mtls", "BOOLEAN"),
    ("reporter", "VARCHAR"),
)
RECORD_COLUMNS: Final = (
    ("time", "TIMESTAMP"),
    *((f"src_{name}", kind) for name, kind in _PEER),
    *((f"dst_{name}", kind) for name, kind in _PEER),
    *_AFTER_PEERS,
    ("count", "BIGINT"),
)
"""One staged record, in :class:`FlowRecord` order."""
STAGE_COLUMNS: Final = (*RECORD_COLUMNS, ("file_no", "INTEGER"), ("kind", "VARCHAR"))
"""Staged rows: a record, the file it came from, and ``flow`` (or, transiently while the
Hubble SQL path classifies lines, ``skip`` / ``lost`` / ``bad``)."""
FLOW_COLUMNS: Final = (
    ("batch_id", "INTEGER"),
    ("time", "TIMESTAMP"),
    ("last_time", "TIMESTAMP"),
    *RECORD_COLUMNS[1:-1],
    ("source_format", "VARCHAR"),
    ("count", "BIGINT"),
)
"""The ``flows`` table."""

_KEY: Final = (
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "direction",
    "verdict",
    "drop_reason",
    "l7_protocol",
    "l7_method",
    "l7_path",
    "l7_status",
)
"""What makes two observations the same flow (plus the peer's identity when it has no IP)."""

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
    observations: int
    """Records collapsed into those rows (sum of ``count``)."""
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
        self.con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self._create_schema(path)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _stage ({_columns_sql(STAGE_COLUMNS)})"
        )

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
            table = _arrow_table(chunk, file_no)  # noqa: F841 - read by DuckDB below
            self.con.execute("INSERT INTO _stage SELECT * FROM table")
            total += len(chunk)
        return total

    def stage_sql(
        self, sql: str, params: dict[str, object], progress: Callable[[float], None] | None
    ) -> None:
        """Run an ``INSERT INTO _stage`` statement, reporting its progress (0-1) meanwhile.

        Raises:
            duckdb.Error: when the statement fails; nothing of it is staged then.
        """
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
        self.con.execute(
            _dedup_sql(), {"batch": batch_id, "fmt": source_format, "window": _us(window)}
        )
        stored = self._flow_count() - before
        observations, first, last = self.con.execute(
            "SELECT coalesce(sum(count), 0), min(time), max(last_time) FROM flows "
            "WHERE batch_id = ?",
            [batch_id],
        ).fetchone() or (0, None, None)
        read = sum(f.records_read for f in files)
        malformed = sum(f.malformed for f in files)
        skipped = sum(f.skipped for f in files)
        self.con.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id, source_format, reporter, [f.path for f in files], _utcnow(),
                first, last, window.total_seconds(), read, stored,
                int(observations) - stored, malformed, skipped, lost_events,
            ],
        )  # fmt: skip
        self.con.executemany(
            "INSERT INTO batch_files VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [batch_id, f.path, f.size, f.mtime, f.records_read, f.malformed, f.skipped]
                for f in files
            ],
        )
        return BatchTotals(batch_id, stored, int(observations), first, last)

    def _flow_count(self) -> int:
        row = self.con.execute("SELECT count(*) FROM flows").fetchone()
        return int(row[0]) if row else 0


def _columns_sql(columns: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f'"{name}" {kind}' for name, kind in columns)


def _dedup_sql() -> str:
    """Session-window dedup: a new session starts when the gap to the previous observation
    of the same key exceeds the window; each (key, session) becomes one row."""
    who = {
        side: f"CASE WHEN {side}_ip IS NULL THEN concat_ws('/', {side}_cluster, "
        f"{side}_namespace, {side}_pod, {side}_workload, {side}_service_account) END"
        for side in ("src", "dst")
    }
    key = [*(f'"{k}"' for k in _KEY), "src_who", "dst_who"]
    partition = ", ".join(key)
    record = [name for name, _ in RECORD_COLUMNS]
    select = [
        "$batch",
        "min(time)",
        "max(time)",
        *(f'max("{n}")' if n not in _KEY else f'"{n}"' for n in record[1:-1]),
        "$fmt",
        "sum(count)",
    ]
    return f"""
    INSERT INTO flows
    SELECT {", ".join(select)}
    FROM (
        SELECT *, sum(fresh) OVER (PARTITION BY {partition} ORDER BY t
                                   ROWS UNBOUNDED PRECEDING) AS session
        FROM (
            SELECT *, CASE WHEN t - lag(t) OVER (PARTITION BY {partition} ORDER BY t)
                           <= $window THEN 0 ELSE 1 END AS fresh
            FROM (SELECT *, epoch_us(time) AS t, {who["src"]} AS src_who,
                         {who["dst"]} AS dst_who FROM _stage)
        )
    )
    GROUP BY {partition}, session
    """


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
        l7p, l7m, l7path, l7s, mtls, reporter, count, file, kind,
    ) = (column.append for column in columns)  # fmt: skip
    for r in records:
        s, d = r.src, r.dst
        time(r.time)
        sc(s.cluster), sn(s.namespace), sp(s.pod), sw(s.workload), sk(s.workload_kind)
        ssa(s.service_account), sl(s.labels or None), si(s.ip), spt(s.port), se(s.entity)
        dc(d.cluster), dn(d.namespace), dp(d.pod), dw(d.workload), dk(d.workload_kind)
        dsa(d.service_account), dl(d.labels or None), di(d.ip), dpt(d.port), de(d.entity)
        names(r.dst_names or None), svc_ns(r.dst_service_namespace)
        svc_name(r.dst_service_name), svc_port(r.dst_service_port), proto(r.protocol)
        verdict(r.verdict), drop(r.drop_reason), direction(r.direction)
        l7p(r.l7_protocol), l7m(r.l7_method), l7path(r.l7_path), l7s(r.l7_status)
        mtls(r.mtls), reporter(r.reporter), count(r.count), file(file_no), kind("flow")
    arrays = [
        pa.array(values, type=_ARROW[kind])
        for values, (_, kind) in zip(columns, STAGE_COLUMNS, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=[name for name, _ in STAGE_COLUMNS])
