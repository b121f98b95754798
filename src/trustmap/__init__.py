"""trustmap: declare who may call whom, check it, compile it, prove it, compare it with traffic.

The library is the product; the ``trustmap`` command and the registry server call these functions::

    import datetime as dt
    import trustmap

    graph = trustmap.load_graph(["examples/online-boutique"], dt.date(2026, 11, 23))
    for problem in graph.diagnostics:
        print(problem)
    print(trustmap.query.callers(graph, trustmap.ServiceRef("default", "cartservice")))
"""

from __future__ import annotations

__version__ = "0.1.0"

from trustmap import query
from trustmap.diagnostics import Diagnostic, Severity, Span
from trustmap.errors import InputError, TrustmapError, UsageError
from trustmap.graph import build_graph, graph_from_text, load_graph
from trustmap.model import Edge, Graph, Interface, Organization, Service, ServiceRef, Team

__all__ = [
    "Diagnostic",
    "Edge",
    "Graph",
    "InputError",
    "Interface",
    "Organization",
    "Service",
    "ServiceRef",
    "Severity",
    "Span",
    "Team",
    "TrustmapError",
    "UsageError",
    "__version__",
    "build_graph",
    "graph_from_text",
    "load_graph",
    "query",
]
