"""Which analysed workloads stand for which declarations: services, DNS, ingress and platform peers.

A declared service is the set of workloads of its namespace whose pod labels include the
service's ``workload.pod_labels``; organisation peers (ingress controllers, platform consumers,
the DNS resolver) are matched the same way by their namespace and labels. np-guard's
``{ingress-controller}`` placeholder is never mapped: it stands for no particular pods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trustmap.analysis import Connectivity
from trustmap.model import Endpoint, Graph, Labels, ServiceRef

__all__ = ["Peers", "peers_of"]


@dataclass(frozen=True, slots=True)
class Peers:
    """The workloads of each declaration, and the workloads whose traffic is governed."""

    by_service: Mapping[ServiceRef, tuple[str, ...]]
    """Declared service → workload ids (empty when the manifests have none)."""
    owner: Mapping[str, ServiceRef]
    """Workload id → the (first) declared service it belongs to."""
    workloads: Mapping[str, Labels]
    """Workload id → pod labels, for matching organisation peers."""
    by_namespace: Mapping[str, tuple[str, ...]]
    """Namespace → its workload ids, sorted."""

    def select(self, namespace: str, labels: Labels) -> tuple[str, ...]:
        """Workloads of ``namespace`` whose pods carry every label of ``labels``."""
        wanted = set(labels)
        return tuple(
            wid
            for wid in self.by_namespace.get(namespace, ())
            if wanted <= set(self.workloads[wid])
        )

    def of_endpoint(self, endpoint: Endpoint) -> tuple[str, ...]:
        """Workloads of a calling endpoint (none for ``world``: it is no workload)."""
        if endpoint.kind == "world":
            return ()
        if endpoint.ref is not None:
            return self.by_service.get(endpoint.ref, ())
        return self.select(endpoint.namespace, endpoint.pod_labels)

    def governed(self, workload: str) -> bool:
        """Whether the workload belongs to a declared service (its traffic is compared)."""
        return workload in self.owner


def peers_of(graph: Graph, conn: Connectivity) -> Peers:
    """Map every declared service of ``graph`` to the workloads ``conn`` knows."""
    workloads = {wid: w.labels for wid, w in sorted(conn.workloads.items())}
    by_namespace: dict[str, list[str]] = {}
    for wid in workloads:
        by_namespace.setdefault(conn.workloads[wid].namespace, []).append(wid)
    base = Peers({}, {}, workloads, {ns: tuple(ids) for ns, ids in by_namespace.items()})
    by_service: dict[ServiceRef, tuple[str, ...]] = {}
    owner: dict[str, ServiceRef] = {}
    for ref, service in graph.services.items():
        found = base.select(ref.namespace, service.workload.pod_labels)
        by_service[ref] = found
        for wid in found:
            owner.setdefault(wid, ref)
    return Peers(by_service, owner, workloads, base.by_namespace)
