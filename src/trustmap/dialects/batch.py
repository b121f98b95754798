"""Compile one graph for several targets at once, on every core.

CI, ``make demo`` and the benchmark build every target from the same graph. The work is CPU-bound
Python, so on a multi-core machine it is split between forked workers (which share the
already-built graph copy-on-write, with nothing to pickle on the way in). The split is by
namespace, not by target: each worker writes every target (the text path,
:meth:`~trustmap.dialects.base.Compiler.write`) for a contiguous slice of the namespaces, so what
the targets share (grants, provenance annotations, label selectors) is still computed once, and
the slices are concatenated in namespace order: the same documents and findings as compiling in
one process. Targets that cannot be sliced (admission: one policy for every namespace) are
written by this process while the workers run. Where ``fork`` is not available, or one process
is asked for, the targets are written one after another in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from trustmap.bulk import building, collector_off, shared_with_forks
from trustmap.diagnostics import sort_diagnostics
from trustmap.dialects.base import Rendered, derived
from trustmap.dialects.pods import Workloads
from trustmap.dialects.registry import compiler_for, render_graph
from trustmap.model import Graph

__all__ = ["Rendered", "compile_targets", "slices"]


_GRAPH: list[tuple[Graph, str | None, Workloads | None]] = []


def compile_targets(
    graph: Graph,
    targets: Sequence[str],
    environment: str | None = None,
    processes: int | None = None,
    workloads: Workloads | None = None,
) -> list[Rendered]:
    """Compile and write ``graph`` for each of ``targets``, in that order.

    Args:
        graph: a checked graph.
        targets: names from :data:`trustmap.dialects.TARGETS`.
        environment: rollout environment, as for :func:`trustmap.dialects.compile_graph`.
        processes: worker processes (default: one per core).
        workloads: probes and container ports per declared service, as for
            :func:`trustmap.dialects.compile_graph`.

    Raises:
        UsageError: unknown target or environment (checked before any work starts).
    """
    classes = {t: compiler_for(graph, t, environment) for t in targets}  # fails before any work
    split = [t for t in dict.fromkeys(targets) if classes[t].SPLITS]
    count = min(processes or os.cpu_count() or 1, len(graph.services))
    if count <= 1 or not split or "fork" not in multiprocessing.get_all_start_methods():
        return [render_graph(graph, t, environment, workloads) for t in targets]
    with building():
        derived(graph).prepare()  # built once here, shared copy-on-write by every worker
    parts = slices(graph, count)
    _GRAPH[:] = [(graph, environment, workloads)]
    try:
        context = multiprocessing.get_context("fork")
        with (
            shared_with_forks(),
            ProcessPoolExecutor(max_workers=len(parts), mp_context=context) as pool,
        ):
            futures = [pool.submit(_in_worker, split, part) for part in parts]
            done = {
                t: render_graph(graph, t, environment, workloads) for t in targets if t not in split
            }
            pieces = [future.result() for future in futures]
    finally:
        _GRAPH.clear()
    for n, target in enumerate(split):
        mine = [piece[n] for piece in pieces]
        documents = tuple(d for part in mine for d in part.documents)
        found = sort_diagnostics(d for part in mine for d in part.diagnostics)
        done[target] = Rendered(target, documents, tuple(found))
    return [done[t] for t in targets]


def slices(graph: Graph, count: int) -> list[frozenset[str]]:
    """The namespaces of ``graph`` in at most ``count`` contiguous slices of about equal work
    (services plus the edges into and out of them)."""
    weights: dict[str, int] = {}
    for ref in graph.services:
        weights[ref.namespace] = weights.get(ref.namespace, 0) + 1
    for edge in graph.edges:
        weights[edge.target.namespace] = weights.get(edge.target.namespace, 0) + 1
        source = edge.source.ref
        if source is not None and source.namespace in weights:
            weights[source.namespace] += 1
    total = sum(weights.values())
    found: list[frozenset[str]] = []
    current: list[str] = []
    done = 0
    for namespace in sorted(weights):
        current.append(namespace)
        done += weights[namespace]
        if done * count >= total * (len(found) + 1) and len(found) < count - 1:
            found.append(frozenset(current))
            current = []
    if current:
        found.append(frozenset(current))
    return found


def _in_worker(targets: list[str], namespaces: frozenset[str]) -> list[Rendered]:
    collector_off()  # a worker writes its slice and exits
    graph, environment, workloads = _GRAPH[0]
    found = []
    for target in targets:
        compiler = compiler_for(graph, target, environment)
        found.append(compiler(graph, environment).given(workloads).write(namespaces))
    return found
