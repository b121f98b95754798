"""Istio ServiceEntries for calls out of the cluster, one per destination and namespace.

With outbound ``REGISTRY_ONLY`` a sidecar reaches only hosts in the mesh registry; a ServiceEntry
puts a declared external host (or CIDR) there, visible to its own namespace only (``exportTo: .``),
with the union of the ports its services declared.

How the sidecar tells destinations apart decides each port's protocol. HTTP is matched by the Host
header and TLS by the SNI against ``hosts``; opaque TCP by the destination address against
``addresses``, or, without addresses, by the port alone (istio/api ``service_entry.proto``, field
``hosts``; istio.io analyzer IST0134). So a host name keeps 443 as TLS and 80 as HTTP, and its other
ports are opaque TCP, which admits any address on that port: reported (TM321). A CIDR gets a
placeholder host under the reserved ``.invalid`` domain that no client ever names, so every one of
its ports is TCP, matched by address (a TLS port would be matched by SNI against the placeholder
and black-holed under ``REGISTRY_ONLY``).
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
    spec["ports"] = [_port(p, by_address=first.cidr is not None) for p in ports]
    if first.host is not None:
        _report_opaque(compiler, host, calls, spec["ports"])
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


def _port(port: PortSpec, *, by_address: bool) -> ServiceEntryPort:
    protocol = "TCP" if by_address else _PROTOCOLS.get(port.port, "TCP")
    return {"number": port.port, "name": f"{protocol.lower()}-{port.port}", "protocol": protocol}


def _report_opaque(
    compiler: Compiler,
    host: str,
    calls: list[tuple[ServiceRef, Egress]],
    ports: list[ServiceEntryPort],
) -> None:
    """TM321 for each declared egress to ``host`` on a port Istio matches by port alone."""
    opaque = {p["number"] for p in ports if p["protocol"] == "TCP"}
    for ref, egress in calls:
        mine = sorted(opaque & {p.port for p in egress.ports})
        if mine:
            listed = ", ".join(str(p) for p in mine)
            compiler.unsupported(
                "TM321",
                egress.span,
                f"istio matches opaque TCP by address, and a host name has none: egress of {ref} "
                f"to {host} on port {listed} lets it reach any address on that port",
                "declare the destination's addresses as 'cidr:' instead, or use port 443 (TLS, "
                "matched by SNI) or 80 (HTTP, matched by Host)",
            )
