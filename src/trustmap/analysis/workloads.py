"""Parsing the non-policy objects: pods and pod-producing controllers, namespaces, Services,
Ingress and OpenShift Route objects.

Controllers (Deployment, StatefulSet, …) become one workload from their pod template; a bare
Pod becomes its controller owner (``ownerReferences`` with ``controller: true``) or itself, as
np-guard names them. Services, Ingresses and Routes are kept only as far as they resolve
``{ingress-controller}`` backends.
"""

from __future__ import annotations

from typing import Any, cast

from trustmap.analysis.objects import (
    Backend,
    BackendPort,
    ContainerPort,
    Labels,
    Namespace,
    Origin,
    Pod,
    Service,
    ServicePort,
    Workload,
)
from trustmap.analysis.ports import MAX_PORT, MIN_PORT, PROTOCOLS, Protocol
from trustmap.analysis.raw import (
    mapping,
    not_a,
    sequence,
    string,
    suggest,
    type_name,
    unknown_fields,
)
from trustmap.analysis.source import Cursor

__all__ = [
    "CONTROLLER_KINDS",
    "parse_backends",
    "parse_labels",
    "parse_namespace",
    "parse_pod",
    "parse_service",
]

CONTROLLER_KINDS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
"""Pod-producing kinds and the key path of their pod template."""

_CONTAINER_PORT_FIELDS = ("name", "containerPort", "protocol", "hostPort", "hostIP")


def parse_labels(meta: dict[str, Any] | None, cur: Cursor) -> Labels:
    """``metadata.labels`` as sorted pairs; non-string values are reported and dropped."""
    raw = mapping(meta, "labels", cur)
    pairs = []
    for key, value in (raw or {}).items():
        if isinstance(key, str) and isinstance(value, str):
            pairs.append((key, value))
        else:
            cur.at("labels", str(key)).report(
                "TM610",
                f"label {key!r} must have a string value, got {type_name(value)}",
                f'quote the value: "{value}"',
            )
    return tuple(sorted(pairs))


def parse_namespace(raw: dict[str, Any], name: str, cur: Cursor) -> Namespace:
    """A Namespace; the labels get ``kubernetes.io/metadata.name`` when missing."""
    labels = dict(parse_labels(mapping(raw, "metadata", cur), cur.at("metadata")))
    labels.setdefault("kubernetes.io/metadata.name", name)
    return Namespace(name, tuple(sorted(labels.items())))


def parse_pod(raw: dict[str, Any], kind: str, name: str, namespace: str, cur: Cursor) -> Pod:
    """The pod shape of a Pod or a controller's template, attributed to its workload."""
    if kind == "Pod":
        template: Any = raw
        tcur = cur
        workload_name, workload_kind = _owner(raw, name, cur)
    else:
        template, tcur = _template(raw, CONTROLLER_KINDS[kind], cur)
        workload_name, workload_kind = name, kind
    meta = mapping(template, "metadata", tcur)
    labels = parse_labels(meta, tcur.at("metadata"))
    spec = mapping(template, "spec", tcur)
    ports = _container_ports(spec, tcur.at("spec"))
    workload = Workload(namespace, workload_name, workload_kind, labels)
    origin = Origin(cur.file, cur.doc, cur.path)
    return Pod(workload, labels, ports, origin)


def _template(raw: dict[str, Any], path: tuple[str, ...], cur: Cursor) -> tuple[Any, Cursor]:
    value: Any = raw
    for key in path:
        value = mapping(value, key, cur)
        cur = cur.at(key)
        if value is None:
            return {}, cur
    return value, cur


def _owner(raw: dict[str, Any], name: str, cur: Cursor) -> tuple[str, str]:
    meta = raw.get("metadata") or {}
    refs = sequence(meta, "ownerReferences", cur.at("metadata")) or []
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller") is True and ref.get("kind") != "Node":
            owner = ref.get("name")
            if isinstance(owner, str) and owner:
                kind = ref.get("kind")
                return owner, kind if isinstance(kind, str) and kind else "Pod"
    return name, "Pod"


def _container_ports(spec: dict[str, Any] | None, cur: Cursor) -> tuple[ContainerPort, ...]:
    found: list[ContainerPort] = []
    for i, container in enumerate(sequence(spec, "containers", cur) or []):
        ccur = cur.at("containers", i)
        for j, raw in enumerate(sequence(container, "ports", ccur) or []):
            port = _container_port(raw, ccur.at("ports", j))
            if port is not None:
                found.append(port)
    return tuple(found)


def _container_port(raw: Any, cur: Cursor) -> ContainerPort | None:
    if not isinstance(raw, dict):
        not_a(cur, "mapping", raw)
        return None
    unknown_fields(raw, _CONTAINER_PORT_FIELDS, cur)
    number = raw.get("containerPort")
    protocol = _protocol(raw.get("protocol", "TCP"), cur.at("protocol"))
    name = string(raw, "name", cur) or ""
    if number is None:
        return None  # Kubernetes requires it; without it the entry declares nothing usable
    if (
        isinstance(number, bool)
        or not isinstance(number, int)
        or not MIN_PORT <= number <= MAX_PORT
    ):
        cur.at("containerPort").report(
            "TM607", f"containerPort {number!r} is not a port number", f"use {MIN_PORT}-{MAX_PORT}"
        )
        return None
    return ContainerPort(name, number, protocol or "TCP")


def _protocol(value: Any, cur: Cursor) -> Protocol | None:
    if value in PROTOCOLS:
        return cast(Protocol, value)
    cur.report(
        "TM608",
        f"unknown protocol {value!r}{suggest(value, PROTOCOLS)}",
        "use TCP, UDP or SCTP (upper case)",
    )
    return None


def parse_service(raw: dict[str, Any], name: str, namespace: str, cur: Cursor) -> Service:
    """A Service's selector and ports."""
    spec = mapping(raw, "spec", cur) or {}
    scur = cur.at("spec")
    selector = mapping(spec, "selector", scur)
    pairs = tuple(sorted((str(k), str(v)) for k, v in (selector or {}).items()))
    ports = []
    for i, port in enumerate(sequence(spec, "ports", scur) or []):
        parsed = _service_port(port, scur.at("ports", i))
        if parsed is not None:
            ports.append(parsed)
    return Service(namespace, name, pairs or None, tuple(ports))


def _service_port(raw: Any, cur: Cursor) -> ServicePort | None:
    if not isinstance(raw, dict):
        not_a(cur, "mapping", raw)
        return None
    number = raw.get("port")
    if isinstance(number, bool) or not isinstance(number, int):
        cur.at("port").report(
            "TM607", f"service port {number!r} is not a port number", "use a number 1-65535"
        )
        return None
    target = raw.get("targetPort", number)
    if isinstance(target, bool) or not isinstance(target, int | str):
        cur.at("targetPort").report(
            "TM607",
            f"targetPort {target!r} is not a number or a name",
            "use a container port number or name",
        )
        return None
    protocol = _protocol(raw.get("protocol", "TCP"), cur.at("protocol")) or "TCP"
    return ServicePort(string(raw, "name", cur) or "", protocol, number, target)


def parse_backends(
    raw: dict[str, Any], kind: str, name: str, namespace: str, cur: Cursor
) -> list[Backend]:
    """The Services an Ingress or a Route sends traffic to."""
    origin = Origin(cur.file, cur.doc, cur.path)
    source = f"{kind} {namespace}/{name}"
    spec = mapping(raw, "spec", cur) or {}
    if kind == "Route":
        refs = _route_refs(spec, cur.at("spec"))
    else:
        refs = _ingress_refs(spec, cur.at("spec"))
    return [Backend(source, namespace, svc, port, origin) for svc, port in refs]


def _route_refs(spec: dict[str, Any], cur: Cursor) -> list[tuple[str, BackendPort]]:
    port: BackendPort = ("any", None)
    target = (mapping(spec, "port", cur) or {}).get("targetPort")
    if isinstance(target, int | str) and not isinstance(target, bool):
        port = ("target", target)
    targets = [spec.get("to"), *(sequence(spec, "alternateBackends", cur) or [])]
    refs = []
    for ref in targets:
        if isinstance(ref, dict) and ref.get("kind", "Service") == "Service":
            service = ref.get("name")
            if isinstance(service, str) and service:
                refs.append((service, port))
    return refs


def _ingress_refs(spec: dict[str, Any], cur: Cursor) -> list[tuple[str, BackendPort]]:
    backends = [spec.get("defaultBackend"), spec.get("backend")]
    for rule in sequence(spec, "rules", cur) or []:
        http = rule.get("http") if isinstance(rule, dict) else None
        paths = http.get("paths") if isinstance(http, dict) else None
        for path in paths if isinstance(paths, list) else []:
            if isinstance(path, dict):
                backends.append(path.get("backend"))
    refs = []
    for backend in backends:
        ref = _ingress_backend(backend)
        if ref is not None:
            refs.append(ref)
    return refs


def _ingress_backend(raw: Any) -> tuple[str, BackendPort] | None:
    if not isinstance(raw, dict):
        return None
    service = raw.get("service")
    if isinstance(service, dict):  # networking.k8s.io/v1
        name, port = service.get("name"), service.get("port") or {}
        value = port.get("number") if port.get("number") is not None else port.get("name")
        how = "port" if isinstance(value, int) else "name"
    else:  # extensions/v1beta1 and networking.k8s.io/v1beta1
        name, value = raw.get("serviceName"), raw.get("servicePort")
        how = "port" if isinstance(value, int) else "name"
    if not isinstance(name, str) or not name:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        return name, ("any", None)
    return name, (how, value)  # type: ignore[return-value]
