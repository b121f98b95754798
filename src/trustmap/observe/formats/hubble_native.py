"""Hubble JSON lines through the compiled reader (``_hubblescan.c``), the fastest ingest path.

The C reader validates each line and keeps only what ingest uses, as Arrow column buffers
(:data:`LINE_COLUMNS`); two readers work on alternate blocks of a file at once (they release the
GIL). Each peer description (a ``source``/``destination`` object with its ``*_names`` and
``*_service``) is kept once as raw JSON and rows point at it by id; :func:`peer_parts` decodes
each distinct one exactly as the Python parser does.

Like the DuckDB path it is optimistic: it vouches only for lines it understands completely
(valid ASCII JSON, expected types at every field it reads, strict RFC 3339 ``Z`` times). When it
refuses a line (:class:`Refused`), the caller forgets what it staged of that file and hands the
file to the Python parser, which reports bad lines with numbers. The
mapping from these columns to flows is SQL in :func:`hubble_sql.native_stage_sql`; tests check
that all three readers store the same rows. Without a C compiler at install time the module is
missing and ingest uses the DuckDB reader (:data:`AVAILABLE`).
"""

from __future__ import annotations

import gzip
import queue
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import pyarrow as pa

from trustmap.errors import InputError
from trustmap.observe.formats.base import Bad, as_dict, as_str, as_strs, open_flow_file
from trustmap.observe.formats.hubble import endpoint_peer
from trustmap.observe.record import Peer
from trustmap.observe.schema import LIST_SEP

try:
    from trustmap.observe.formats._hubblescan import Scanner

    AVAILABLE = True
    """Whether the compiled reader was built."""
except ImportError:  # built without a C compiler: the DuckDB reader takes over
    AVAILABLE = False

__all__ = [
    "AVAILABLE",
    "BLOCK_BYTES",
    "DIRECTIONS",
    "L7_PROTOCOLS",
    "LINE_COLUMNS",
    "PROTOCOLS",
    "Block",
    "PeerParts",
    "Readers",
    "Refused",
    "peer_parts",
    "read_blocks",
]

BLOCK_BYTES: Final = 8 << 20
"""Bytes of whole lines handed to one reader at a time."""

PROTOCOLS: Final = (None, "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6", "VRRP", "IGMP")
"""``proto`` code → protocol: the first of ``l4``'s members present, as in :mod:`hubble_sql`."""
DIRECTIONS: Final = ("unknown", "request", "reply")
"""``direction`` code → direction (L7 type, then ``is_reply``/``reply``, then SYN/ACK)."""
L7_PROTOCOLS: Final = (None, "http", "dns", "kafka")
"""``l7`` code → L7 protocol."""

_STRINGS: Final = ("src_ip", "dst_ip", "verdict", "drop_desc", "reporter", "l7_method", "l7_path")
_NUMBERS: Final = (
    ("t", pa.int64()),
    ("last", pa.int64()),
    ("drop_reason", pa.int64()),
    ("l7_status", pa.int64()),
    ("count", pa.int64()),
    ("records", pa.int64()),
    ("sport", pa.int32()),
    ("dport", pa.int32()),
    ("src", pa.int32()),
    ("dst", pa.int32()),
    ("proto", pa.int8()),
    ("direction", pa.int8()),
    ("l7", pa.int8()),
)
LINE_COLUMNS: Final = (*((name, pa.string()) for name in _STRINGS), *_NUMBERS)
"""Columns of the flows of a block as the reader returns them, lines with the same values (and
window bucket ``t // window``) collapsed into one row: strings as printed (empty when absent),
``t``/``last`` first and last time (microseconds since the epoch), ``records`` lines,
``drop_reason`` the numeric reason (0 when absent),
``l7_status`` the HTTP code, DNS rcode or Kafka error code (``-2**63`` when absent),
``l7_method``/``l7_path`` the method (DNS: qtypes joined by ``,``; Kafka: API key) and the URL's
path as :func:`hubble.split_url` takes it (DNS: query; Kafka: topic), ``count`` the observations (a line's aggregate count, else 1), ports 0 when absent,
``src``/``dst`` peer ids (:meth:`Scanner.peers`), and the codes above."""

_SCHEMA: Final = pa.schema(list(LINE_COLUMNS))
_IDS: Final = 1 << 22
"""Peer ids each reader may hand out; reader ``r`` of generation ``g`` uses ids from
``(2g + r) * _IDS``, so no two readers of a run ever share an id."""


class Refused(Exception):
    """The reader cannot vouch for a line of the file (its number in the block is kept)."""

    def __init__(self, line: int) -> None:
        super().__init__(f"the compiled reader refused a line (line {line} of its block)")
        self.line = line


@dataclass(frozen=True, slots=True)
class Block:
    """What one block of lines held."""

    rows: int
    """Rows of ``batch``: the block's flow lines, collapsed."""
    flows: int
    skipped: int
    lost_lines: int
    lost_events: int
    anonymous: int
    batch: pa.RecordBatch
    peers: list[tuple[int, bytes, bytes, bytes]]
    """Peers first seen in this block: (id, endpoint JSON, names JSON, service JSON)."""
    end: int
    """Bytes of the file read so far."""


class Readers:
    """The two compiled readers of a run. Peers they intern stay known from file to file; after
    a refusal (:meth:`renew`) a new pair starts with ids no reader used before."""

    def __init__(self) -> None:
        self.generation = -1
        self.pair: tuple[Scanner, Scanner] | None = None
        self.renew()

    def renew(self) -> bool:
        """A fresh pair of readers; ``False`` (and no readers) when the ids are used up."""
        self.generation += 1
        first = 2 * self.generation * _IDS
        if not AVAILABLE or first + 2 * _IDS > 2**31 - 1:
            self.pair = None
            return False
        self.pair = (Scanner(first, _IDS), Scanner(first + _IDS, _IDS))
        return True


def read_blocks(
    path: Path,
    readers: Readers,
    pool: ThreadPoolExecutor,
    window_us: int,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Block]:
    """The blocks of ``path`` (plain or gzip) in order, read by both readers at once; lines of a
    block are collapsed by ``window_us`` buckets.

    Raises:
        Refused: at the first line a reader cannot vouch for.
        InputError: when the file cannot be opened or breaks mid-way.
    """
    if readers.pair is None:
        raise Refused(0)
    free: queue.SimpleQueue[Scanner] = queue.SimpleQueue()
    for reader in readers.pair:
        free.put(reader)
    pending: deque[tuple[Future[_Scanned], int]] = deque()
    stream, raw = open_flow_file(path)
    with stream, raw:
        for block, end in _whole_lines(stream, raw):
            if len(pending) == _IN_FLIGHT:
                yield _finish(*pending.popleft())
            pending.append((pool.submit(_scan, free, block, window_us), end))
            if progress is not None:
                progress(end)
        while pending:
            yield _finish(*pending.popleft())


_Scanned = tuple[Any, list[tuple[int, bytes, bytes, bytes]]]
"""What a reader returned for a block, and the peers it met first there."""
_IN_FLIGHT: Final = 4
"""Blocks handed to the readers before the oldest is waited for (more than the two readers, so
neither waits while the main thread reads the next block)."""


def _scan(free: queue.SimpleQueue[Scanner], block: memoryview, window_us: int) -> _Scanned:
    """Read ``block`` with whichever reader is free (a reader reads one block at a time)."""
    reader = free.get()
    try:
        result = reader.scan(block, window_us)
        return result, [] if isinstance(result, int) else reader.peers()
    finally:
        free.put(reader)


_BUFFERS: Final = _IN_FLIGHT + 2
"""Blocks alive at once: those handed to the readers, the one being finished, one being filled."""


def _whole_lines(stream: Any, raw: Any) -> Iterator[tuple[memoryview, int]]:
    """Blocks of about :data:`BLOCK_BYTES` ending at a line break (the last may not), with
    the position reached in the file on disk. Blocks are views of a few reused buffers: a
    block's buffer is filled again :data:`_BUFFERS` blocks later, after its reader is done
    (:func:`read_blocks` keeps at most :data:`_IN_FLIGHT` blocks in flight)."""
    buffers = [bytearray(BLOCK_BYTES) for _ in range(_BUFFERS)]
    carry, slot = b"", 0  # a buffer is used again only after _BUFFERS blocks were yielded
    while True:
        buffer = buffers[slot]
        size = len(carry)
        if size * 2 > len(buffer):  # a line longer than half a block: make room
            buffer = buffers[slot] = bytearray(size * 2)
        view = memoryview(buffer)
        view[:size] = carry
        filled = size
        try:
            while filled < len(buffer) and (got := stream.readinto(view[filled:])):
                filled += got
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise InputError(f"cannot read {getattr(raw, 'name', 'the file')}: {err}") from err
        if filled == size:
            break
        cut = buffer.rfind(b"\n", size, filled) + 1
        if cut == 0 and filled == len(buffer):  # no line break yet: keep reading
            carry = bytes(view[:filled])
            continue
        if cut == 0:
            cut = filled
        carry = bytes(view[cut:filled])
        yield view[:cut], raw.tell()
        slot = (slot + 1) % _BUFFERS
    if carry:
        yield memoryview(carry), raw.tell()


def _finish(future: Future[_Scanned], end: int) -> Block:
    result, peers = future.result()
    if isinstance(result, int):
        raise Refused(result)
    rows, flows, skipped, lost_lines, lost_events, anonymous, _blank, strings, numbers = result
    arrays = [
        pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
        for offsets, data in strings
    ]
    arrays += [
        pa.Array.from_buffers(kind, rows, [None, pa.py_buffer(values)])
        for values, (_, kind) in zip(numbers, _NUMBERS, strict=True)
    ]
    batch = pa.RecordBatch.from_arrays(arrays, schema=_SCHEMA)
    return Block(rows, flows, skipped, lost_lines, lost_events, anonymous, batch, peers, end)


@dataclass(frozen=True, slots=True)
class PeerParts:
    """A peer as the Python parser reads it: the endpoint and, when it is the server side, its
    DNS names (joined by :data:`LIST_SEP`) and Service."""

    peer: Peer
    names: str | None
    service_namespace: str | None
    service_name: str | None


def peer_parts(endpoint: bytes, names: bytes, service: bytes) -> PeerParts | None:
    """Decode one interned peer's raw JSON parts exactly as :mod:`hubble` does; ``None`` when a
    part has a value the Python parser would report (the file then goes to it)."""
    try:
        ep = orjson.loads(endpoint) if endpoint else {}
        svc = orjson.loads(service) if service else {}
        dns = as_strs(orjson.loads(names) if names else None, "flow.destination_names")
        service_fields = as_dict(svc, "flow.destination_service")
        return PeerParts(
            endpoint_peer(as_dict(ep, "flow.source"), "source"),
            LIST_SEP.join(dns) or None,
            as_str(service_fields.get("namespace"), "namespace"),
            as_str(service_fields.get("name"), "name"),
        )
    except (orjson.JSONDecodeError, Bad):
        return None
