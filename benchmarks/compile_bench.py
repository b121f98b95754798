"""Compile benchmark: one synthetic organisation compiled (and rendered as YAML) for every target.

    python benchmarks/compile_bench.py --services 10000 --edges 50000

Target (issue 4): every target in under 10 s in total on a 2-core machine. Loading and checking
the graph is timed apart (that is the core benchmark's number); "compile" is compile_graph plus
render_yaml, i.e. everything between a checked graph and the bytes written; timed once target by
target in this process, then all targets through compile_targets (one forked worker per core).
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
from trustmap.dialects import TARGETS, compile_graph, compile_targets, render_yaml
from trustmap.graph import load_graph


def run(root: Path, environment: str | None) -> None:
    """Load once, then compile and render for each target; print a Markdown table."""
    start = time.perf_counter()
    graph = load_graph([root], dt.date(2026, 11, 23))
    loaded = time.perf_counter() - start
    print(
        f"graph: {len(graph.services)} services, {len(graph.edges)} effective edges, "
        f"{len(graph.external)} external; load+check {loaded:.2f} s"
    )
    print("\n| target | objects | TM3xx | YAML MiB | compile s | render s | total s | CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    total = cpu_total = 0.0
    for target in TARGETS:
        mark, cpu = time.perf_counter(), time.process_time()
        result = compile_graph(graph, target, environment)
        compiled = time.perf_counter() - mark
        text = render_yaml(result.objects)
        spent, cpu = time.perf_counter() - mark, time.process_time() - cpu
        total, cpu_total = total + spent, cpu_total + cpu
        print(
            f"| {target} | {len(result.objects)} | {len(result.diagnostics)} | "
            f"{len(text) / 2**20:.1f} | {compiled:.2f} | {spent - compiled:.2f} | "
            f"{spent:.2f} | {cpu:.2f} |"
        )
    mark = time.perf_counter()
    rendered = compile_targets(graph, list(TARGETS), environment)
    parallel = time.perf_counter() - mark
    size = sum(len(r.yaml) for r in rendered) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nall targets one after another: {total:.2f} s wall, {cpu_total:.2f} s CPU; "
        f"compile_targets on {os.cpu_count()} cores: {parallel:.2f} s wall ({size:.0f} MiB YAML); "
        f"target < 10 s; peak RSS {peak:.0f} MiB; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--org", type=Path, help="use this generated organisation instead")
    parser.add_argument("--environment", help="rollout environment (e.g. staging: audit)")
    args = parser.parse_args()
    if args.org:
        run(args.org, args.environment)
        return
    with tempfile.TemporaryDirectory() as tmp:
        generate(args.services, args.edges, Path(tmp), args.seed)
        run(Path(tmp), args.environment)


if __name__ == "__main__":
    main()
