"""Compile the graph into enforcement: one graph, many targets, each recording what it cannot say.

    >>> result = compile_graph(graph, "cilium", environment="prod")
    >>> print(render_yaml(result.objects))

:data:`TARGETS` maps each target name to its :class:`~trustmap.dialects.base.Compiler` subclass.
:func:`compile_graph` gives the objects as dicts; :func:`render_graph` writes the same objects
straight into YAML documents (the same bytes, several times faster on large graphs).
:func:`compile_paths` (dicts) and :func:`render_paths` (documents: what the CLI writes) load, check,
compile, and say what counts as a finding (graph errors and every TM3xx). :func:`compile_targets`
writes several targets at once, :func:`render_targets` loads files once for several targets.
With ``manifests=[...]`` they also read the workloads' manifests (:func:`read_workloads`), so
targets authorise the kubelet probes of every declared workload.
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
from trustmap.dialects.pods import Pods, Probe, Workloads
from trustmap.dialects.registry import TARGETS, compile_graph, render_graph
from trustmap.dialects.workloads import map_workloads, read_workloads
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
    "Pods",
    "Probe",
    "Rendered",
    "Workloads",
    "compile_graph",
    "compile_paths",
    "compile_targets",
    "findings",
    "map_workloads",
    "read_workloads",
    "render_files",
    "render_graph",
    "render_paths",
    "render_targets",
    "render_yaml",
]

Paths = Sequence[str | os.PathLike[str]]

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
    """What makes the run fail: graph and manifest errors, and every TM3xx."""
    workloads: Workloads | None = None
    """What the manifests say per declared service, when ``manifests`` were given."""
    manifest_diagnostics: tuple[Diagnostic, ...] = ()
    """What reading and mapping the manifests found (also in :attr:`diagnostics`)."""


def compile_paths(
    paths: Paths,
    target: str,
    *,
    environment: str | None = None,
    today: dt.date | None = None,
    platforms: Mapping[str, str] | None = None,
    manifests: Paths | None = None,
) -> Compilation[CompileResult]:
    """Load declarations from ``paths``, check them and compile them for ``target``;
    ``platforms`` pins platform releases over the Organization's (see
    :func:`~trustmap.dialects.platforms.with_platforms`).

    ``manifests``: files and folders of the workloads' manifests (probes, container ports).

    Raises:
        UsageError: see :func:`compile_graph`, or an invalid platform version.
    """
    graph = with_platforms(load_graph(paths, today), platforms or {})
    workloads, problems = _workloads(graph, manifests)
    result = compile_graph(graph, target, environment, workloads)
    return _compilation(graph, result, workloads, problems)


def render_paths(
    paths: Paths,
    target: str,
    *,
    environment: str | None = None,
    today: dt.date | None = None,
    platforms: Mapping[str, str] | None = None,
    manifests: Paths | None = None,
) -> Compilation[Rendered]:
    """As :func:`compile_paths`, written as YAML documents (:func:`render_graph`).

    Raises:
        UsageError: see :func:`compile_paths`.
    """
    graph = with_platforms(load_graph(paths, today), platforms or {})
    workloads, problems = _workloads(graph, manifests)
    result = render_graph(graph, target, environment, workloads)
    return _compilation(graph, result, workloads, problems)


def render_targets(
    paths: Paths,
    targets: Sequence[str],
    *,
    environment: str | None = None,
    today: dt.date | None = None,
    platforms: Mapping[str, str] | None = None,
    manifests: Paths | None = None,
) -> list[Compilation[Rendered]]:
    """Load and check ``paths`` (and read ``manifests``) once, then write every one of
    ``targets`` (on all cores, see :func:`compile_targets`); one compilation per target, in the
    order given.

    Raises:
        UsageError: see :func:`compile_paths` (checked before any target is compiled).
    """
    graph = with_platforms(load_graph(paths, today), platforms or {})
    workloads, problems = _workloads(graph, manifests)
    results = compile_targets(graph, targets, environment, workloads=workloads)
    return [_compilation(graph, r, workloads, problems) for r in results]


def _workloads(graph: Graph, manifests: Paths | None) -> tuple[Workloads | None, list[Diagnostic]]:
    if manifests is None:
        return None, []
    return read_workloads(graph, manifests)


def _compilation(
    graph: Graph, result: R, workloads: Workloads | None, problems: list[Diagnostic]
) -> Compilation[R]:
    everything = tuple(sort_diagnostics([*graph.diagnostics, *problems, *result.diagnostics]))
    counted: list[Diagnostic] = [
        d for d in problems if d.severity is Severity.ERROR or d.code.startswith("TM3")
    ]
    found = tuple(sort_diagnostics([*findings(graph, result), *counted]))
    return Compilation(graph, result, everything, found, workloads, tuple(problems))


def findings(graph: Graph, result: CompileResult | Rendered) -> tuple[Diagnostic, ...]:
    """Graph diagnostics of severity error plus every TM3xx of ``result``, sorted."""
    errors = [d for d in graph.diagnostics if d.severity is Severity.ERROR]
    return tuple(sort_diagnostics([*errors, *result.diagnostics]))
