"""Observed traffic: parse flow records of many tools into one DuckDB table, by batch (window).

``ingest`` is the entry point; drift and discovery read the ``flows`` table it writes.
"""

from __future__ import annotations

from trustmap.observe.ingest import (
    DEFAULT_DB,
    DEFAULT_WINDOW,
    FileReport,
    IngestReport,
    Progress,
    ingest,
)
from trustmap.observe.record import FlowRecord, Peer

__all__ = [
    "DEFAULT_DB",
    "DEFAULT_WINDOW",
    "FileReport",
    "FlowRecord",
    "IngestReport",
    "Peer",
    "Progress",
    "ingest",
]
