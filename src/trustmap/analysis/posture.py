"""Zero-trust posture of a cluster: where NetworkPolicies leave doors open.

Four questions a reviewer asks of exported manifests: which workloads no policy isolates (per
direction), which namespaces lack a default deny (a policy selecting every pod), which workloads
every pod of every namespace may reach, and which ones the whole internet may reach or may reach
the whole internet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from trustmap.analysis.connectivity import Connectivity, Direction, IPFlow
from trustmap.analysis.ipranges import IPV4_MAX
from trustmap.analysis.objects import Cluster, ContainerPort, NetpolPolicy, PodPeer, Rule
from trustmap.analysis.ports import ALL_CONNS, NO_CONNS, ConnSet

__all__ = ["NamespacePosture", "NetpolExposure", "Posture", "posture"]


@dataclass(frozen=True, slots=True)
class NetpolExposure:
    """A workload open to a whole population of peers, on these connections."""

    workload: str
    conns: ConnSet
    policies: tuple[str, ...] = ()
    """Policies granting it; empty when the workload is not isolated at all."""


@dataclass(frozen=True, slots=True)
class NamespacePosture:
    """Whether every pod of a namespace is isolated by default, per direction."""

    namespace: str
    default_deny_ingress: bool
    default_deny_egress: bool


@dataclass(frozen=True, slots=True)
class Posture:
    """Isolation gaps of a cluster; every tuple is sorted."""

    workloads: int
    """Number of workloads examined."""
    ingress_unisolated: tuple[str, ...]
    """Workloads that no policy selects for ingress: anything may connect to them."""
    egress_unisolated: tuple[str, ...]
    """Workloads that no policy selects for egress: they may connect anywhere."""
    namespaces: tuple[NamespacePosture, ...]
    """Namespaces lacking a default deny in at least one direction."""
    cluster_wide: tuple[NetpolExposure, ...]
    """Workloads every pod of every namespace may connect to."""
    internet_ingress: tuple[NetpolExposure, ...]
    """Workloads that every external address (0.0.0.0/0) may connect to."""
    internet_egress: tuple[NetpolExposure, ...]
    """Workloads that may connect to every external address."""

    @property
    def findings(self) -> int:
        """Total number of gaps listed."""
        return sum(
            len(x)
            for x in (
                self.ingress_unisolated,
                self.egress_unisolated,
                self.namespaces,
                self.cluster_wide,
                self.internet_ingress,
                self.internet_egress,
            )
        )


def posture(cluster: Cluster, conn: Connectivity) -> Posture:
    """Summarise the isolation gaps of an analysed cluster.

    Args:
        cluster: what :func:`~trustmap.analysis.load_manifests` read.
        conn: what :func:`~trustmap.analysis.analyze` computed for it.
    """
    ids = sorted(conn.workloads)
    return Posture(
        workloads=len(ids),
        ingress_unisolated=tuple(w for w in ids if not conn.is_isolated(w, "ingress")),
        egress_unisolated=tuple(w for w in ids if not conn.is_isolated(w, "egress")),
        namespaces=_namespaces(cluster),
        cluster_wide=_cluster_wide(cluster, conn, ids),
        internet_ingress=_internet(conn, "ingress"),
        internet_egress=_internet(conn, "egress"),
    )


def _namespaces(cluster: Cluster) -> tuple[NamespacePosture, ...]:
    deny: dict[str, tuple[bool, bool]] = {}
    for p in cluster.policies:
        if p.pod_selector.selects_all:
            ingress, egress = deny.get(p.namespace, (False, False))
            deny[p.namespace] = (ingress or p.isolates_ingress, egress or p.isolates_egress)
    out = []
    for ns in cluster.namespaces:
        ingress, egress = deny.get(ns.name, (False, False))
        if not (ingress and egress):
            out.append(NamespacePosture(ns.name, ingress, egress))
    return tuple(out)


def _cluster_wide(
    cluster: Cluster, conn: Connectivity, ids: Sequence[str]
) -> tuple[NetpolExposure, ...]:
    by_ref = {p.ref: p for p in cluster.policies}
    ports: dict[str, tuple[ContainerPort, ...]] = {}
    for pod in cluster.pods:
        ports.setdefault(pod.workload.id, pod.ports)
    out = []
    for workload in ids:
        refs = conn.ingress_policies.get(workload, ())
        if not refs:
            out.append(NetpolExposure(workload, ALL_CONNS))
            continue
        total, granting = NO_CONNS, list[str]()
        for ref in refs:
            allowed = _open_rules(by_ref[ref], ports.get(workload, ()))
            if allowed:
                total = total | allowed
                granting.append(ref)
        if total:
            out.append(NetpolExposure(workload, total, tuple(granting)))
    return tuple(out)


def _open_rules(policy: NetpolPolicy, ports: tuple[ContainerPort, ...]) -> ConnSet:
    total = NO_CONNS
    for rule in policy.ingress:
        if rule.peers is None or any(_everyone(p) for p in rule.peers):
            total = total | _rule_conns(rule, ports)
    return total


def _everyone(peer: object) -> bool:
    return (
        isinstance(peer, PodPeer)
        and peer.namespace_selector is not None
        and peer.namespace_selector.selects_all
        and (peer.pod_selector is None or peer.pod_selector.selects_all)
    )


def _rule_conns(rule: Rule, ports: tuple[ContainerPort, ...]) -> ConnSet:
    if rule.ports is None:
        return ALL_CONNS
    total = NO_CONNS
    for spec in rule.ports:
        if isinstance(spec.port, str):
            for p in ports:
                if p.name == spec.port and p.protocol == spec.protocol:
                    total = total | ConnSet.of(p.protocol, p.port, p.port)
        elif spec.port is None:
            total = total | ConnSet.of(spec.protocol)
        else:
            total = total | ConnSet.of(spec.protocol, spec.port, spec.end_port or spec.port)
    return total


def _internet(conn: Connectivity, direction: Direction) -> tuple[NetpolExposure, ...]:
    by_workload: dict[str, list[IPFlow]] = {}
    for flow in conn.ip_flows:
        if flow.direction == direction:
            by_workload.setdefault(flow.workload, []).append(flow)
    out = []
    for workload, flows in sorted(by_workload.items()):
        common = _everywhere(flows)
        if common:
            policies = sorted({p for f in flows for p in f.policies})
            out.append(NetpolExposure(workload, common, tuple(policies)))
    return tuple(out)


def _everywhere(flows: Iterable[IPFlow]) -> ConnSet:
    """Connections allowed with every address, or nothing when some address is left out."""
    common, cursor = ALL_CONNS, 0
    for flow in sorted(flows, key=lambda f: f.first):
        if flow.first != cursor:
            return NO_CONNS
        common, cursor = common & flow.conns, flow.last + 1
    return common if cursor == IPV4_MAX + 1 else NO_CONNS
