"""Allowed against declared, workload pair by workload pair: TM401 extra flows, TM402 missing ones.

Only pairs with a declared service's workload on at least one side are compared: traffic between
workloads nobody declared (two system pods, say) is outside what the declarations speak about.
np-guard's ``{ingress-controller}`` placeholder is skipped too; declared ingress controllers are
compared through their own workloads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from trustmap.analysis import INGRESS_CONTROLLER, Connectivity, ConnSet, Flow
from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.model import Graph
from trustmap.verify.expected import Expected, Want
from trustmap.verify.peers import Peers
from trustmap.verify.text import conns_text

__all__ = ["FlowDiff", "PairResult", "compare_pairs"]


@dataclass(frozen=True, slots=True, order=True)
class FlowDiff:
    """Connections between two peers (workload ids, or an address range for external peers)."""

    source: str
    target: str
    conns: ConnSet

    def __str__(self) -> str:
        return f"{self.source} → {self.target} on {conns_text(self.conns)}"


@dataclass(slots=True)
class PairResult:
    """What the pair comparison found."""

    extra: list[FlowDiff]
    missing: list[FlowDiff]
    matched: list[FlowDiff]
    diagnostics: list[Diagnostic]


def compare_pairs(graph: Graph, conn: Connectivity, peers: Peers, want: Expected) -> PairResult:
    """Compare every governed workload pair's allowed flow with what is declared."""
    result = PairResult([], [], [], [])
    for source, target in _pairs(conn, peers, want):
        allowed = conn.allowed(source, target)
        declared = want.conns(source, target)
        extra = allowed - declared
        if extra:
            result.extra.append(FlowDiff(source, target, extra))
            flow = conn.flows[source, target]
            result.diagnostics.append(_extra(graph, peers, source, target, extra, flow))
        if allowed & declared:
            result.matched.append(FlowDiff(source, target, allowed & declared))
        for item in want.pairs.get((source, target), ()):
            lacking = item.conns - allowed
            if lacking:
                result.missing.append(FlowDiff(source, target, lacking))
                result.diagnostics.append(_missing(conn, item, lacking))
    return result


def _pairs(conn: Connectivity, peers: Peers, want: Expected) -> Iterator[tuple[str, str]]:
    keys = {*conn.flows, *want.pairs}
    for source, target in sorted(keys):
        if INGRESS_CONTROLLER in (source, target):
            continue
        if peers.governed(source) or peers.governed(target):
            yield source, target


def _extra(
    graph: Graph, peers: Peers, source: str, target: str, extra: ConnSet, flow: Flow
) -> Diagnostic:
    egress = [f"{p} egress" for p in flow.egress_policies] or ["open egress"]
    ingress = [f"{p} ingress" for p in flow.ingress_policies] or ["open ingress"]
    return diagnostic(
        "TM401",
        _service_span(graph, peers, target) or _service_span(graph, peers, source),
        f"policy allows {source} → {target} on {conns_text(extra)} beyond the declarations "
        f"(allowed by: {', '.join([*egress, *ingress])})",
        "narrow those rules to the declared callers and ports, or declare the dependency "
        "(dependsOn, with the provider's consent) if the call is needed",
    )


def _missing(conn: Connectivity, item: Want, lacking: ConnSet) -> Diagnostic:
    isolating = [f"{p} egress" for p in conn.egress_policies.get(item.source, ())]
    isolating += [f"{p} ingress" for p in conn.ingress_policies.get(item.target, ())]
    return diagnostic(
        "TM402",
        item.span,
        f"declared flow {item.source} → {item.target} on {conns_text(lacking)} is blocked "
        f"({item.what}, declared at {item.span}; isolated by: {', '.join(isolating)})",
        "add a rule allowing it to one of those policies (trustmap compile generates them), "
        "or remove the declaration if the call is no longer made",
    )


def _service_span(graph: Graph, peers: Peers, workload: str) -> Span | None:
    ref = peers.owner.get(workload)
    service = graph.services.get(ref) if ref is not None else None
    return service.span if service is not None else None
