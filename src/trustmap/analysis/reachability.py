"""``analyze``: the NetworkPolicy semantics engine.

A connection src → dst is allowed with (what src's egress side allows toward dst) ∩ (what dst's
ingress side allows from src); a side that no policy selects allows everything. The work is done
on pod classes (see :mod:`trustmap.analysis.classes`), grouped once more by the exact set of
policies that select them: every class of an ingress group sees the same regions of sources,
every class of an egress group the same regions of destinations, so the allowed pairs come out
as rectangles (sources × destinations with one outcome) that are only expanded into workload
pairs at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from trustmap.analysis.classes import CompiledRule, Profile, Universe, compile_rule, indices
from trustmap.analysis.connectivity import Connectivity, Direction, Flow, IPFlow
from trustmap.analysis.ingresscontroller import exposed_ports
from trustmap.analysis.ipranges import Partition
from trustmap.analysis.objects import INGRESS_CONTROLLER, Cluster
from trustmap.analysis.ports import ALL_CONNS, ConnSet
from trustmap.analysis.regions import Contribution, Region, Segment, refine, sweep
from trustmap.bulk import building

__all__ = ["analyze"]


@dataclass(slots=True)
class _Group:
    """Classes selected by exactly the same policies (for one direction)."""

    policies: tuple[int, ...]
    members: int = 0
    regions: tuple[Region, ...] = ()
    segments: tuple[Segment, ...] = ()


@dataclass(frozen=True, slots=True)
class _Rules:
    ingress: tuple[CompiledRule, ...]
    egress: tuple[CompiledRule, ...]


@building()
def analyze(cluster: Cluster) -> Connectivity:
    """Compute the allowed connectivity of a cluster.

    Args:
        cluster: what :func:`~trustmap.analysis.load_manifests` read.

    Returns:
        Workload-to-workload flows (with ``{ingress-controller}`` when Ingress/Route objects
        exist), flows with external address ranges, and the policies behind each.
    """
    u = Universe(cluster)
    rules = [_compile(u, i) for i in range(len(u.policies))]
    src_cuts = Partition.of(r.addresses for rs in rules for r in rs.ingress if r.addresses)
    dst_cuts = Partition.of(r.addresses for rs in rules for r in rs.egress if r.addresses)
    ingress, ingress_of = _ingress_groups(u, rules, src_cuts)
    egress, egress_of = _egress_groups(u, rules, dst_cuts)
    refs = [p.ref for p in u.policies]
    flows: dict[tuple[str, str], Flow] = {}
    for group in egress:
        _pair_flows(u, group, ingress, ingress_of, refs, flows)
    if u.controller is not None:
        _controller_flows(u, cluster, ingress, ingress_of, refs, flows)
    ip_flows = _ip_flows(u, ingress, ingress_of, "ingress", src_cuts, refs)
    ip_flows += _ip_flows(u, egress, egress_of, "egress", dst_cuts, refs)
    return Connectivity(
        workloads={w.id: w for w in cluster.workloads},
        flows=flows,
        ip_flows=tuple(sorted(ip_flows, key=lambda f: (f.direction, f.workload, f.first))),
        ingress_partition=src_cuts,
        egress_partition=dst_cuts,
        ingress_policies=_selecting(u, ingress, ingress_of, refs),
        egress_policies=_selecting(u, egress, egress_of, refs),
    )


def _compile(u: Universe, index: int) -> _Rules:
    policy = u.policies[index]
    ns = policy.namespace
    ingress = tuple(compile_rule(r, index, ns, u) for r in policy.ingress)
    egress = tuple(compile_rule(r, index, ns, u) for r in policy.egress)
    return _Rules(
        ingress if policy.isolates_ingress else (), egress if policy.isolates_egress else ()
    )


def _selecting_lists(u: Universe, direction: Direction) -> list[list[int]]:
    selecting: list[list[int]] = [[] for _ in u.classes]
    for index, policy in enumerate(u.policies):
        isolates = policy.isolates_ingress if direction == "ingress" else policy.isolates_egress
        if isolates:
            for c in indices(u.selected(policy) & u.real):
                selecting[c].append(index)
    return selecting


def _ingress_groups(
    u: Universe, rules: list[_Rules], cuts: Partition
) -> tuple[list[_Group], list[int]]:
    groups: dict[tuple[tuple[int, ...], Profile], int] = {}
    ordered: list[_Group] = []
    group_of = [-1] * len(u.classes)
    for c, policies in enumerate(_selecting_lists(u, "ingress")):
        if c == u.controller:
            continue
        named = any(r.named for p in policies for r in rules[p].ingress)
        key = (tuple(policies), u.classes[c].profile if named else ())
        if key not in groups:
            groups[key] = len(ordered)
            ordered.append(_Group(key[0]))
        ordered[groups[key]].members |= 1 << c
        group_of[c] = groups[key]
    for (_, profile), index in groups.items():
        group = ordered[index]
        contributions = [
            (r, r.conns_for(profile)) for p in group.policies for r in rules[p].ingress
        ]
        _fill(group, u.all, contributions, cuts)
    return ordered, group_of


def _egress_groups(
    u: Universe, rules: list[_Rules], cuts: Partition
) -> tuple[list[_Group], list[int]]:
    groups: dict[tuple[int, ...], int] = {}
    ordered: list[_Group] = []
    group_of = [-1] * len(u.classes)
    for c, policies in enumerate(_selecting_lists(u, "egress")):
        if c == u.controller:
            continue
        key = tuple(policies)
        if key not in groups:
            groups[key] = len(ordered)
            ordered.append(_Group(key))
        ordered[groups[key]].members |= 1 << c
        group_of[c] = groups[key]
    for group in ordered:
        contributions = [(r, r.uniform) for p in group.policies for r in rules[p].egress]
        _fill(group, u.real, contributions, cuts, named=_named_egress(u, group, rules))
    return ordered, group_of


def _named_egress(
    u: Universe, group: _Group, rules: list[_Rules]
) -> list[tuple[int, ConnSet, int]]:
    """Egress rules with named ports, split by the destination classes' named ports."""
    out = []
    for p in group.policies:
        for rule in rules[p].egress:
            if not rule.named:
                continue
            by_profile: dict[object, int] = {}
            for d in indices(rule.peers & u.real & u.port_names(n for n, _ in rule.named)):
                profile = u.classes[d].profile
                by_profile[profile] = by_profile.get(profile, 0) | (1 << d)
            for d_bits in by_profile.values():
                profile = u.classes[indices(d_bits)[0]].profile
                out.append((d_bits, rule.conns_for(profile), p))
    return out


def _fill(
    group: _Group,
    universe: int,
    contributions: list[tuple[CompiledRule, ConnSet]],
    cuts: Partition,
    named: list[tuple[int, ConnSet, int]] | None = None,
) -> None:
    if not group.policies:
        group.regions = (Region(universe, ALL_CONNS, ()),)
        group.segments = (Segment(0, len(cuts) - 1, ALL_CONNS, ()),)
        return
    peer_rules = [(r.peers & universe, conns, r.policy) for r, conns in contributions]
    group.regions = tuple(refine(peer_rules + (named or [])))
    spans = []
    for rule, conns in contributions:
        if conns and rule.addresses:
            contribution: Contribution = ((rule.policy, conns),)
            for first, last in cuts.index_spans(rule.addresses):
                spans.append((first, last, conns, contribution))
    group.segments = tuple(sweep(spans))


def _policies(contribution: Contribution, conns: ConnSet, refs: list[str]) -> tuple[str, ...]:
    return tuple(sorted(refs[p] for p, allowed in contribution if allowed & conns))


def _pair_flows(
    u: Universe,
    egress: _Group,
    ingress: list[_Group],
    ingress_of: list[int],
    refs: list[str],
    flows: dict[tuple[str, str], Flow],
) -> None:
    for out_region in egress.regions:
        for group in _reached(out_region.bits, ingress, ingress_of):
            dsts = out_region.bits & group.members
            if not dsts:
                continue
            for in_region in group.regions:
                srcs = in_region.bits & egress.members
                conns = out_region.conns & in_region.conns if srcs else None
                if conns:
                    flow = Flow(
                        conns,
                        _policies(out_region.contribution, conns, refs),
                        _policies(in_region.contribution, conns, refs),
                    )
                    _emit(u, srcs, dsts, flow, flows)


def _reached(bits: int, ingress: list[_Group], ingress_of: list[int]) -> list[_Group]:
    """The ingress groups with a member among the classes ``bits``, in group order.

    Every group when ``bits`` has at least as many classes as there are groups; otherwise only
    the groups of those classes, so that a cluster with one policy per workload (thousands of
    groups, each egress region naming a few classes) does not pair every egress group with every
    ingress group. Groups with no member in ``bits`` produce no flow either way.
    """
    if bits.bit_count() >= len(ingress):
        return ingress
    found = {ingress_of[c] for c in indices(bits)}
    found.discard(-1)  # the ingress controller's class belongs to no group
    return [ingress[g] for g in sorted(found)]


def _emit(
    u: Universe, srcs: int, dsts: int, flow: Flow, flows: dict[tuple[str, str], Flow]
) -> None:
    targets = [w for d in indices(dsts) for w in u.classes[d].workloads]
    for s in indices(srcs):
        for a in u.classes[s].workloads:
            for b in targets:
                if a != b:
                    _put(flows, (a, b), flow)


def _put(flows: dict[tuple[str, str], Flow], key: tuple[str, str], flow: Flow) -> None:
    previous = flows.get(key)
    if previous is None or previous == flow:
        flows[key] = flow
    else:
        flows[key] = Flow(
            previous.conns | flow.conns,
            tuple(sorted({*previous.egress_policies, *flow.egress_policies})),
            tuple(sorted({*previous.ingress_policies, *flow.ingress_policies})),
            tuple(sorted({*previous.backends, *flow.backends})),
        )


def _controller_flows(
    u: Universe,
    cluster: Cluster,
    ingress: list[_Group],
    ingress_of: list[int],
    refs: list[str],
    flows: dict[tuple[str, str], Flow],
) -> None:
    controller = 1 << (u.controller or 0)
    for c, (exposed, sources) in sorted(exposed_ports(cluster, u).items()):
        for region in ingress[ingress_of[c]].regions:
            conns = exposed & region.conns if region.bits & controller else None
            if conns:
                flow = Flow(conns, (), _policies(region.contribution, conns, refs), sources)
                for workload in u.classes[c].workloads:
                    _put(flows, (INGRESS_CONTROLLER, workload), flow)


def _ip_flows(
    u: Universe,
    groups: list[_Group],
    group_of: list[int],
    direction: Direction,
    cuts: Partition,
    refs: list[str],
) -> list[IPFlow]:
    per_workload: dict[str, list[tuple[Segment, ...]]] = {}
    for c, cls in enumerate(u.classes):
        if c != u.controller:
            for workload in cls.workloads:
                per_workload.setdefault(workload, []).append(groups[group_of[c]].segments)
    out = []
    for workload, lists in per_workload.items():
        segments = lists[0] if len(set(lists)) == 1 else _union(lists)
        for seg in segments:
            first, last = cuts.bounds(seg.first)[0], cuts.bounds(seg.last)[1]
            policies = _policies(seg.contribution, seg.conns, refs)
            out.append(IPFlow(direction, workload, first, last, seg.conns, policies))
    return out


def _union(lists: list[tuple[Segment, ...]]) -> tuple[Segment, ...]:
    spans = [(s.first, s.last, s.conns, s.contribution) for segs in lists for s in segs]
    return tuple(sweep(spans))


def _selecting(
    u: Universe, groups: list[_Group], group_of: list[int], refs: list[str]
) -> dict[str, tuple[str, ...]]:
    table: dict[str, set[str]] = {}
    for c, cls in enumerate(u.classes):
        if c == u.controller:
            continue
        for workload in cls.workloads:
            table.setdefault(workload, set()).update(refs[p] for p in groups[group_of[c]].policies)
    return {w: tuple(sorted(p)) for w, p in sorted(table.items()) if p}
