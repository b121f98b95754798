"""What Ingress and Route objects expose: per pod class, the Service target ports they route to.

The ``{ingress-controller}`` placeholder may reach a workload only on the target ports of the
Services that an Ingress or Route names and that select the workload's pods; NetworkPolicies
then cut that down further (see :mod:`trustmap.analysis.reachability`).
"""

from __future__ import annotations

from trustmap.analysis.classes import Profile, Universe, indices
from trustmap.analysis.objects import Cluster
from trustmap.analysis.ports import NO_CONNS, ConnSet
from trustmap.analysis.selectors import Selector
from trustmap.kube import KubeServicePort, backend_ports

__all__ = ["exposed_ports"]


def exposed_ports(
    cluster: Cluster, universe: Universe
) -> dict[int, tuple[ConnSet, tuple[str, ...]]]:
    """Class index → (target ports routed to it, sources ``Ingress ns/name``/``Route ns/name``)."""
    services = {(s.namespace, s.name): s for s in cluster.services}
    found: dict[int, tuple[ConnSet, tuple[str, ...]]] = {}
    for backend in cluster.backends:
        service = services.get((backend.namespace, backend.service))
        if service is None or not service.selector:
            continue
        ports = backend_ports(backend, service)
        selector = Selector.of(dict(service.selector))
        targets = universe.ns_bits.get(service.namespace, 0) & universe.pods.select(selector)
        for c in indices(targets & universe.real):
            conns = NO_CONNS
            for port in ports:
                conns = conns | _target_conns(port, universe.classes[c].profile)
            if conns:
                old, sources = found.get(c, (NO_CONNS, ()))
                merged = tuple(sorted({*sources, backend.source}))
                found[c] = (old | conns, merged)
    return found


def _target_conns(port: KubeServicePort, profile: Profile) -> ConnSet:
    target = port.target_port
    if isinstance(target, int):
        return ConnSet.of(port.protocol, target, target)
    conns = NO_CONNS
    for name, protocol, number in profile:
        if name == target and protocol == port.protocol:
            conns = conns | ConnSet.of(protocol, number, number)
    return conns
