"""Core benchmark: load + check + effective edges + one query of each kind on a synthetic organisation.

    python benchmarks/core_bench.py --services 10000 --edges 50000

Target (issue 3): under 5 s and under 1 GiB on a 2-core machine. The stages run exactly as
``trustmap`` commands run them (``load_graph``, then queries): files are parsed in worker
processes while the main process validates each file's documents as it arrives, the cyclic
garbage collector is paused while the graph is built, and the CLI freezes the built graph.
Wall and CPU seconds are printed per stage (CPU counts the parse workers too); on a shared
machine CPU time is the steadier number.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate
from trustmap import query as q
from trustmap.bulk import building
from trustmap.graph import build_graph, load_declarations
from trustmap.model import Graph, ServiceRef


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rss_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


class Stages:
    """Wall and CPU seconds of consecutive stages."""

    def __init__(self) -> None:
        self.times: dict[str, tuple[float, float]] = {}
        self.wall, self.cpu = time.perf_counter(), _cpu()
        self.start = (self.wall, self.cpu)

    def done(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), _cpu()
        self.times[stage] = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu

    def total(self) -> None:
        self.times["total"] = (self.wall - self.start[0], self.cpu - self.start[1])


def _queries(graph: Graph) -> None:
    index = q.Index(graph)
    a, b = ServiceRef("ns-0-0", "svc-0"), ServiceRef("ns-1-1", "svc-250")
    calls: list[Callable[[], Any]] = [
        lambda: q.callers(graph, a, index),
        lambda: q.callees(graph, a, index),
        lambda: q.dependents(graph, a, index),
        lambda: q.dependencies(graph, a, index),
        lambda: q.path(graph, a, b, index),
        lambda: q.exposed(graph),
        lambda: q.egress(graph),
        lambda: q.owners(graph, a),
        lambda: q.explain(graph, str(a), b),
    ]
    for call in calls:
        call()


def run(root: Path, workers: int | None) -> dict[str, tuple[float, float]]:
    """Time each stage; returns (wall, CPU) seconds per stage plus totals."""
    gc.collect()
    stages = Stages()
    with building():  # as load_graph does
        declarations, problems = load_declarations([root], workers=workers)
        stages.done("load + schema (YAML → validated declarations)")
        graph = build_graph(declarations, dt.date(2026, 11, 23), problems)
        stages.done("graph (every check, effective edges)")
    gc.freeze()  # as the CLI does once the graph is loaded
    _queries(graph)
    stages.done("queries (one of each kind)")
    stages.total()
    gc.unfreeze()
    print(
        f"services {len(graph.services)}, effective edges {len(graph.edges)}, "
        f"rejected {len(graph.rejected)}, diagnostics {len(graph.diagnostics)}"
    )
    return stages.times


def main() -> None:
    parser = argparse.ArgumentParser(description="core benchmark")
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=None, help="parse processes (default: auto)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "org"
        os.environ["TRUSTMAP_CACHE_DIR"] = str(Path(tmp) / "cache")  # starts empty: a cold run
        generate(args.services, args.edges, root)
        size = sum(f.stat().st_size for f in root.rglob("*.yaml")) / 1e6
        print(
            f"generated {args.services} services / {args.edges} dependencies, {size:.1f} MB of YAML"
        )
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for label in ("cold (nothing cached)", "warm (files unchanged since the last run)"):
            print(f"{label}:")
            for stage, (wall, cpu) in run(root, args.workers).items():
                print(f"  {stage:<46} {wall:6.2f} s wall {cpu:6.2f} s CPU")
    own, children = _rss_mib()
    print(f"  peak RSS: main process {own:.0f} MiB, largest parse worker {children:.0f} MiB")


if __name__ == "__main__":
    main()
