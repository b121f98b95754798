"""Flows between declared services and external address ranges: TM403 open ranges, TM402 blocked ones.

Egress from a service's workload to addresses beyond its declared ``cidr:``/``apiServer`` egress
(and the DNS resolver's ranges) is TM403, as is ingress from addresses into a workload none of
whose interfaces is ``exposure: world``. A declared range that the policies block is TM402.
Ranges are compared on the cuts of both sides, so partial overlaps are reported precisely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from trustmap.analysis import Connectivity, ConnSet, IPFlow
from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.model import Graph
from trustmap.verify.compare import FlowDiff, PairResult
from trustmap.verify.expected import Expected, External
from trustmap.verify.peers import Peers
from trustmap.verify.text import conns_text, range_text

__all__ = ["compare_external"]

_LAST = 2**32 - 1


@dataclass(frozen=True, slots=True)
class _Range:
    first: int
    last: int
    conns: ConnSet


def compare_external(
    graph: Graph, conn: Connectivity, peers: Peers, want: Expected, result: PairResult
) -> None:
    """Add TM403 and TM402 findings for external ranges to ``result``."""
    for flow in conn.ip_flows:
        if peers.governed(flow.workload):
            _open(graph, peers, flow, _declared(flow, want), result)
    for workload, externals in sorted(want.egress.items()):
        allowed = [
            _Range(f.first, f.last, f.conns)
            for f in conn.ip_flows
            if f.workload == workload and f.direction == "egress"
        ]
        for ext in externals:
            _blocked(conn, ext, allowed, result)


def _declared(flow: IPFlow, want: Expected) -> list[_Range]:
    if flow.direction == "egress":
        return [_Range(e.first, e.last, e.conns) for e in want.egress.get(flow.workload, ())]
    return [_Range(0, _LAST, w.conns) for w in want.world.get(flow.workload, ())]


def _pieces(first: int, last: int, ranges: Sequence[_Range]) -> list[tuple[int, int, ConnSet]]:
    """``first..last`` cut at the bounds of ``ranges``, each piece with the union it is covered by."""
    cuts = {first, last + 1}
    for r in ranges:
        cuts.update(c for c in (r.first, r.last + 1) if first < c <= last)
    bounds = sorted(cuts)
    out = []
    for low, high in pairwise(bounds):
        covered = ConnSet()
        for r in ranges:
            if r.first <= low and high - 1 <= r.last:
                covered = covered | r.conns
        out.append((low, high - 1, covered))
    return out


def _open(
    graph: Graph, peers: Peers, flow: IPFlow, declared: list[_Range], result: PairResult
) -> None:
    runs: list[tuple[int, int, ConnSet]] = []
    for low, high, covered in _pieces(flow.first, flow.last, declared):
        extra = flow.conns - covered
        if runs and runs[-1][2] == extra and runs[-1][1] + 1 == low:
            runs[-1] = (runs[-1][0], high, extra)
        elif extra:
            runs.append((low, high, extra))
    for low, high, extra in runs:
        result.diagnostics.append(_open_diagnostic(graph, peers, flow, low, high, extra))
        where = range_text(low, high)
        pair = (flow.workload, where) if flow.direction == "egress" else (where, flow.workload)
        result.extra.append(FlowDiff(*pair, extra))


def _open_diagnostic(
    graph: Graph, peers: Peers, flow: IPFlow, low: int, high: int, extra: ConnSet
) -> Diagnostic:
    where = range_text(low, high)
    side = "to" if flow.direction == "egress" else "from"
    by = ", ".join(f"{p} {flow.direction}" for p in flow.policies) or (
        f"no policy isolates its {flow.direction}"
    )
    ref = peers.owner[flow.workload]
    span = graph.services[ref].span if ref in graph.services else Span("")
    return diagnostic(
        "TM403",
        span,
        f"open {flow.direction} {side} {where} on {conns_text(extra)} for {flow.workload} "
        f"beyond the declared {'egress' if flow.direction == 'egress' else 'world exposure'} "
        f"(allowed by: {by})",
        "limit ipBlock rules to the declared ranges and ports, or declare the destination "
        "(egress cidr:) or the exposure (exposure: world)",
    )


def _blocked(conn: Connectivity, ext: External, allowed: list[_Range], result: PairResult) -> None:
    lacking = ConnSet()
    for _, _, covered in _pieces(ext.first, ext.last, allowed):
        lacking = lacking | (ext.conns - covered)
    if not lacking:
        return
    where = range_text(ext.first, ext.last)
    result.missing.append(FlowDiff(ext.workload, where, lacking))
    isolating = ", ".join(f"{p} egress" for p in conn.egress_policies.get(ext.workload, ()))
    result.diagnostics.append(
        diagnostic(
            "TM402",
            ext.span,
            f"declared flow {ext.workload} → {where} on {conns_text(lacking)} is blocked "
            f"({ext.what}, declared at {ext.span}; isolated by: {isolating})",
            "add an ipBlock egress rule for the range to one of those policies "
            "(trustmap compile generates it), or remove the declaration",
        )
    )
