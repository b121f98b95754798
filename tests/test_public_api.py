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
            "analyze",
            "build_graph",
            "check",
            "compile",
            "compile_graph",
            "compile_paths",
            "compile_targets",
            "compile_yaml",
            "opened_closed",
            "flow_key",
            "graph_from_declarations",
            "parse_files",
            "compiled_yaml",
            "spark_hint",
            "read_snapshot",
            "read_objects",
            "run_lab",
            "lab_target_names",
            "check_compiled",
            "check_files",
            "audit_signature_breaks",
            "audit_state_breaks",
            "export_backstage",
            "import_otterize",
            "import_backstage",
            "codeowners",
            "git_trees",
            "directory_tree",
            "diff",
            "verify_target_names",
            "verify_expiry_days",
            "compile_target_names",
            "compile_note",
            "compile_files",
            "declaration_files",
            "discover_drafts",
            "drift",
            "ingest",
            "json_schema",
            "load",
            "verify_audit_log",
            "verify_policies",
            "write_drafts",
            "graph_from_text",
            "load_graph",
            "query",
            "read_workloads",
        ]
    )


def test_every_export_exists() -> None:
    for name in trustmap.__all__:
        assert getattr(trustmap, name) is not None


def test_the_stages_are_the_api_modules_functions() -> None:
    import trustmap.api

    assert set(trustmap.api.__all__) <= set(trustmap.__all__)
    for name in trustmap.api.__all__:
        assert getattr(trustmap, name) is getattr(trustmap.api, name)


def test_a_stage_function_is_not_shadowed_by_a_package_of_the_same_name() -> None:
    """Importing ``trustmap.verify`` or ``trustmap.discover`` sets those attributes of the
    package to the subpackages: that is why their stages are named otherwise."""
    import trustmap.discover
    import trustmap.verify

    assert callable(trustmap.verify_policies)
    assert callable(trustmap.discover_drafts)
    for name in trustmap.__all__:
        assert name not in {"verify", "discover"}


def test_importing_the_library_loads_no_optional_extra() -> None:
    import subprocess
    import sys

    code = (
        "import sys, trustmap, trustmap.api; trustmap.load; trustmap.ingest; "
        "print(sorted(m for m in ('duckdb', 'fastapi', 'click', 'pyspark') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
