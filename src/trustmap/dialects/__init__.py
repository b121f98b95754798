"""Compile the graph into enforcement: one graph, many targets, each recording what it cannot say.

    >>> result = compile_graph(graph, "cilium", environment="prod")
    >>> print(render_yaml(result.objects))

:data:`TARGETS` maps each target name to its :class:`~trustmap.dialects.base.Compiler` subclass.
:func:`compile_graph` gives the objects as dicts; :func:`render_graph` writes the same objects
straight into YAML documents (the same bytes, several times faster on large graphs).
:func:`compile_paths` (dicts) and :func:`render_paths` (documents: what the CLI writes) load, check,
compile, and say what counts as a finding (graph errors and every TM3xx). :func:`compile_targets`
writes several targets at once, :func:`render_targets` loads files once for several targets.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from trustmap.diagnostics import Diagnostic, Severity, sort_diagnostics
from trustmap.dialects.admission import Admission
from trustmap.dialects.base import Compiler, CompileResult, Rendered
from trustmap.dialects.batch import compile_targets
from trustmap.dialects.cilium import Cilium
from trustmap.dialects.emit import CLUSTER_FILE, render_files, render_yaml
from trustmap.dialects.istio import Istio
from trustmap.dialects.kubernetes import Kubernetes
from trustmap.dialects.linkerd import Linkerd
from trustmap.dialects.platforms import with_platforms
from trustmap.dialects.registry import TARGETS, compile_graph, render_graph
from trustmap.graph import load_graph
from trustmap.model import Graph

__all__ = [
    "CLUSTER_FILE",
    "TARGETS",
    "Admission",
    "Cilium",
    "Compilation",
    "CompileResult",
    "Compiler",
    "Istio",
    "Kubernetes",
    "Linkerd",
    "Rendered",
    "compile_graph",
    "compile_paths",
    "compile_targets",
    "findings",
    "render_files",
    "render_graph",
    "render_paths",
    "render_targets",
    "render_yaml",
]

R = TypeVar("R", CompileResult, Rendered)


@dataclass(frozen=True, slots=True)
class Compilation(Generic[R]):
    """A compile run from files: the graph, the result, and everything to report."""

    graph: Graph
    """The checked graph."""
    result: R
    """What was compiled: objects (:func:`compile_paths`) or documents (:func:`render_paths`)."""
    diagnostics: tuple[Diagnostic, ...]
    """Graph and compile diagnostics together, sorted."""
    findings: tuple[Diagnostic, ...]
    """What makes the run fail: graph errors and every TM3xx."""


def compile_paths(
    paths: Sequence[str | os.PathLike[str]],
    target: str,
    *,
    environment: str | None = None,
    today: dt.date | None = None,
    platforms: Mapping[str, str] | None = None,
) -> Compilation[CompileResult]:
    """Load declarations from ``paths``, check them and compile them for ``target``;
    ``platforms`` pins platform releases over the Organization's (see
    :func:`~trustmap.dialects.platforms.with_platforms`).

    Raises:
        UsageError: see :func:`compile_graph`, or an invalid platform version.
    """
    graph = with_platforms(load_graph(paths, today), platforms or {})
    return _compilation(graph, compile_graph(graph, target, environment))


def render_paths(
    paths: Sequence[str | os.PathLike[str]],
    target: str,
    *,
    environment: str | None = None,
    today: dt.date | None = None,
    platforms: Mapping[str, str] | None = None,
) -> Compilation[Rendered]:
    """As :func:`compile_paths`, written as YAML documents (:func:`render_graph`).

    Raises:
        UsageError: see :func:`compile_paths`.
    """
    graph = with_platforms(load_graph(paths, today), platforms or {})
    return _compilation(graph, render_graph(graph, target, environment))


def render_targets(
    paths: Sequence[str | os.PathLike[str]],
    targets: Sequence[str],
    *,
    environment: str | None = None,
    today: dt.date | None = None,
    platforms: Mapping[str, str] | None = None,
) -> list[Compilation[Rendered]]:
    """Load and check ``paths`` once, then write every one of ``targets`` (on all cores, see
    :func:`compile_targets`); one compilation per target, in the order given.

    Raises:
        UsageError: see :func:`compile_paths` (checked before any target is compiled).
    """
    graph = with_platforms(load_graph(paths, today), platforms or {})
    return [_compilation(graph, r) for r in compile_targets(graph, targets, environment)]


def _compilation(graph: Graph, result: R) -> Compilation[R]:
    everything = tuple(sort_diagnostics([*graph.diagnostics, *result.diagnostics]))
    return Compilation(graph, result, everything, findings(graph, result))


def findings(graph: Graph, result: CompileResult | Rendered) -> tuple[Diagnostic, ...]:
    """Graph diagnostics of severity error plus every TM3xx of ``result``, sorted."""
    errors = [d for d in graph.diagnostics if d.severity is Severity.ERROR]
    return tuple(sort_diagnostics([*errors, *result.diagnostics]))
