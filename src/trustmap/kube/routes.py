"""Ingress, OpenShift Route and Gateway API route backends: which Service (and port) outside
traffic is sent to.

How a backend's port picks the Service port it means differs by kind:

* Ingress (``service.port.number``/``service.port.name``, or the v1beta1 ``servicePort``): the
  first Service port (in the order written) whose number, ``targetPort`` or name equals the value
  compared as text, as ingress-nginx picks it (``serviceEndpoints`` in
  ``internal/ingress/controller/controller.go`` of kubernetes/ingress-nginx);
* Route (``spec.port.targetPort``): a name is the Service port's name or named target port; a
  number is the target port, or failing that the Service port;
* HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute (``backendRefs[].port``): the Service port.

A backend without a port may use every port of the Service.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from trustmap.diagnostics import Span
from trustmap.kube.fields import Here, Place, mapping, sequence
from trustmap.kube.objects import KubeObject
from trustmap.kube.services import KubeService, KubeServicePort

__all__ = [
    "GATEWAY_ROUTE_KINDS",
    "BackendPort",
    "KubeBackend",
    "backend_ports",
    "read_backends",
]

BackendPort = tuple[Literal["port", "name", "target", "any"], int | str | None]
"""How a backend picks the Service port: by ``port`` number, ``name``, ``target`` port, any."""

GATEWAY_ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"})


@dataclass(frozen=True, slots=True, eq=False)
class KubeBackend:
    """A Service that an Ingress, Route or Gateway API route sends traffic to."""

    obj: KubeObject
    """The Ingress, Route or ``*Route`` object."""
    namespace: str
    """The Service's namespace (the route's own, or a Gateway API ``backendRefs[].namespace``)."""
    service: str
    port: BackendPort
    place: Place = field(repr=False)
    """Where the backend is written."""

    @property
    def span(self) -> Span:
        """Where the backend is written."""
        return self.place.span

    @property
    def source(self) -> str:
        """``Ingress ns/name``, ``Route ns/name``, ``HTTPRoute ns/name``."""
        return f"{self.obj.kind} {self.obj.namespace or 'default'}/{self.obj.name}"


def read_backends(obj: KubeObject, here: Here) -> list[KubeBackend]:
    """The backends of an Ingress, Route or Gateway API route, in the order written."""
    spec = mapping(obj.raw, "spec", here) or {}
    there = here.at("spec")
    namespace = obj.namespace or "default"
    if obj.kind == "Route":
        found = _route_refs(spec, there)
    elif obj.kind in GATEWAY_ROUTE_KINDS:
        found = list(_gateway_refs(spec, there, namespace))
    else:
        found = list(_ingress_refs(spec, there))
    return [KubeBackend(obj, ns or namespace, svc, port, at.place) for svc, port, at, ns in found]


_Ref = tuple[str, BackendPort, Here, str | None]


def _route_refs(spec: dict[str, Any], here: Here) -> list[_Ref]:
    port: BackendPort = ("any", None)
    target = (mapping(spec, "port", here) or {}).get("targetPort")
    if isinstance(target, int | str) and not isinstance(target, bool):
        port = ("target", target)
    refs: list[_Ref] = []
    alternates = sequence(spec, "alternateBackends", here) or []
    places = [(spec.get("to"), here.at("to"))]
    places += [(ref, here.at("alternateBackends", i)) for i, ref in enumerate(alternates)]
    for ref, at in places:
        if isinstance(ref, dict) and ref.get("kind", "Service") == "Service":
            service = ref.get("name")
            if isinstance(service, str) and service:
                refs.append((service, port, at, None))
    return refs


def _ingress_refs(spec: dict[str, Any], here: Here) -> Iterator[_Ref]:
    places = [
        (spec.get("defaultBackend"), here.at("defaultBackend")),
        (spec.get("backend"), here.at("backend")),
    ]
    for i, rule in enumerate(sequence(spec, "rules", here) or []):
        http = rule.get("http") if isinstance(rule, dict) else None
        paths = http.get("paths") if isinstance(http, dict) else None
        for j, path in enumerate(paths if isinstance(paths, list) else []):
            if isinstance(path, dict):
                at = here.at("rules", i, "http", "paths", j, "backend")
                places.append((path.get("backend"), at))
    for raw, at in places:
        ref = _ingress_backend(raw)
        if ref is not None:
            yield ref[0], ref[1], at, None


def _ingress_backend(raw: Any) -> tuple[str, BackendPort] | None:
    if not isinstance(raw, dict):
        return None
    service = raw.get("service")
    if isinstance(service, dict):  # networking.k8s.io/v1
        name, port = service.get("name"), service.get("port") or {}
        value = port.get("number") if port.get("number") is not None else port.get("name")
    else:  # extensions/v1beta1 and networking.k8s.io/v1beta1
        name, value = raw.get("serviceName"), raw.get("servicePort")
    if not isinstance(name, str) or not name:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        return name, ("any", None)
    return name, ("port", value) if isinstance(value, int) else ("name", value)


def _gateway_refs(spec: dict[str, Any], here: Here, namespace: str) -> Iterator[_Ref]:
    for i, rule in enumerate(sequence(spec, "rules", here) or []):
        refs = rule.get("backendRefs") if isinstance(rule, dict) else None
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            if not isinstance(ref, dict) or ref.get("kind", "Service") != "Service":
                continue
            if ref.get("group", "") not in ("", "core"):
                continue
            name, port, ns = ref.get("name"), ref.get("port"), ref.get("namespace")
            if isinstance(name, str) and name:
                how: BackendPort = ("port", port) if _is_int(port) else ("any", None)
                at = here.at("rules", i, "backendRefs", j)
                yield name, how, at, ns if isinstance(ns, str) and ns else namespace


def backend_ports(backend: KubeBackend, service: KubeService) -> tuple[KubeServicePort, ...]:
    """The ports of ``service`` that ``backend`` sends traffic to (see the module docstring)."""
    how, value = backend.port
    ports = service.ports
    if how == "any":
        return ports
    if backend.obj.kind == "Route":
        if isinstance(value, str):
            return tuple(p for p in ports if value in (p.name, p.target_port))
        by_target = tuple(p for p in ports if p.target_port == value)
        return by_target or tuple(p for p in ports if p.port == value)
    if backend.obj.kind in GATEWAY_ROUTE_KINDS:
        return tuple(p for p in ports if p.port == value)
    text = str(value)
    first = [p for p in ports if text in (str(p.port), str(p.target_port), p.name)][:1]
    return tuple(first)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
