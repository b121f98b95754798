"""Organisations written by the benchmark generator (``benchmarks/generate.py``), for the tests
that need a large, realistic folder of declarations: one import of the generator for all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def generate_organisation(root: Path, services: int, edges: int) -> Path:
    """``root``, filled with ``services`` services and ``edges`` calls (seeded, ~1% invalid)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import generate
    finally:
        sys.path.pop(0)
    generate(services, edges, root)
    return root
