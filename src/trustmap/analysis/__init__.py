"""NetworkPolicy semantics: which workloads may connect to which, and to what outside addresses.

``load_manifests`` reads Kubernetes manifests into a :class:`Cluster`, ``analyze`` computes the
allowed :class:`Connectivity` (np-guard semantics, see ``shared/cases/netpol/README.md``),
``connlist_lines`` says it as np-guard's connlist, ``posture`` summarises isolation gaps;
:mod:`trustmap.report.analysis` renders them.
"""

from __future__ import annotations

from trustmap.analysis.connectivity import Connectivity, Direction, Flow, IPFlow
from trustmap.analysis.connlist import ConnRow, connlist_lines, connlist_rows
from trustmap.analysis.load import load_manifests
from trustmap.analysis.objects import INGRESS_CONTROLLER, Cluster, NetpolPolicy, Workload
from trustmap.analysis.ports import ALL_CONNS, NO_CONNS, ConnSet
from trustmap.analysis.posture import NamespacePosture, NetpolExposure, Posture, posture
from trustmap.analysis.reachability import analyze
from trustmap.analysis.run import Analysis, analyze_paths, focus, match_workloads

__all__ = [
    "ALL_CONNS",
    "INGRESS_CONTROLLER",
    "NO_CONNS",
    "Analysis",
    "Cluster",
    "ConnRow",
    "ConnSet",
    "Connectivity",
    "Direction",
    "Flow",
    "IPFlow",
    "NamespacePosture",
    "NetpolExposure",
    "NetpolPolicy",
    "Posture",
    "Workload",
    "analyze",
    "analyze_paths",
    "connlist_lines",
    "connlist_rows",
    "focus",
    "load_manifests",
    "match_workloads",
    "posture",
]
