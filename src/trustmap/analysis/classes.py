"""Pod equivalence classes and policy rules compiled against them as bitsets.

Pods that share namespace, labels and named container ports are indistinguishable to every
NetworkPolicy, so the engine works on these classes (a Deployment's replicas are one class).
Each selector and each rule peer is evaluated once into an ``int`` bitset over classes via
:class:`~trustmap.analysis.selectors.LabelIndex`; the rest of the engine only ANDs and ORs them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from trustmap.analysis import intervals
from trustmap.analysis.intervals import Intervals
from trustmap.analysis.ipranges import IPV4_UNIVERSE
from trustmap.analysis.objects import (
    INGRESS_CONTROLLER_NAMESPACE,
    METADATA_NAME_LABEL,
    Cluster,
    IPBlockPeer,
    NetpolPolicy,
    PodPeer,
    Rule,
)
from trustmap.analysis.ports import ALL_CONNS, NO_CONNS, ConnSet, Protocol
from trustmap.analysis.selectors import LabelIndex, Selector

__all__ = ["CompiledRule", "PodClass", "Profile", "Universe", "compile_rule", "indices"]

Profile = tuple[tuple[str, Protocol, int], ...]
"""Sorted named container ports ``(name, protocol, port)`` of a class."""


@dataclass(slots=True)
class PodClass:
    """Pods that no NetworkPolicy can tell apart."""

    namespace: str
    labels: dict[str, str]
    profile: Profile
    workloads: list[str] = field(default_factory=list)
    """Ids of the workloads with pods in this class (usually one)."""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule resolved to class bitsets and addresses; ports resolved except named ones."""

    policy: int
    """Index of the policy in ``Universe.policies``."""
    peers: int
    """Classes matched by the rule's pod peers (every class when the rule has no peers)."""
    addresses: Intervals
    """External addresses matched (``0.0.0.0/0`` when the rule has no peers)."""
    uniform: ConnSet
    """Ports that do not depend on the destination pod."""
    named: tuple[tuple[str, Protocol], ...]
    """Named ports, resolved per destination class by :meth:`conns_for`."""

    def conns_for(self, profile: Profile) -> ConnSet:
        """The rule's connections toward a pod with these named ports."""
        if not self.named:
            return self.uniform
        return _resolve(self.uniform, self.named, profile)


@lru_cache(maxsize=65536)
def _resolve(
    uniform: ConnSet, named: tuple[tuple[str, Protocol], ...], profile: Profile
) -> ConnSet:
    conns = uniform
    for name, protocol in named:
        for port_name, port_protocol, port in profile:
            if port_name == name and port_protocol == protocol:
                conns = conns | ConnSet.of(protocol, port, port)
    return conns


class Universe:
    """The classes of a cluster plus bitset indexes over them."""

    def __init__(self, cluster: Cluster) -> None:
        self.policies: tuple[NetpolPolicy, ...] = cluster.policies
        self.classes: list[PodClass] = _classes(cluster)
        self.controller: int | None = None
        """Class index of the ``{ingress-controller}`` placeholder pod, if any."""
        if cluster.has_ingress_objects:
            self.controller = len(self.classes)
            self.classes.append(PodClass(INGRESS_CONTROLLER_NAMESPACE, {}, ()))
        self.all = (1 << len(self.classes)) - 1
        self.real = self.all if self.controller is None else self.all & ~(1 << self.controller)
        """Every class except the placeholder."""
        self.pods = LabelIndex([c.labels for c in self.classes])
        self.ns_bits: dict[str, int] = {}
        for i, cls in enumerate(self.classes):
            self.ns_bits[cls.namespace] = self.ns_bits.get(cls.namespace, 0) | (1 << i)
        self._ns_names = sorted(self.ns_bits)
        labels = {ns.name: dict(ns.labels) for ns in cluster.namespaces}
        self._namespaces = LabelIndex(
            [labels.get(n, {METADATA_NAME_LABEL: n}) for n in self._ns_names]
        )
        self._ns_cache: dict[Selector, int] = {}
        self._port_names: dict[str, int] = {}
        for i, cls in enumerate(self.classes):
            for name, _, _ in cls.profile:
                self._port_names[name] = self._port_names.get(name, 0) | (1 << i)

    def port_names(self, names: Iterable[str]) -> int:
        """Classes with a container port of one of these names."""
        bits = 0
        for name in names:
            bits |= self._port_names.get(name, 0)
        return bits

    def selected(self, policy: NetpolPolicy) -> int:
        """Classes a policy applies to: its namespace's pods matching ``spec.podSelector``."""
        return self.ns_bits.get(policy.namespace, 0) & self.pods.select(policy.pod_selector)

    def in_namespaces(self, selector: Selector) -> int:
        """Classes in the namespaces matched by a namespace selector."""
        found = self._ns_cache.get(selector)
        if found is None:
            found = 0
            for i in indices(self._namespaces.select(selector)):
                found |= self.ns_bits[self._ns_names[i]]
            self._ns_cache[selector] = found
        return found

    def peer_bits(self, peer: PodPeer, namespace: str) -> int:
        """Classes matched by a selector peer of a policy in ``namespace``."""
        if peer.namespace_selector is None:
            scope = self.ns_bits.get(namespace, 0)
        else:
            scope = self.in_namespaces(peer.namespace_selector)
        if peer.pod_selector is None:
            return scope
        return scope & self.pods.select(peer.pod_selector)


def compile_rule(rule: Rule, policy: int, namespace: str, universe: Universe) -> CompiledRule:
    """Resolve a rule's peers to bitsets and addresses and its numeric ports to a ConnSet."""
    if rule.peers is None:
        peers, addresses = universe.all, IPV4_UNIVERSE
    else:
        peers, blocks = 0, []
        for peer in rule.peers:
            if isinstance(peer, IPBlockPeer):
                blocks.append(peer.addresses)
            else:
                peers |= universe.peer_bits(peer, namespace)
        addresses = intervals.normalize(pair for block in blocks for pair in block)
    if rule.ports is None:
        return CompiledRule(policy, peers, addresses, ALL_CONNS, ())
    uniform, named = NO_CONNS, []
    for spec in rule.ports:
        if isinstance(spec.port, str):
            named.append((spec.port, spec.protocol))
        elif spec.port is None:
            uniform = uniform | ConnSet.of(spec.protocol)
        else:
            uniform = uniform | ConnSet.of(spec.protocol, spec.port, spec.end_port or spec.port)
    return CompiledRule(policy, peers, addresses, uniform, tuple(sorted(set(named))))


def _classes(cluster: Cluster) -> list[PodClass]:
    found: dict[tuple[object, ...], PodClass] = {}
    for pod in cluster.pods:
        profile = tuple(sorted({(p.name, p.protocol, p.port) for p in pod.ports if p.name}))
        key = (pod.workload.namespace, pod.labels, profile)
        cls = found.get(key)
        if cls is None:
            cls = found[key] = PodClass(pod.workload.namespace, dict(pod.labels), profile)
        if pod.workload.id not in cls.workloads:
            cls.workloads.append(pod.workload.id)
    return list(found.values())


@lru_cache(maxsize=16384)
def indices(bits: int) -> tuple[int, ...]:
    """Positions of the set bits, ascending."""
    text = bin(bits)[:1:-1]
    out = []
    position = text.find("1")
    while position >= 0:
        out.append(position)
        position = text.find("1", position + 1)
    return tuple(out)
