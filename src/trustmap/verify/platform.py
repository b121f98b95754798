"""``verify --target cilium|istio|linkerd|admission``: read objects, evaluate, compare, report.

Without ``--policies`` the graph is compiled for the target and the compiled objects join the
manifests (named ``<compiled TARGET>``); with it, the given files are read instead (policies
compiled by trustmap or written by hand, mixed with any other objects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from trustmap.analysis import ConnSet
from trustmap.analysis.inventory import build_inventory, make_obj, read_kube
from trustmap.analysis.platform import Obj
from trustmap.diagnostics import Diagnostic, diagnostic, has_errors, sort_diagnostics
from trustmap.dialects import Workloads, compile_graph
from trustmap.dialects.workloads import map_workloads
from trustmap.model import Graph
from trustmap.verify.admission import check_admission
from trustmap.verify.compare import FlowDiff
from trustmap.verify.declared import Declared, declared_requests
from trustmap.verify.platforms import check_traffic
from trustmap.verify.report import VerifyReport

__all__ = ["PLATFORM_TARGETS", "compiled_objects", "verify_platform"]

PLATFORM_TARGETS = ("cilium", "istio", "linkerd", "admission")


def compiled_objects(
    graph: Graph, target: str, environment: str | None, workloads: Workloads | None = None
) -> list[Obj]:
    """The graph compiled for ``target`` (with the manifests' ``workloads``, so probes are
    authorised as ``compile --manifests`` would), as evaluator inputs named ``<compiled TARGET>``."""
    compiled = compile_graph(graph, target, environment, workloads)
    out: list[Obj] = []
    for index, (namespace, raw) in enumerate(compiled.objects):
        obj = make_obj(dict(raw), f"<compiled {target}>", index)
        if namespace and not obj.namespace:
            obj = replace(obj, namespace=namespace)
        out.append(obj)
    return out


def verify_platform(
    graph: Graph,
    manifests_paths: Sequence[Path],
    target: str,
    policies_paths: Sequence[Path] | None,
    environment: str | None,
    extra_objects: Sequence[Obj] = (),
) -> VerifyReport:
    """Compare what ``target`` would allow on the manifests' workloads with the declarations."""
    kset, objects, locator, inputs = read_kube([*manifests_paths, *(policies_paths or ())])
    if has_errors(inputs):
        return VerifyReport(sort_diagnostics(inputs), (), (), (), tuple(inputs))
    if policies_paths is None:
        workloads, _ = map_workloads(graph, kset.workloads)  # TM309/TM310 are compile's to say
        objects += compiled_objects(graph, target, environment, workloads)
    objects += extra_objects
    inventory = build_inventory(objects)
    declared = declared_requests(graph, inventory.peers)
    findings = [*inputs, *_missing(declared)]
    if target == "admission":
        found, admitted, wider = check_admission(graph, inventory, declared, locator, environment)
        findings += found
        matched = tuple(FlowDiff("admission", ref, ConnSet()) for ref in ["admitted"] * admitted)
        extra = tuple(FlowDiff("admission", "undeclared", ConnSet()) for _ in range(wider))
        return VerifyReport(sort_diagnostics(findings), extra, (), matched, tuple(inputs))
    outcome = check_traffic(target, graph, inventory, declared, locator, environment)
    findings += outcome.diagnostics
    return VerifyReport(
        sort_diagnostics(findings),
        _diffs(outcome.wider),
        _diffs(outcome.narrower),
        _diffs(outcome.matched),
        tuple(inputs),
    )


def _diffs(keys: set[tuple[str, str, int]]) -> tuple[FlowDiff, ...]:
    """One diff per pair, its ports together (connection sets have no order of their own)."""
    by_pair: dict[tuple[str, str], ConnSet] = {}
    for source, target, port in keys:
        by_pair[source, target] = by_pair.get((source, target), ConnSet()) | ConnSet.of(
            "TCP", port, port
        )
    return tuple(
        FlowDiff(s, t, conns) for (s, t), conns in sorted(by_pair.items(), key=lambda i: i[0])
    )


def _missing(declared: Declared) -> list[Diagnostic]:
    return [
        diagnostic(
            "TM404",
            span,
            f"{what} has no workload in the manifests; its flows are not verified",
            "pass the manifests that deploy it with --manifests, or fix its podLabels",
        )
        for what, span in declared.missing
    ]
