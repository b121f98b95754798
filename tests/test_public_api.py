"""The public surface is small and pinned: changing it is a deliberate act."""

from __future__ import annotations

import trustmap


def test_public_exports_are_pinned() -> None:
    assert sorted(trustmap.__all__) == sorted(
        [
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
            "compile_graph",
            "compile_paths",
            "compile_targets",
            "graph_from_text",
            "load_graph",
            "query",
            "read_workloads",
        ]
    )


def test_every_export_exists() -> None:
    for name in trustmap.__all__:
        assert getattr(trustmap, name) is not None
