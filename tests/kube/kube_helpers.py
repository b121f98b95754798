"""Helpers for the trustmap.kube tests: writing manifests to a folder and the shared apps."""

from __future__ import annotations

import textwrap
from pathlib import Path

from trustmap.diagnostics import Diagnostic
from trustmap.kube import KubeSet, load_kube

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / ".." / "shared" / "apps"


def write(folder: Path, name: str, text: str) -> Path:
    """Write dedented ``text`` to ``folder/name`` (parents created) and return the path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_text(folder: Path, text: str, name: str = "m.yaml") -> tuple[KubeSet, list[Diagnostic]]:
    """Load one manifest file holding ``text``."""
    return load_kube([write(folder, name, text)])


def located(diagnostics: list[Diagnostic]) -> list[tuple[str, int, int]]:
    """``(code, line, col)`` of each diagnostic."""
    return [
        (d.code, d.span.line if d.span else 0, d.span.col if d.span else 0) for d in diagnostics
    ]
