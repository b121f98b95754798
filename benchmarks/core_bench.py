"""Core benchmark: load + check + effective edges + one query of each kind on a synthetic organisation.

    python benchmarks/core_bench.py --services 10000 --edges 50000

Target (issue 3): under 5 s and under 1 GiB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate
from trustmap import query as q
from trustmap.graph import build_graph
from trustmap.loader import load_paths
from trustmap.model import ServiceRef
from trustmap.schema import parse_documents


def _rss_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def run(root: Path, workers: int | None) -> dict[str, float]:
    """Time each stage; returns seconds per stage plus totals."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    loaded = load_paths([root], workers=workers)
    times["load (YAML, positions)"] = time.perf_counter() - start
    mark = time.perf_counter()
    declarations, problems = parse_documents(loaded.documents)
    times["schema (strict validation)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    graph = build_graph(declarations, dt.date(2026, 11, 23), [*loaded.diagnostics, *problems])
    times["graph (checks, effective edges)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    index = q.Index(graph)
    a, b = ServiceRef("ns-0-0", "svc-0"), ServiceRef("ns-1-1", "svc-250")
    q.callers(graph, a, index), q.callees(graph, a, index)
    q.dependents(graph, a, index), q.dependencies(graph, a, index)
    q.path(graph, a, b, index), q.exposed(graph), q.egress(graph), q.owners(graph, a)
    q.explain(graph, str(a), b)
    times["queries (one of each kind)"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    print(
        f"services {len(graph.services)}, effective edges {len(graph.edges)}, "
        f"rejected {len(graph.rejected)}, diagnostics {len(graph.diagnostics)}"
    )
    return times


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
        for label in ("cold (nothing cached)", "warm (files unchanged since the last run)"):
            print(f"{label}:")
            for stage, seconds in run(root, args.workers).items():
                print(f"  {stage:<34} {seconds:7.2f} s")
    own, children = _rss_mib()
    print(f"  peak RSS: main process {own:.0f} MiB, largest parse worker {children:.0f} MiB")


if __name__ == "__main__":
    main()
