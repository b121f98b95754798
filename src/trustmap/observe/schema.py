"""The flow tables' columns and the collapse (dedup) query, as plain data and SQL text.

Shared by :mod:`trustmap.observe.store` (which runs it) and the Hubble SQL path (which collapses
each file as DuckDB reads it). ``docs/observe.md`` documents every column.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "FLOW_COLUMNS",
    "KEY",
    "LIST_COLUMNS",
    "LIST_SEP",
    "RECORD_COLUMNS",
    "STAGE_COLUMNS",
    "collapse_sql",
]

LIST_SEP: Final = "\x1f"
"""Staged list columns are strings joined by this (unit separator): grouping and ``max()`` on
strings is several times cheaper in DuckDB than on lists."""

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
"""One record, in :class:`~trustmap.observe.record.FlowRecord` order."""

LIST_COLUMNS: Final = ("src_labels", "dst_labels", "dst_names")

STAGE_COLUMNS: Final = (
    *((name, "VARCHAR" if name in LIST_COLUMNS else kind) for name, kind in RECORD_COLUMNS),
    ("last_time", "TIMESTAMP"),
    ("records", "BIGINT"),
    ("file_no", "INTEGER"),
    ("kind", "VARCHAR"),
    ("src_labels_raw", "VARCHAR"),
    ("dst_labels_raw", "VARCHAR"),
)
"""Staged rows: a (possibly already collapsed) record with list columns joined by
:data:`LIST_SEP`; the last observation; how many input records it stands for; the file; the
kind (``flow``, or transiently ``skip`` / ``lost`` / ``bad`` on the Hubble SQL path); and the
peers' raw Cilium labels, which the Hubble SQL path leaves for the store to split once per
distinct list."""

FLOW_COLUMNS: Final = (
    ("batch_id", "INTEGER"),
    ("time", "TIMESTAMP"),
    ("last_time", "TIMESTAMP"),
    *RECORD_COLUMNS[1:-1],
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

_SUMMED: Final = ("count", "records")


def collapse_sql(source: str, *, by_kind: bool = False) -> str:
    """``SELECT`` collapsing staged-shape rows of ``source`` into one row per flow key, peer
    identity (when the peer has no IP) and window bucket ``epoch_us(time) // $window``.

    Buckets make this a hash aggregation (no sort), fast on tens of millions of rows; two
    observations of one flow that straddle a bucket boundary stay two rows. ``by_kind`` also
    groups by ``kind`` (the Hubble SQL path, before bad lines are ruled out).
    """
    who = [
        f"CASE WHEN {side}_ip IS NULL THEN concat_ws('/', {side}_cluster, {side}_namespace, "
        f"{side}_pod, {side}_workload, {side}_service_account) END"
        for side in ("src", "dst")
    ]
    group = [*(f'"{k}"' for k in KEY), *who, "epoch_us(time) // $window"]
    if by_kind:
        group.append("kind")
    select = []
    for name, _ in STAGE_COLUMNS:
        if name in KEY or (by_kind and name == "kind"):
            select.append(f'"{name}"')
        elif name in _SUMMED:
            select.append(f'sum("{name}") AS "{name}"')
        elif name == "time":
            select.append('min("time") AS "time"')
        else:
            select.append(f'max("{name}") AS "{name}"')
    return f"SELECT {', '.join(select)} FROM {source} GROUP BY {', '.join(group)}"
