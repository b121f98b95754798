"""Discovery: draft declarations from Kubernetes manifests or from observed flows.

``discover_manifests`` reads workloads, Services and ConfigMaps; ``discover_flows`` reads the flow
database of ``trustmap observe ingest``. Both return a :class:`Discovery` of drafts with their
evidence; ``render_drafts`` turns it into one YAML file per namespace and ``write_drafts``
writes them. Drafts are for a person to review: every dependency carries a ``TODO`` reason that
``trustmap validate`` flags (TM212), and team owners are a placeholder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trustmap.discover.assemble import select_namespaces
from trustmap.discover.draft import (
    PLACEHOLDER_OWNER,
    Discovery,
    DraftDependency,
    DraftInterface,
    DraftService,
    DraftTeam,
    Evidence,
    FlowStats,
    Unresolved,
)
from trustmap.discover.frommanifests import discover_manifests
from trustmap.discover.output import write_drafts
from trustmap.discover.render import render_drafts, render_evidence

__all__ = [
    "PLACEHOLDER_OWNER",
    "Discovery",
    "DraftDependency",
    "DraftInterface",
    "DraftService",
    "DraftTeam",
    "Evidence",
    "FlowStats",
    "Unresolved",
    "discover_flows",
    "discover_manifests",
    "render_drafts",
    "render_evidence",
    "select_namespaces",
    "write_drafts",
]


def discover_flows(db_path: Path, start: dt.datetime | None = None) -> Discovery:
    """Draft declarations from the flow database (needs the ``observe`` extra: DuckDB, Ibis).

    See :func:`trustmap.discover.fromflows.discover_flows`; imported here on first use so that
    discovering from manifests does not load DuckDB.
    """
    from trustmap.discover.fromflows import discover_flows as run

    return run(db_path, start)
