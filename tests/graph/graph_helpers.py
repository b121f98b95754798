"""Helpers for the graph tests: organisations written by the benchmark generator."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def generated_organisation(factory: pytest.TempPathFactory, services: int, edges: int) -> Path:
    """A folder of declarations from ``benchmarks/generate.py`` (seeded, ~1% invalid)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import generate
    finally:
        sys.path.pop(0)
    root = factory.mktemp("org")
    generate(services, edges, root)
    return root
