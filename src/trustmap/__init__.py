"""trustmap: declare who may call whom, check it, compile it, prove it, compare it with traffic.

The library is the product; the ``trustmap`` command and the registry server call these functions
(one per stage, :mod:`trustmap.api`; ``docs/api.md`` shows each with a tested example)::

    import datetime as dt
    import trustmap

    graph = trustmap.load(["examples/online-boutique"], dt.date(2026, 11, 23))
    for problem in graph.diagnostics:
        print(problem)
    print(trustmap.query.callers(graph, trustmap.ServiceRef("default", "cartservice")))
    policies = trustmap.compile(graph, "kubernetes", environment="prod")

    workloads, problems = trustmap.read_workloads(graph, ["examples/online-boutique/manifests"])
    linkerd = trustmap.compile(graph, "linkerd", "prod", workloads)  # probes authorised
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from trustmap.version import __version__

if TYPE_CHECKING:
    from trustmap import query
    from trustmap.api import (
        analyze,
        audit_signature_breaks,
        audit_state_breaks,
        check,
        check_compiled,
        check_files,
        codeowners,
        compile,
        compile_files,
        compile_note,
        compile_target_names,
        compile_yaml,
        compiled_yaml,
        declaration_files,
        diff,
        directory_tree,
        discover_drafts,
        drift,
        export_backstage,
        flow_key,
        git_trees,
        graph_from_declarations,
        import_backstage,
        import_otterize,
        ingest,
        json_schema,
        lab_target_names,
        load,
        opened_closed,
        parse_files,
        read_objects,
        read_snapshot,
        read_workloads,
        run_lab,
        spark_hint,
        verify_audit_log,
        verify_expiry_days,
        verify_policies,
        verify_target_names,
        write_drafts,
    )
    from trustmap.diagnostics import Diagnostic, Severity, Span
    from trustmap.dialects import compile_graph, compile_paths, compile_targets
    from trustmap.errors import InputError, TrustmapError, UsageError
    from trustmap.graph import build_graph, graph_from_text, load_graph
    from trustmap.model import Edge, Graph, Interface, Organization, Service, ServiceRef, Team

# Public names outside trustmap.api → the module that defines them; every other name of __all__
# is one of trustmap.api's stage functions. Imported on first use, so that `import trustmap` (and
# every command's start-up) stays cheap.
_EXPORTS = {
    "query": "trustmap.query",
    "Diagnostic": "trustmap.diagnostics",
    "Severity": "trustmap.diagnostics",
    "Span": "trustmap.diagnostics",
    "InputError": "trustmap.errors",
    "TrustmapError": "trustmap.errors",
    "UsageError": "trustmap.errors",
    "compile_graph": "trustmap.dialects",
    "compile_paths": "trustmap.dialects",
    "compile_targets": "trustmap.dialects",
    "build_graph": "trustmap.graph",
    "graph_from_text": "trustmap.graph",
    "load_graph": "trustmap.graph",
    "Edge": "trustmap.model",
    "Graph": "trustmap.model",
    "Interface": "trustmap.model",
    "Organization": "trustmap.model",
    "Service": "trustmap.model",
    "ServiceRef": "trustmap.model",
    "Team": "trustmap.model",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name, "trustmap.api" if name in __all__ else None)
    if module is None:
        raise AttributeError(f"module 'trustmap' has no attribute '{name}'")
    if name == "query":
        return importlib.import_module(module)
    return getattr(importlib.import_module(module), name)


# The stages are trustmap.api's functions (and the query module).
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
    "analyze",
    "audit_signature_breaks",
    "audit_state_breaks",
    "build_graph",
    "check",
    "check_compiled",
    "check_files",
    "codeowners",
    "compile",
    "compile_files",
    "compile_graph",
    "compile_note",
    "compile_paths",
    "compile_target_names",
    "compile_targets",
    "compile_yaml",
    "compiled_yaml",
    "declaration_files",
    "diff",
    "directory_tree",
    "discover_drafts",
    "drift",
    "export_backstage",
    "flow_key",
    "git_trees",
    "graph_from_declarations",
    "graph_from_text",
    "import_backstage",
    "import_otterize",
    "ingest",
    "json_schema",
    "lab_target_names",
    "load",
    "load_graph",
    "opened_closed",
    "parse_files",
    "query",
    "read_objects",
    "read_snapshot",
    "read_workloads",
    "run_lab",
    "spark_hint",
    "verify_audit_log",
    "verify_expiry_days",
    "verify_policies",
    "verify_target_names",
    "write_drafts",
]
