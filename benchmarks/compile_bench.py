"""Compile benchmark: one synthetic organisation compiled to every target, written as files.

    python benchmarks/compile_bench.py --services 10000 --edges 50000

Target (issue 4): every target in under 10 s in total on a 2-core machine. Loading and checking
the graph is timed apart (that is the core benchmark's number); "write" is everything between a
checked graph and the files on disk, as ``trustmap compile --out DIR`` does it: the text path
(:func:`render_graph`), one file per namespace, written. Timed target by target in this process,
then all targets through :func:`compile_targets` (one forked worker per core) with the files
written by the parent. ``--dict-path`` also times the library's dict path (``compile_graph`` +
``render_yaml``), which gives the same bytes. CPU time includes the worker processes; the machine
is shared, so the load average is printed before and after.
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
from trustmap.dialects import (
    TARGETS,
    Rendered,
    compile_graph,
    compile_targets,
    render_graph,
    render_yaml,
)
from trustmap.dialects.base import forget
from trustmap.graph import load_graph
from trustmap.model import Graph


def cpu() -> float:
    """CPU seconds of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def write(rendered: Rendered, out: Path) -> int:
    """Write one target's files as ``trustmap compile --out`` does; return the bytes written."""
    folder = out / rendered.target
    folder.mkdir(parents=True, exist_ok=True)
    size = 0
    for name, text in rendered.files().items():
        size += (folder / name).write_text(text, encoding="utf-8")
    return size


def one_by_one(graph: Graph, environment: str | None, out: Path) -> tuple[float, float]:
    """Each target in this process: write the table rows, return (wall, CPU) in total."""
    print("\n| target | objects | TM3xx | YAML MiB | write s | CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    start, spent = time.perf_counter(), cpu()
    for target in TARGETS:
        mark, used = time.perf_counter(), cpu()
        rendered = render_graph(graph, target, environment)
        size = write(rendered, out / "one-by-one")
        print(
            f"| {target} | {rendered.objects} | {len(rendered.diagnostics)} | "
            f"{size / 2**20:.1f} | {time.perf_counter() - mark:.2f} | {cpu() - used:.2f} |"
        )
    return time.perf_counter() - start, cpu() - spent


def in_parallel(graph: Graph, environment: str | None, out: Path) -> tuple[float, float]:
    """Every target through compile_targets, files written here; return (wall, CPU)."""
    start, spent = time.perf_counter(), cpu()
    for rendered in compile_targets(graph, list(TARGETS), environment):
        write(rendered, out / "parallel")
    return time.perf_counter() - start, cpu() - spent


def dict_path(graph: Graph, environment: str | None) -> tuple[float, float]:
    """compile_graph + render_yaml for every target (no files); return (wall, CPU)."""
    start, spent = time.perf_counter(), cpu()
    for target in TARGETS:
        render_yaml(compile_graph(graph, target, environment).objects)
    return time.perf_counter() - start, cpu() - spent


def run(root: Path, environment: str | None, compare: bool) -> None:
    """Load once, then write every target one by one and in parallel; print the results."""
    start = time.perf_counter()
    graph = load_graph([root], dt.date(2026, 11, 23))
    loaded = time.perf_counter() - start
    print(
        f"graph: {len(graph.services)} services, {len(graph.edges)} effective edges, "
        f"{len(graph.external)} external; load+check {loaded:.2f} s"
    )
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:  # each run starts cold: forget() drops the caches
        wall, used = one_by_one(graph, environment, Path(tmp))
        forget()
        print(
            f"\nall targets one after another, files written: {wall:.2f} s wall, {used:.2f} s CPU"
        )
        wall, used = in_parallel(graph, environment, Path(tmp))
        forget()
        print(
            f"compile_targets on {os.cpu_count()} cores, files written: {wall:.2f} s wall, "
            f"{used:.2f} s CPU (parent + workers)"
        )
    if compare:
        wall, used = dict_path(graph, environment)
        print(
            f"dict path (compile_graph + render_yaml, no files): {wall:.2f} s wall, {used:.2f} s CPU"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"target < 10 s; peak RSS {peak:.0f} MiB; load average {before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--org", type=Path, help="use this generated organisation instead")
    parser.add_argument("--environment", help="rollout environment (e.g. staging: audit)")
    parser.add_argument(
        "--dict-path", action="store_true", help="also time compile_graph + render_yaml"
    )
    args = parser.parse_args()
    if args.org:
        run(args.org, args.environment, args.dict_path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        generate(args.services, args.edges, Path(tmp), args.seed)
        run(Path(tmp), args.environment, args.dict_path)


if __name__ == "__main__":
    main()
