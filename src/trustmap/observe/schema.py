"""The flow tables' columns and the staging shape, as plain data.

``flows`` is the public table (``docs/observe.md`` documents every column). Before a batch is
written, records are *staged* in a narrow temporary table: the flow key and counters per row,
and each peer as a 64-bit hash of its description (:data:`ENDPOINT_COLUMNS`), whose description
is staged once as an ``endpoint`` row. A capture names the same few thousand pods millions of
times; hashing them keeps the staged rows small, so tens of millions of records collapse in
memory, and the descriptions are derived (Cilium labels split) once per distinct peer.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ENDPOINT_COLUMNS",
    "FLOW_COLUMNS",
    "KEY",
    "LIST_SEP",
    "PEER_COLUMNS",
    "RECORD_COLUMNS",
    "STAGE_COLUMNS",
    "endpoint_hash",
    "endpoint_rank",
]

LIST_SEP: Final = "\x1f"
"""Staged list values (labels, DNS names) are strings joined by this (unit separator)."""

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
PEER_COLUMNS: Final = tuple(name for name, _ in _PEER)
"""Per-side columns of ``flows`` (``src_<name>``, ``dst_<name>``)."""

_OBSERVATION: Final = (
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
"""What was seen of one flow, besides its peers and time: in ``flows``, staged rows and records."""

FLOW_COLUMNS: Final = (
    ("batch_id", "INTEGER"),
    ("time", "TIMESTAMP"),
    ("last_time", "TIMESTAMP"),
    *((f"src_{name}", kind) for name, kind in _PEER),
    *((f"dst_{name}", kind) for name, kind in _PEER),
    ("dst_names", "VARCHAR[]"),
    ("dst_service_namespace", "VARCHAR"),
    ("dst_service_name", "VARCHAR"),
    ("dst_service_port", "INTEGER"),
    *_OBSERVATION,
    ("source_format", "VARCHAR"),
    ("count", "BIGINT"),
)
"""The ``flows`` table."""

KEY: Final = (
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

ENDPOINT_COLUMNS: Final = (
    ("cluster", "VARCHAR"),
    ("namespace", "VARCHAR"),
    ("pod", "VARCHAR"),
    ("workload", "VARCHAR"),
    ("workload_kind", "VARCHAR"),
    ("service_account", "VARCHAR"),
    ("labels", "VARCHAR"),
    ("labels_raw", "VARCHAR"),
    ("entity", "VARCHAR"),
    ("names", "VARCHAR"),
    ("service_namespace", "VARCHAR"),
    ("service_name", "VARCHAR"),
    ("service_port", "INTEGER"),
)
"""What is known of one peer, as staged: ``labels`` and ``names`` joined by :data:`LIST_SEP`
(Python parsers); ``labels_raw`` is a Cilium label list as JSON text (the Hubble SQL path),
split once per distinct list when the batch is written. The ``names`` and ``service_*`` of the
server side become ``dst_names`` and ``dst_service_*``."""

RECORD_COLUMNS: Final = (
    ("time", "TIMESTAMP"),
    ("src_ip", "VARCHAR"),
    ("src_port", "INTEGER"),
    ("dst_ip", "VARCHAR"),
    ("dst_port", "INTEGER"),
    *_OBSERVATION,
    ("count", "BIGINT"),
)
"""One parsed record without its peers' descriptions (:data:`ENDPOINT_COLUMNS` per side)."""

STAGE_COLUMNS: Final = (
    ("part", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("file_no", "INTEGER"),
    ("time", "TIMESTAMP"),
    ("last_time", "TIMESTAMP"),
    *RECORD_COLUMNS[1:],
    ("records", "BIGINT"),
    ("anonymous", "BIGINT"),
    ("src_pick", "HUGEINT"),
    ("dst_pick", "HUGEINT"),
    ("ep", "UBIGINT"),
    *((f"ep_{name}", kind) for name, kind in ENDPOINT_COLUMNS),
)
"""Staged rows, by ``part``:

* ``flow``: a (possibly already collapsed) record, oriented client → server, with its peers as
  :func:`endpoint_rank` values (``src_pick``, ``dst_pick``: the most complete description
  seen, and its hash); ``records`` input records it stands for, ``count`` observations.
* ``endpoint``: ``ep`` and the ``ep_*`` description it hashes (:func:`endpoint_hash`).
* ``count``: how many lines of one file (``file_no``) were of each ``kind`` (``flow``,
  ``skip``, ``lost``, ``bad``) on the Hubble SQL path, which reads many files at once, and how
  many flows had no address on a side (``anonymous``).
"""


_RANK_BASE: Final = "CAST(18446744073709551616 AS HUGEINT)"
"""2**64: a rank is ``known fields * 2**64 + hash``."""

_KNOWN: Final = tuple(name for name, _ in ENDPOINT_COLUMNS if name != "service_port")


def endpoint_rank(prefix: str, hashed: str) -> str:
    """SQL ranking a peer description (columns ``<prefix><name>``) whose hash is ``hashed``:
    descriptions with more known fields rank higher, then by hash; ``max()`` of ranks picks the
    most complete description seen, the same one whatever the order of the records."""
    known = " + ".join(f"CAST({prefix}{name} IS NOT NULL AS INTEGER)" for name in _KNOWN)
    return f"CAST({known} AS HUGEINT) * {_RANK_BASE} + {hashed}"


def endpoint_hash(prefix: str) -> str:
    """SQL hashing a peer description held in columns ``<prefix><name>`` of
    :data:`ENDPOINT_COLUMNS` (DuckDB's 64-bit ``hash``, the same on every path)."""
    return f"hash({', '.join(f'{prefix}{name}' for name, _ in ENDPOINT_COLUMNS)})"
