"""Istio ServiceEntries for calls out of the cluster, one per destination and namespace.

With outbound ``REGISTRY_ONLY`` a sidecar reaches only hosts in the mesh registry; a ServiceEntry
puts a declared external host (or CIDR) there, visible to its own namespace only (``exportTo: .``),
with the union of the ports its services declared. A CIDR gets a placeholder host name under the
reserved ``.invalid`` domain: for TCP, Istio matches such an entry by its ``addresses``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from trustmap.dialects.names import object_name
from trustmap.dialects.provenance import egress_source
from trustmap.manifests import ServiceEntry, ServiceEntryPort, ServiceEntrySpec
from trustmap.model import Egress, PortSpec, ServiceRef

if TYPE_CHECKING:
    from trustmap.dialects.base import Compiler

__all__ = ["API_SERVER_HOST", "CLUSTER_DOMAIN", "external_host", "service_entries"]

CLUSTER_DOMAIN = "cluster.local"
"""DNS domain of Services in the cluster (Sidecar hosts name ``<svc>.<ns>.svc.<domain>``)."""
API_SERVER_HOST = f"default/kubernetes.default.svc.{CLUSTER_DOMAIN}"
"""The API server as a Sidecar egress host."""

_PROTOCOLS = {443: "TLS", 80: "HTTP"}


def external_host(egress: Egress) -> str:
    """The registry host of an external destination (a placeholder name for a CIDR)."""
    if egress.host is not None:
        return egress.host
    return f"{object_name(egress.cidr or '')}.cidr.invalid"


def service_entries(
    compiler: Compiler, namespace: str, calls: Iterable[tuple[ServiceRef, Egress]]
) -> list[ServiceEntry]:
    """One ServiceEntry per external destination called from ``namespace``, sorted by host."""
    grouped: dict[str, list[tuple[ServiceRef, Egress]]] = {}
    for source, egress in calls:
        if not egress.api_server:
            grouped.setdefault(external_host(egress), []).append((source, egress))
    return [_entry(compiler, namespace, host, grouped[host]) for host in sorted(grouped)]


def _entry(
    compiler: Compiler, namespace: str, host: str, calls: list[tuple[ServiceRef, Egress]]
) -> ServiceEntry:
    first = calls[0][1]
    ports = sorted({p for _, egress in calls for p in egress.ports}, key=lambda p: p.port)
    spec: ServiceEntrySpec = {"hosts": [host]}
    if first.cidr is not None:
        spec["addresses"] = [first.cidr]
    spec["ports"] = [_port(p) for p in ports]
    spec["location"] = "MESH_EXTERNAL"
    spec["resolution"] = "DNS" if first.host is not None and "*" not in host else "NONE"
    spec["exportTo"] = ["."]
    label = host.replace("*", "wildcard") if first.host is not None else (first.cidr or host)
    name = compiler.name("ServiceEntry", namespace, "egress", label)
    sources = [egress_source(ref, egress) for ref, egress in calls]
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": compiler.metadata(name, namespace, sources),
        "spec": spec,
    }


def _port(port: PortSpec) -> ServiceEntryPort:
    protocol = _PROTOCOLS.get(port.port, "TCP")
    return {"number": port.port, "name": f"{protocol.lower()}-{port.port}", "protocol": protocol}
