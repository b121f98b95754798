"""Fill in flow endpoints that were recorded without an identity, from a cluster snapshot.

An endpoint with pod labels is left as recorded. One without labels is completed, in order:

1. by pod name (``namespace/pod`` recorded, e.g. an Istio ``--reporter`` or Hubble compact):
   labels, service account and workload of that pod;
2. by address: a pod's ``podIPs`` give the pod (namespace, name, labels, service account,
   workload); a Service's ClusterIP gives the Service, whose selector stands for the labels of
   every pod it selects, and whose port is translated to the ``targetPort`` the pod receives.

Nothing is guessed: an address the snapshot does not hold, one shared by several pods (host
network, reuse), or a recorded namespace that disagrees with the snapshot leaves the endpoint
as it was, and identity resolution names it for what it is (``unknown ip 10.1.2.3``).
"""

from __future__ import annotations

from dataclasses import replace

from trustmap.kube import Labels
from trustmap.observe.identity import WORLD, ObservedEndpoint
from trustmap.observe.observed import ObservedGroup
from trustmap.observe.snapshot import ClusterSnapshot, SnapshotPod, SnapshotService

__all__ = ["Enricher"]


class Enricher:
    """Completes endpoints of observed groups from one snapshot (results cached)."""

    def __init__(self, snapshot: ClusterSnapshot) -> None:
        self.snapshot = snapshot
        self._cache: dict[ObservedEndpoint, tuple[ObservedEndpoint, SnapshotService | None]] = {}
        self._ports: dict[tuple[str, int, str], int | None] = {}

    def group(self, group: ObservedGroup) -> ObservedGroup:
        """``group`` with its endpoints completed and a Service port turned into the target port."""
        src, _ = self.endpoint(group.src)
        dst, service = self.endpoint(group.dst)
        port = group.port
        if service is not None and port is not None:
            port = self._target_port(service, port, group.protocol) or port
        if src is group.src and dst is group.dst and port == group.port:
            return group
        return replace(group, src=src, dst=dst, port=port)

    def _target_port(self, service: SnapshotService, port: int, protocol: str) -> int | None:
        key = (service.ref, port, protocol)
        if key not in self._ports:
            self._ports[key] = self.snapshot.target_port(service, port, protocol)
        return self._ports[key]

    def endpoint(
        self, endpoint: ObservedEndpoint
    ) -> tuple[ObservedEndpoint, SnapshotService | None]:
        """The completed endpoint, and the Service when it was a ClusterIP."""
        if endpoint not in self._cache:
            self._cache[endpoint] = self._complete(endpoint)
        return self._cache[endpoint]

    def _complete(
        self, endpoint: ObservedEndpoint
    ) -> tuple[ObservedEndpoint, SnapshotService | None]:
        if endpoint.labels or not _maybe_pod(endpoint):
            return endpoint, None
        if endpoint.namespace and endpoint.pod:
            pod = self.snapshot.pod(endpoint.namespace, endpoint.pod)
            if pod is not None:
                return _with_pod(endpoint, pod), None
        found = self.snapshot.at(endpoint.ip) if endpoint.ip else None
        if found is None or endpoint.namespace not in (None, found.namespace):
            return endpoint, None
        if endpoint.pod and not (isinstance(found, SnapshotPod) and endpoint.pod == found.name):
            return endpoint, None  # a recorded pod name the address does not confirm
        if isinstance(found, SnapshotPod):
            return _with_pod(endpoint, found), None
        return _with_service(endpoint, found), found


def _maybe_pod(endpoint: ObservedEndpoint) -> bool:
    """Cilium's reserved identities other than ``world`` (host, remote-node, kube-apiserver...)
    are not pods; ``world`` may be a pod Cilium did not know yet."""
    if not endpoint.entity:
        return True
    return WORLD in endpoint.entity.split(",")


def _with_pod(endpoint: ObservedEndpoint, pod: SnapshotPod) -> ObservedEndpoint:
    return replace(
        endpoint,
        namespace=pod.namespace,
        pod=pod.name,
        entity=None,
        labels=_observed(pod.labels),
        service_account=endpoint.service_account or pod.service_account,
        workload=endpoint.workload or pod.workload,
    )


def _with_service(endpoint: ObservedEndpoint, service: SnapshotService) -> ObservedEndpoint:
    return replace(
        endpoint,
        namespace=service.namespace,
        labels=_observed(service.selector),
        entity=None,
        service=service.ref,
    )


def _observed(labels: Labels) -> tuple[str, ...]:
    """Labels as flow records carry them: sorted ``key=value`` strings."""
    return tuple(sorted(f"{key}={value}" for key, value in labels))
