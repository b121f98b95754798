"""Verify enforcement against the declarations: does the policy set allow exactly the declared flows?

    >>> report = verify(graph, [Path("k8s/")])                       # compiled policies
    >>> report = verify(graph, [Path("k8s/")], policies_paths=[Path("netpol/")])  # hand-written

Without ``policies_paths`` the graph is compiled for kubernetes and the compiled NetworkPolicies
are analysed together with the workload manifests (and any policies already in them); with it,
the given policies are analysed instead. The allowed connectivity (np-guard semantics, see
:mod:`trustmap.analysis`) is compared with the declared flows (:mod:`trustmap.verify.expected`):
TM401 a flow allowed beyond the declarations, TM402 a declared flow that is blocked, TM403 open
ranges of external addresses, TM404 declarations without workloads in the manifests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from trustmap.analysis import Cluster, NetpolPolicy, analyze, load_manifests
from trustmap.analysis.networkpolicy import parse_network_policy
from trustmap.analysis.objects import Origin
from trustmap.diagnostics import Diagnostic, sort_diagnostics
from trustmap.dialects import compile_graph
from trustmap.errors import UsageError
from trustmap.kube import Here
from trustmap.loader import Document
from trustmap.model import Graph
from trustmap.names import did_you_mean
from trustmap.verify.compare import FlowDiff, compare_pairs
from trustmap.verify.expected import expected_flows
from trustmap.verify.external import compare_external
from trustmap.verify.peers import peers_of
from trustmap.verify.platform import PLATFORM_TARGETS, verify_platform
from trustmap.verify.report import VerifyReport

__all__ = ["TARGETS", "FlowDiff", "VerifyReport", "verify"]

TARGETS = ("kubernetes", *PLATFORM_TARGETS)
"""Targets verify evaluates: NetworkPolicy analysis, and the platform evaluators."""
COMPILED = "<compiled kubernetes>"
"""File name given to compiled policies in analysis diagnostics."""


def verify(
    graph: Graph,
    manifests_paths: Sequence[Path],
    *,
    target: str = "kubernetes",
    policies_paths: Sequence[Path] | None = None,
    environment: str | None = None,
) -> VerifyReport:
    """Compare what the policies allow on the manifests' workloads with what ``graph`` declares.

    Raises:
        UsageError: ``target`` is not one the analysis understands.
    """
    if target not in TARGETS:
        raise UsageError(
            f"verify cannot analyse target {target!r}{did_you_mean(target, TARGETS)}; "
            f"supported: {', '.join(TARGETS)}"
        )
    if target != "kubernetes":
        return verify_platform(graph, manifests_paths, target, policies_paths, environment)
    if policies_paths is not None:
        cluster, inputs = load_manifests([*manifests_paths, *policies_paths])
    else:
        cluster, inputs = load_manifests(list(manifests_paths))
        cluster, problems = _with_compiled(cluster, graph, environment)
        inputs += problems
    conn = analyze(cluster)
    peers = peers_of(graph, conn)
    want = expected_flows(graph, peers)
    result = compare_pairs(graph, conn, peers, want)
    compare_external(graph, conn, peers, want, result)
    findings = sort_diagnostics([*inputs, *want.diagnostics, *result.diagnostics])
    return VerifyReport(
        findings,
        tuple(sorted(result.extra)),
        tuple(sorted(result.missing)),
        tuple(sorted(result.matched)),
        tuple(inputs),
    )


def _with_compiled(
    cluster: Cluster, graph: Graph, environment: str | None
) -> tuple[Cluster, list[Diagnostic]]:
    """``cluster`` plus the graph's compiled NetworkPolicies."""
    compiled = compile_graph(graph, "kubernetes", environment)
    sink: list[Diagnostic] = []
    policies: list[NetpolPolicy] = []
    for index, (namespace, obj) in enumerate(compiled.objects):
        if obj.get("kind") != "NetworkPolicy":
            continue
        raw = dict(obj)
        meta = raw.get("metadata")
        name = str(meta.get("name", "")) if isinstance(meta, dict) else ""
        here = Here(Document(COMPILED, index, raw), (), sink)
        policy = parse_network_policy(raw, name, namespace, Origin(COMPILED, index), here)
        if policy is not None:
            policies.append(policy)
    return replace(cluster, policies=(*cluster.policies, *policies)), sink
