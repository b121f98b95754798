"""Compile one graph for several targets at once, one process per core.

CI and ``make demo`` build every target from the same graph. Each target is independent and
CPU-bound Python, so on a multi-core machine forked workers (which share the already-built graph
copy-on-write, with nothing to pickle on the way in) compile and render the targets side by side
and send back only the YAML text and the diagnostics. Where ``fork`` is not available, or one
process is asked for, the targets compile one after another in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from trustmap.diagnostics import Diagnostic
from trustmap.dialects.base import CompileResult
from trustmap.dialects.emit import render_yaml
from trustmap.dialects.registry import compile_graph, compiler_for
from trustmap.model import Graph

__all__ = ["Rendered", "compile_targets"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """One target compiled and written as YAML."""

    target: str
    """Target name."""
    yaml: str
    """The multi-document YAML stream."""
    objects: int
    """How many objects it holds."""
    diagnostics: tuple[Diagnostic, ...]
    """TM3xx findings of the target."""


_GRAPH: list[tuple[Graph, str | None]] = []


def compile_targets(
    graph: Graph,
    targets: Sequence[str],
    environment: str | None = None,
    processes: int | None = None,
) -> list[Rendered]:
    """Compile and render ``graph`` for each of ``targets``, in that order.

    Args:
        graph: a checked graph.
        targets: names from :data:`trustmap.dialects.TARGETS`.
        environment: rollout environment, as for :func:`trustmap.dialects.compile_graph`.
        processes: worker processes (default: one per core, at most one per target).

    Raises:
        UsageError: unknown target or environment (checked before any work starts).
    """
    for target in targets:  # bad arguments fail here, before any work starts
        compiler_for(graph, target, environment)
    count = min(processes or os.cpu_count() or 1, len(targets))
    if count <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_render(compile_graph(graph, t, environment)) for t in targets]
    _GRAPH[:] = [(graph, environment)]
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
            return list(pool.map(_in_worker, targets))
    finally:
        _GRAPH.clear()


def _in_worker(target: str) -> Rendered:
    graph, environment = _GRAPH[0]
    return _render(compile_graph(graph, target, environment))


def _render(result: CompileResult) -> Rendered:
    text = render_yaml(result.objects)
    return Rendered(result.target, text, len(result.objects), result.diagnostics)
