"""Identity resolution: which declared service an observed flow endpoint is, if any.

Flow records name pods by namespace, labels, service account and workload; declarations name
services by namespace, ``podLabels`` and ``serviceAccount``. This module joins the two and never
guesses: an endpoint that matches no service, or more than one, stays unresolved and is named
for what it is (``world``, ``host``, ``unknown pod ns/pod``, ``unknown ip 10.1.2.3``, ...).
Endpoints recorded with an address only are completed first from a cluster snapshot
(:mod:`trustmap.observe.enrich`).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from trustmap.model import Graph, Service, ServiceRef

__all__ = [
    "WORLD",
    "Identity",
    "ObservedEndpoint",
    "Resolver",
    "is_external_ip",
    "unresolved_label",
]

WORLD = "world"
"""Label of peers outside the cluster (Cilium ``reserved:world`` or a public address)."""

_K8S_PREFIX = "k8s:"


@dataclass(frozen=True, slots=True)
class ObservedEndpoint:
    """One side of a flow row, as recorded."""

    namespace: str | None
    """Kubernetes namespace."""
    workload: str | None
    """Owning workload name (Hubble ``workloads``, CSV)."""
    service_account: str | None
    """Service account."""
    labels: tuple[str, ...]
    """Pod labels as ``key=value`` (a ``k8s:`` prefix is ignored)."""
    entity: str | None
    """Cilium reserved identity (``world``, ``host``, ...), comma-joined."""
    pod: str | None
    """Pod name."""
    ip: str | None
    """Address."""
    service: str | None = None
    """``namespace/name`` of the Kubernetes Service whose ClusterIP ``ip`` is (from a snapshot);
    ``labels`` then hold the Service's selector."""


@dataclass(frozen=True, slots=True)
class Identity:
    """What an endpoint resolved to: a declared service, or a named unresolved peer."""

    ref: ServiceRef | None
    """The declared service; ``None`` when unresolved."""
    label: str
    """``namespace/name`` for a service, else ``world``, an entity or ``unknown pod ns/pod``."""

    @property
    def resolved(self) -> bool:
        """True when the endpoint is a declared service."""
        return self.ref is not None

    @property
    def is_world(self) -> bool:
        """True for peers outside the cluster."""
        return self.label == WORLD


class Resolver:
    """Resolves endpoints against one graph's services (namespace + labels, SA or workload)."""

    def __init__(self, graph: Graph) -> None:
        by_namespace: dict[str, list[Service]] = defaultdict(list)
        for ref in sorted(graph.services):
            by_namespace[ref.namespace].append(graph.services[ref])
        self._by_namespace: Mapping[str, list[Service]] = dict(by_namespace)
        self._cache: dict[tuple[object, ...], Identity | None] = {}

    def resolve(self, endpoint: ObservedEndpoint) -> Identity:
        """The declared service ``endpoint`` belongs to, or an unresolved label."""
        key = (endpoint.namespace, endpoint.labels, endpoint.service_account, endpoint.workload)
        if key in self._cache:
            identity = self._cache[key]
        else:
            ref = self._match(endpoint)
            identity = self._cache[key] = None if ref is None else Identity(ref, str(ref))
        return identity or Identity(None, unresolved_label(endpoint))

    def _match(self, endpoint: ObservedEndpoint) -> ServiceRef | None:
        services = self._by_namespace.get(endpoint.namespace or "", [])
        if not services:
            return None
        labels = {_strip(label) for label in endpoint.labels}
        for matches in (
            [s for s in services if s.workload.pod_labels and _labels_match(s, labels)],
            [s for s in services if _account_match(s, endpoint.service_account)],
            [s for s in services if endpoint.workload and s.ref.name == endpoint.workload],
        ):
            if matches:
                return matches[0].ref if len(matches) == 1 else None
        return None


def _strip(label: str) -> str:
    return label.removeprefix(_K8S_PREFIX)


def _labels_match(service: Service, labels: set[str]) -> bool:
    return all(f"{key}={value}" in labels for key, value in service.workload.pod_labels)


def _account_match(service: Service, account: str | None) -> bool:
    return account is not None and service.workload.service_account == account


def unresolved_label(endpoint: ObservedEndpoint) -> str:
    """How an endpoint that is no declared service is named in reports.

    A named pod is a pod even when Cilium gave it the ``world`` identity (it did not know the
    pod yet); only peers without a pod are ``world``, an entity, or an address."""
    pod = endpoint.pod or endpoint.workload
    if endpoint.namespace and pod:
        return f"unknown pod {endpoint.namespace}/{pod}"
    if endpoint.service:
        return f"unknown service {endpoint.service}"
    if endpoint.entity:
        entities = endpoint.entity.split(",")
        return WORLD if WORLD in entities else endpoint.entity
    if endpoint.namespace:
        return f"unknown pod {endpoint.namespace}/{endpoint.ip or '?'}"
    if endpoint.ip and is_external_ip(endpoint.ip):
        return WORLD
    return f"unknown ip {endpoint.ip}" if endpoint.ip else "unknown"


def is_external_ip(address: str) -> bool:
    """True for a public address (outside private, loopback and link-local ranges)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_global
