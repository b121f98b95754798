"""The targets by name, and :func:`compile_graph`: check the request, run the target's compiler."""

from __future__ import annotations

from collections.abc import Mapping

from trustmap.bulk import building
from trustmap.dialects.admission import Admission
from trustmap.dialects.base import Compiler, CompileResult, Rendered
from trustmap.dialects.cilium import Cilium
from trustmap.dialects.istio import Istio
from trustmap.dialects.kubernetes import Kubernetes
from trustmap.dialects.linkerd import Linkerd
from trustmap.dialects.pods import Workloads
from trustmap.errors import UsageError
from trustmap.model import Graph
from trustmap.names import did_you_mean

__all__ = ["TARGETS", "compile_graph", "compiler_for", "render_graph"]

TARGETS: Mapping[str, type[Compiler]] = {
    cls.TARGET: cls for cls in (Kubernetes, Cilium, Istio, Linkerd, Admission)
}
"""Every compile target by name."""


def compile_graph(
    graph: Graph,
    target: str,
    environment: str | None = None,
    workloads: Workloads | None = None,
) -> CompileResult:
    """Compile ``graph`` for ``target``.

    Args:
        graph: a checked graph; only its effective edges are compiled (fail closed).
        target: one of :data:`TARGETS`.
        environment: picks each namespace's rollout mode from the Organization's environments;
            ``None`` enforces everywhere.
        workloads: probes and container ports per declared service, from the workloads'
            manifests (:func:`~trustmap.dialects.workloads.read_workloads`); targets whose
            objects could block kubelet probes authorise them. ``None``: no manifests (such
            targets say so, TM307).

    Returns:
        The objects in output order and the TM3xx diagnostics.

    Raises:
        UsageError: unknown target, or an environment the Organization does not declare.
    """
    compiler = compiler_for(graph, target, environment)
    with building():
        return compiler(graph, environment).given(workloads).compile()


def render_graph(
    graph: Graph,
    target: str,
    environment: str | None = None,
    workloads: Workloads | None = None,
) -> Rendered:
    """Compile ``graph`` for ``target`` straight into YAML documents (what ``trustmap compile``
    writes): the same bytes as :func:`~trustmap.dialects.emit.render_yaml` of
    :func:`compile_graph`'s objects, several times faster on large graphs.

    Raises:
        UsageError: as :func:`compile_graph`.
    """
    compiler = compiler_for(graph, target, environment)
    with building():
        return compiler(graph, environment).given(workloads).write()


def compiler_for(graph: Graph, target: str, environment: str | None) -> type[Compiler]:
    """The compiler class of ``target``, once the request is known to make sense.

    Raises:
        UsageError: unknown target, or an environment the Organization does not declare.
    """
    compiler = TARGETS.get(target)
    if compiler is None:
        raise UsageError(
            f"unknown target '{target}'{did_you_mean(target, TARGETS)}; "
            f"choose one of: {', '.join(TARGETS)}"
        )
    _check_environment(graph, environment)
    return compiler


def _check_environment(graph: Graph, environment: str | None) -> None:
    if environment is None:
        return
    declared = [e.name for e in graph.organization.environments] if graph.organization else []
    if environment not in declared:
        known = ", ".join(sorted(set(declared))) or "none"
        raise UsageError(
            f"unknown environment '{environment}'{did_you_mean(environment, declared)}; "
            f"the Organization declares: {known}"
        )
