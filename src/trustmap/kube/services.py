"""Services and Namespaces, typed.

A Service's ports say which container port a connection to the Service reaches (``targetPort``,
a number or a container port name, defaulting to ``port``); its selector says which pods. How an
Ingress or Route backend picks one of those ports is :func:`trustmap.kube.routes.backend_ports`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trustmap.diagnostics import Span
from trustmap.kube.fields import Here, Place, mapping, not_a, sequence, string
from trustmap.kube.objects import KubeObject, Labels
from trustmap.kube.workloads import KubeProtocol, read_labels, read_protocol

__all__ = ["KubeNamespace", "KubeService", "KubeServicePort", "read_namespace", "read_service"]


@dataclass(frozen=True, slots=True)
class KubeServicePort:
    """One ``spec.ports`` entry of a Service."""

    name: str | None
    port: int
    target_port: int | str
    """Container port number or name (``port`` when omitted)."""
    protocol: KubeProtocol
    app_protocol: str | None
    place: Place = field(compare=False, repr=False)

    @property
    def span(self) -> Span:
        """Where it is written."""
        return self.place.span


@dataclass(frozen=True, slots=True, eq=False)
class KubeService:
    """A Service."""

    name: str
    namespace: str
    """``default`` when the manifest names none."""
    selector: Labels | None
    """``spec.selector`` as sorted pairs; ``None`` when absent or empty (selects no pod)."""
    ports: tuple[KubeServicePort, ...]
    type: str
    """``spec.type`` (``ClusterIP`` when omitted)."""
    obj: KubeObject
    external_name: str | None = None
    """``spec.externalName`` of an ``ExternalName`` Service."""
    cluster_ips: tuple[str, ...] = ()
    """``spec.clusterIPs`` (or ``clusterIP``) as written; ``None``/empty entries dropped."""

    @property
    def span(self) -> Span:
        """Where ``metadata.name`` is written."""
        return self.obj.span

    @property
    def title(self) -> str:
        """``Service default/frontend``."""
        return f"Service {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, eq=False)
class KubeNamespace:
    """A Namespace with its labels as written."""

    name: str
    labels: Labels
    obj: KubeObject

    @property
    def span(self) -> Span:
        """Where ``metadata.name`` is written."""
        return self.obj.span


def read_namespace(obj: KubeObject, here: Here) -> KubeNamespace:
    """A Namespace whose identity was checked already; wrong label values are reported."""
    labels = read_labels(mapping(obj.raw, "metadata", here), here.at("metadata"))
    return KubeNamespace(obj.name, labels, obj)


def read_service(obj: KubeObject, here: Here) -> KubeService:
    """A Service whose identity was checked already; wrong ports are reported and left out."""
    spec = mapping(obj.raw, "spec", here) or {}
    there = here.at("spec")
    selector = mapping(spec, "selector", there)
    pairs = tuple(sorted((str(k), str(v)) for k, v in (selector or {}).items()))
    ports = []
    for i, entry in enumerate(sequence(spec, "ports", there) or []):
        port = _service_port(entry, there.at("ports", i))
        if port is not None:
            ports.append(port)
    kind = spec.get("type")
    external = spec.get("externalName")
    return KubeService(
        name=obj.name,
        namespace=obj.namespace or "default",
        selector=pairs or None,
        ports=tuple(ports),
        type=kind if isinstance(kind, str) and kind else "ClusterIP",
        obj=obj,
        external_name=external if isinstance(external, str) and external else None,
        cluster_ips=_cluster_ips(spec),
    )


def _service_port(raw: Any, here: Here) -> KubeServicePort | None:
    if not isinstance(raw, dict):
        not_a(here, "mapping", raw)
        return None
    number = raw.get("port")
    if isinstance(number, bool) or not isinstance(number, int):
        here.at("port").report(
            "TM607", f"service port {number!r} is not a port number", "use a number 1-65535"
        )
        return None
    target = raw.get("targetPort", number)
    if isinstance(target, bool) or not isinstance(target, int | str):
        here.at("targetPort").report(
            "TM607",
            f"targetPort {target!r} is not a number or a name",
            "use a container port number or name",
        )
        return None
    protocol = read_protocol(raw.get("protocol", "TCP"), here.at("protocol")) or "TCP"
    app = raw.get("appProtocol")
    name = string(raw, "name", here) or None
    return KubeServicePort(
        name, number, target, protocol, app if isinstance(app, str) else None, here.place
    )


def _cluster_ips(spec: dict[str, Any]) -> tuple[str, ...]:
    many = spec.get("clusterIPs")
    values = many if isinstance(many, list) and many else [spec.get("clusterIP")]
    return tuple(v for v in values if isinstance(v, str) and v)
