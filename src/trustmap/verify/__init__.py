"""Verify enforcement against the declarations: does the policy set allow exactly the declared flows?

    >>> report = verify(graph, [Path("k8s/")])                       # compiled policies
    >>> report = verify(graph, [Path("k8s/")], policies_paths=[Path("netpol/")])  # hand-written

Without ``policies_paths`` the graph is compiled for kubernetes and the compiled NetworkPolicies
are analysed together with the workload manifests (and any policies already in them); with it,
the given policies are analysed instead. The allowed connectivity (np-guard semantics, see
:mod:`trustmap.analysis`) is compared with the declared flows (:mod:`trustmap.verify.expected`):
TM401 a flow allowed beyond the declarations, TM402 a declared flow that is blocked, TM403 open
ranges of external addresses, TM404 declarations without workloads in the manifests; and
TM440-TM442 for objects that still allow a grant past (or near) its expiry
(:mod:`trustmap.verify.expiry`, which other targets' checks can call too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from trustmap.analysis import Cluster, NetpolPolicy, analyze, load_manifests
from trustmap.analysis.networkpolicy import parse_network_policy
from trustmap.analysis.objects import Origin
from trustmap.diagnostics import Diagnostic, Span, sort_diagnostics
from trustmap.dialects import compile_graph
from trustmap.errors import UsageError
from trustmap.kube import Here
from trustmap.loader import Document
from trustmap.model import Graph
from trustmap.names import did_you_mean
from trustmap.verify.compare import FlowDiff, compare_pairs
from trustmap.verify.expected import expected_flows
from trustmap.verify.expiry import SOON_DAYS, CompiledObject, expiry_findings, read_compiled
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
    expiring_within: int = SOON_DAYS,
) -> VerifyReport:
    """Compare what the policies allow on the manifests' workloads with what ``graph`` declares.

    Every object read or compiled that records an expiry (``trustmap.dev/expires``) is also
    checked against ``graph.today``: TM440 expired, TM441 within ``expiring_within`` days.

    Raises:
        UsageError: ``target`` is not one the analysis understands.
    """
    if target not in TARGETS:
        raise UsageError(
            f"verify cannot analyse target {target!r}{did_you_mean(target, TARGETS)}; "
            f"supported: {', '.join(TARGETS)}"
        )
    read = [*manifests_paths, *(policies_paths or ())]
    if target != "kubernetes":
        return _verify_platform(
            graph, manifests_paths, target, policies_paths, environment, expiring_within
        )
    if policies_paths is not None:
        cluster, inputs = load_manifests(read)
        dated: list[CompiledObject] = []
    else:
        cluster, inputs = load_manifests(list(manifests_paths))
        cluster, problems, dated = _with_compiled(cluster, graph, environment)
        inputs += problems
    expiry = _expiry(graph, read, dated, expiring_within)
    conn = analyze(cluster)
    peers = peers_of(graph, conn)
    want = expected_flows(graph, peers)
    result = compare_pairs(graph, conn, peers, want)
    compare_external(graph, conn, peers, want, result)
    findings = sort_diagnostics([*inputs, *want.diagnostics, *result.diagnostics, *expiry])
    return VerifyReport(
        findings,
        tuple(sorted(result.extra)),
        tuple(sorted(result.missing)),
        tuple(sorted(result.matched)),
        tuple(inputs),
    )


def _expiry(
    graph: Graph, paths: Sequence[Path], compiled: list[CompiledObject], within: int
) -> list[Diagnostic]:
    """TM440-TM442 for the objects in ``paths`` and those compiled just now."""
    read, _ = read_compiled(paths)  # reading problems are already reported by load_manifests
    found = expiry_findings(read, graph.today, soon_days=within, graph=graph)
    return found + expiry_findings(compiled, graph.today, soon_days=within, graph=graph)


def _verify_platform(
    graph: Graph,
    manifests_paths: Sequence[Path],
    target: str,
    policies_paths: Sequence[Path] | None,
    environment: str | None,
    expiring_within: int,
) -> VerifyReport:
    """A platform target's evaluation, plus the expiry check of what it read or compiled."""
    report = verify_platform(graph, manifests_paths, target, policies_paths, environment)
    dated = [] if policies_paths is not None else _dated(graph, target, environment)
    read = [*manifests_paths, *(policies_paths or ())]
    expiry = _expiry(graph, read, dated, expiring_within)
    return replace(report, findings=sort_diagnostics([*report.findings, *expiry]))


def _dated(graph: Graph, target: str, environment: str | None) -> list[CompiledObject]:
    """Every object compiled for ``target``, as the expiry check reads them."""
    compiled = compile_graph(graph, target, environment).objects
    return [_compiled_object(ns, dict(obj), f"<compiled {target}>") for ns, obj in compiled]


def _compiled_object(
    namespace: str, raw: dict[str, object], file: str = COMPILED
) -> CompiledObject:
    meta = raw.get("metadata")
    name = str(meta.get("name", "")) if isinstance(meta, dict) else ""
    notes = meta.get("annotations", {}) if isinstance(meta, dict) else {}
    return CompiledObject(str(raw.get("kind")), name, namespace, dict(notes), Span(file))


def _with_compiled(
    cluster: Cluster, graph: Graph, environment: str | None
) -> tuple[Cluster, list[Diagnostic], list[CompiledObject]]:
    """``cluster`` plus the graph's compiled NetworkPolicies, and every compiled object for the
    expiry check."""
    compiled = compile_graph(graph, "kubernetes", environment)
    sink: list[Diagnostic] = []
    policies: list[NetpolPolicy] = []
    dated: list[CompiledObject] = []
    for index, (namespace, obj) in enumerate(compiled.objects):
        raw = dict(obj)
        dated.append(_compiled_object(namespace, raw))
        if obj.get("kind") != "NetworkPolicy":
            continue
        name = dated[-1].name
        here = Here(Document(COMPILED, index, raw), (), sink)
        policy = parse_network_policy(raw, name, namespace, Origin(COMPILED, index), here)
        if policy is not None:
            policies.append(policy)
    return replace(cluster, policies=(*cluster.policies, *policies)), sink, dated
