"""Small inline-manifest helpers for the analysis unit tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from trustmap.analysis import Connectivity, analyze, connlist_lines, load_manifests
from trustmap.diagnostics import Diagnostic


def deployment(name: str, labels: str, namespace: str = "default", ports: str = "") -> str:
    """A Deployment manifest; ``labels`` like ``app: web``, ``ports`` container port entries."""
    label_block = textwrap.indent(labels.strip(), " " * 8)
    port_block = ""
    if ports.strip():
        port_block = "        ports:\n" + textwrap.indent(ports.strip(), " " * 8) + "\n"
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n"
        f"  namespace: {namespace}\nspec:\n  template:\n    metadata:\n      labels:\n"
        f"{label_block}\n    spec:\n      containers:\n      - name: c\n        image: i\n"
        f"{port_block}"
    )


def write(tmp_path: Path, *documents: str) -> Path:
    """Write documents into one multi-document file and return the folder."""
    text = "\n---\n".join(textwrap.dedent(d).strip() for d in documents) + "\n"
    (tmp_path / "manifests.yaml").write_text(text)
    return tmp_path


def run(tmp_path: Path, *documents: str) -> tuple[Connectivity, list[Diagnostic]]:
    """Load and analyse inline documents."""
    cluster, diagnostics = load_manifests([write(tmp_path, *documents)])
    return analyze(cluster), diagnostics


def lines(tmp_path: Path, *documents: str) -> list[str]:
    """The connlist lines of inline documents (asserting they load without errors)."""
    conn, diagnostics = run(tmp_path, *documents)
    assert not [d for d in diagnostics if d.severity.value == "error"], diagnostics
    return connlist_lines(conn)
