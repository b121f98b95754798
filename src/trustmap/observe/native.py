"""Staging Hubble files through the compiled reader (:mod:`formats.hubble_native`).

Two readers validate and pick apart alternate blocks of a file, collapsing each block's lines
as they go, so what reaches DuckDB is several times smaller than the capture. The rows of every
file of the run wait in memory and are collapsed by one statement
(:data:`hubble_sql.NATIVE_STAGE_SQL`) at the end, so the batch is written as it is. Beyond
:data:`FLUSH_ROWS` waiting rows a statement runs early in a background thread (reading goes on)
and the batch is collapsed once more when written. Peers are interned by the readers; each new
one is decoded (:func:`hubble_native.peer_parts`) into ``_native_peers`` and staged as an
``endpoint`` row once at the end.

A file the readers cannot vouch for raises :class:`Unvouched` and its waiting rows are dropped;
the caller reads it with the Python parser. Only the failures that are expected (:data:`_EXPECTED`)
lead there; any other exception is a bug and propagates. If some of its rows were already collapsed with
other files', everything the compiled reader staged is removed (:class:`Abandoned`) and every
file is read by the Python parser.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa

from trustmap.errors import InputError
from trustmap.observe.formats import hubble_sql
from trustmap.observe.formats.hubble_native import (
    Block,
    Readers,
    Refused,
    peer_parts,
    read_blocks,
)
from trustmap.observe.schema import ENDPOINT_COLUMNS
from trustmap.observe.store import FlowStore, OutOfMemory, StageRejected, endpoint_values

__all__ = ["FLUSH_ROWS", "Abandoned", "NativeCounts", "NativeStager", "Unvouched"]

FLUSH_ROWS: Final = 4_000_000
"""Collapsed rows that may wait in memory (about 100 bytes each) before a statement runs."""

_PEER_SCHEMA: Final = pa.schema(
    [("id", pa.int32()), ("role", pa.string())]
    + [(name, pa.int32() if kind == "INTEGER" else pa.string()) for name, kind in ENDPOINT_COLUMNS]
)


def _decoded(peers: list[tuple[int, bytes, bytes, bytes]]) -> list[tuple[object, ...]]:
    """Rows of ``_native_new_peers`` for peers the readers met: each twice, described as the
    Python parser stages it as the client (``c``: no names or Service) and as the server (``s``).

    Raises:
        Refused: when a peer has a value the Python parser would report.
    """
    rows: list[tuple[object, ...]] = []
    for peer_id, endpoint, names, service in peers:
        parts = peer_parts(endpoint, names, service)
        if parts is None:
            raise Refused(0)
        server = (parts.names, parts.service_namespace, parts.service_name, None)
        rows.append((peer_id, "c", *endpoint_values(parts.peer, None, None, None, None)))
        rows.append((peer_id, "s", *endpoint_values(parts.peer, *server)))
    return rows


_EXPECTED: Final = (Refused, InputError, StageRejected, OutOfMemory)
"""What :meth:`NativeStager.stage` handles: a line or peer the reader refuses, a file that
cannot be read, a statement DuckDB refuses or has no memory for. Anything else is a bug in the
reader or here, and surfaces instead of falling back to the Python parser unnoticed."""


class Unvouched(Exception):
    """The compiled reader cannot vouch for a file; nothing of it is staged."""


class Abandoned(Exception):
    """A file was refused after some of its rows were collapsed with others': nothing the
    compiled reader read stays staged."""


@dataclass(slots=True)
class NativeCounts:
    """Lines of one file, by kind."""

    flows: int = 0
    skipped: int = 0
    lost_lines: int = 0
    lost_events: int = 0
    anonymous: int = 0

    def add(self, block: Block) -> None:
        self.flows += block.flows
        self.skipped += block.skipped
        self.lost_lines += block.lost_lines
        self.lost_events += block.lost_events
        self.anonymous += block.anonymous


class NativeStager:
    """Stages Hubble files with the compiled reader into ``store``, all rows marked
    ``round_no``; use as a context manager and call :meth:`finish` after the last file."""

    def __init__(self, store: FlowStore, window_us: int, round_no: int) -> None:
        self.store, self.window_us, self.round = store, window_us, round_no
        self.readers = ThreadPoolExecutor(2, thread_name_prefix="hubble-reader")
        self.collapser = ThreadPoolExecutor(1, thread_name_prefix="hubble-collapse")
        self.pair = Readers()
        self.peers = 0
        self.statements = 0
        self.waiting: list[pa.RecordBatch] = []
        self.new_peers: list[tuple[object, ...]] = []
        """Peers met since the last statement, decoded (rows of ``_native_new_peers``)."""
        self.rows = 0
        self.running: Future[None] | None = None
        store.query(hubble_sql.NATIVE_PEERS_CREATE_SQL)

    def __enter__(self) -> NativeStager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.readers.shutdown(cancel_futures=True)
        self.collapser.shutdown()

    def stage(self, path: Path, progress: Callable[[int], None] | None) -> NativeCounts:
        """Read ``path``; its lines by kind.

        Raises:
            Unvouched: when a line or a peer is beyond the compiled reader.
            Abandoned: when that happens after the file's rows were partly collapsed.
            InputError: when the file cannot be read (as for Unvouched, nothing of it stays).
            OutOfMemory: when DuckDB runs out of memory.
        """
        counts, statements = NativeCounts(), self.statements
        kept, known = len(self.waiting), len(self.new_peers)
        try:
            for block in read_blocks(path, self.pair, self.readers, self.window_us, progress):
                counts.add(block)
                self.new_peers.extend(_decoded(block.peers))
                self.waiting.append(block.batch)
                self.rows += block.rows
                if self.rows >= FLUSH_ROWS:
                    self._collapse()
        except _EXPECTED as err:
            self.pair.renew()  # the refused block's peers may be half-known: start afresh
            if isinstance(err, OutOfMemory):
                raise
            if self.statements != statements or isinstance(err, StageRejected):
                self._abandon()
                raise Abandoned(str(err)) from err
            del self.waiting[kept:]
            self.rows = sum(batch.num_rows for batch in self.waiting)
            del self.new_peers[known:]
            if isinstance(err, Refused):
                raise Unvouched(str(err)) from err
            raise
        return counts

    def finish(self) -> int:
        """Collapse what waits and stage every peer the readers met; the statements that
        staged flows.

        Raises:
            Abandoned: when DuckDB refuses the rows (nothing the reader read stays staged).
        """
        try:
            self._collapse()
            self._wait()
        except StageRejected as err:
            self._abandon()
            raise Abandoned(str(err)) from err
        if self.peers:
            self.store.stage_arrow(hubble_sql.NATIVE_ENDPOINTS_SQL, {}, {"round": self.round})
        return self.statements

    def _add_peers(self) -> None:
        """Add the peers met since the last statement to ``_native_peers``."""
        if self.new_peers:
            columns = [list(column) for column in zip(*self.new_peers, strict=True)]
            table = pa.Table.from_arrays(
                [pa.array(c, type=f.type) for c, f in zip(columns, _PEER_SCHEMA, strict=True)],
                schema=_PEER_SCHEMA,
            )
            self.store.stage_arrow(hubble_sql.NATIVE_PEERS_SQL, {"_native_new_peers": table}, {})
            self.peers += len(self.new_peers) // 2
            self.new_peers = []

    def _collapse(self) -> None:
        """Collapse the waiting rows in the background (after the statement before)."""
        self._wait()
        if not self.waiting:
            return
        self._add_peers()
        lines = pa.Table.from_batches(self.waiting)
        self.waiting, self.rows = [], 0
        params: dict[str, object] = {"round": self.round, "window": self.window_us}
        tables = {"_native_lines": lines}
        self.statements += 1
        self.running = self.collapser.submit(
            self.store.stage_arrow, hubble_sql.NATIVE_STAGE_SQL, tables, params
        )

    def _wait(self) -> None:
        running, self.running = self.running, None
        if running is not None:
            running.result()

    def _abandon(self) -> None:
        if self.running is not None:
            self.running.exception()  # let it end; what it staged is removed next
        self.running = None
        self.waiting, self.rows, self.statements = [], 0, 0
        self.store.unstage(hubble_sql.NATIVE_UNSTAGE_SQL, {"round": self.round})
