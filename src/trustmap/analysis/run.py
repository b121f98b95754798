"""One call for shells (CLI, server): read manifests, analyse, summarise posture, optionally focus.

:func:`analyze_paths` is what ``trustmap analyze`` calls; :func:`focus` narrows a result to the
connections of some workloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from trustmap.analysis.connectivity import Connectivity
from trustmap.analysis.load import load_manifests
from trustmap.analysis.objects import INGRESS_CONTROLLER, Cluster
from trustmap.analysis.posture import Posture, posture
from trustmap.analysis.reachability import analyze
from trustmap.diagnostics import Diagnostic
from trustmap.errors import UsageError
from trustmap.names import did_you_mean

__all__ = ["Analysis", "analyze_paths", "focus", "match_workloads"]


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything ``trustmap analyze`` reports."""

    cluster: Cluster
    connectivity: Connectivity
    posture: Posture
    diagnostics: list[Diagnostic]


def analyze_paths(paths: Sequence[Path], *, focus_on: str | None = None) -> Analysis:
    """Load manifests, analyse them and summarise the posture.

    Args:
        paths: manifest files or directories.
        focus_on: keep only connections involving this workload (see :func:`focus`).

    Raises:
        UsageError: ``focus_on`` names no workload.
    """
    cluster, diagnostics = load_manifests(paths)
    conn = analyze(cluster)
    summary = posture(cluster, conn)
    if focus_on is not None:
        conn = focus(conn, focus_on)
    return Analysis(cluster, conn, summary, diagnostics)


def match_workloads(conn: Connectivity, name: str) -> set[str]:
    """Workload ids that ``name`` designates: an id, ``namespace/name`` or a bare name."""
    if name in conn.workloads or name == INGRESS_CONTROLLER:
        return {name}
    found = set()
    for wid, w in conn.workloads.items():
        if name in (f"{w.namespace}/{w.name}", w.name):
            found.add(wid)
    return found


def focus(conn: Connectivity, name: str) -> Connectivity:
    """Only the connections from or to the workloads that ``name`` designates.

    Raises:
        UsageError: no workload matches ``name``.
    """
    chosen = match_workloads(conn, name)
    if not chosen:
        names = [w.name for w in conn.workloads.values()] + list(conn.workloads)
        raise UsageError(f"no workload {name!r} in the manifests{did_you_mean(name, names)}")
    return replace(
        conn,
        flows={k: f for k, f in conn.flows.items() if k[0] in chosen or k[1] in chosen},
        ip_flows=tuple(f for f in conn.ip_flows if f.workload in chosen),
    )
