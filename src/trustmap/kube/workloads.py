"""Pod-producing objects and their pod templates: containers, ports and probes, typed.

Every controller kind is read from its pod template (``spec.template``; a CronJob's
``spec.jobTemplate.spec.template``); a bare Pod is its own template and names its controlling
owner (``ownerReferences`` with ``controller: true``, not a Node) in :attr:`KubeWorkload.owner`.
Problems are reported at the value with the TM6xx codes ``trustmap analyze`` has always used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

from trustmap.diagnostics import Span
from trustmap.kube.fields import (
    FieldPath,
    Here,
    Place,
    mapping,
    not_a,
    sequence,
    string,
    suggest,
    type_name,
    unknown_fields,
)
from trustmap.kube.objects import KubeObject, Labels, string_pairs
from trustmap.kube.probes import KubeProbe, read_probes

__all__ = [
    "MAX_PORT",
    "MIN_PORT",
    "PROTOCOLS",
    "TEMPLATE_PATHS",
    "KubeContainer",
    "KubeContainerPort",
    "KubeProtocol",
    "KubeWorkload",
    "read_labels",
    "read_protocol",
    "read_workload",
]

KubeProtocol = Literal["SCTP", "TCP", "UDP"]
PROTOCOLS: tuple[KubeProtocol, ...] = ("SCTP", "TCP", "UDP")
MIN_PORT = 1
MAX_PORT = 65535

TEMPLATE_PATHS: dict[str, FieldPath] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "DeploymentConfig": ("spec", "template"),
}
"""Pod-producing kinds and the key path of their pod template (``()``: the Pod itself)."""

_CONTAINER_PORT_FIELDS = ("name", "containerPort", "protocol", "hostPort", "hostIP")


@dataclass(frozen=True, slots=True)
class KubeContainerPort:
    """One ``ports`` entry of a container."""

    name: str | None
    port: int
    """``containerPort``."""
    protocol: KubeProtocol
    place: Place = field(compare=False, repr=False)

    @property
    def span(self) -> Span:
        """Where it is written."""
        return self.place.span


@dataclass(frozen=True, slots=True, eq=False)
class KubeContainer:
    """One container of a pod template."""

    name: str
    image: str
    ports: tuple[KubeContainerPort, ...]
    probes: tuple[KubeProbe, ...]
    place: Place = field(repr=False)
    """Where the container's entry is written."""
    path: FieldPath
    """Key path of the container inside its object (for :meth:`KubeObject.span_at`)."""
    raw: dict[str, Any]
    """The container as read."""
    init: bool = False
    """Listed under ``initContainers``."""
    sidecar: bool = False
    """An init container with ``restartPolicy: Always``: it runs beside the app containers."""

    @property
    def span(self) -> Span:
        """Where it is written."""
        return self.place.span


@dataclass(frozen=True, slots=True, eq=False)
class KubeWorkload:
    """A pod-producing object (or a bare Pod) with its pod template resolved."""

    kind: str
    name: str
    namespace: str
    """``default`` when the manifest names none."""
    pod_labels: Labels
    """The pod template's labels (a Pod's own labels)."""
    service_account: str
    """``serviceAccountName`` (or the deprecated ``serviceAccount``); ``default`` when omitted,
    as the API server sets it."""
    service_account_written: bool
    containers: tuple[KubeContainer, ...]
    """App containers in order, then sidecar init containers (``restartPolicy: Always``)."""
    init_containers: tuple[KubeContainer, ...]
    """Every ``initContainers`` entry, sidecars included, in order."""
    pod_annotations: tuple[tuple[str, str], ...]
    host_network: bool
    obj: KubeObject
    owner: tuple[str, str] | None = None
    """``(kind, name)`` of the controlling owner (``ownerReferences`` with ``controller: true``,
    not a Node) of an exported object: a Pod's ReplicaSet, a ReplicaSet's Deployment."""
    template_path: FieldPath = ()
    """Key path of the pod template inside the object."""

    @property
    def span(self) -> Span:
        """Where ``metadata.name`` is written."""
        return self.obj.span

    @property
    def title(self) -> str:
        """``Deployment default/frontend``."""
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def app_containers(self) -> tuple[KubeContainer, ...]:
        """The ``containers`` entries only (no init container, no sidecar)."""
        return tuple(c for c in self.containers if not c.init)

    @property
    def app_ports(self) -> tuple[KubeContainerPort, ...]:
        """The ports of the app containers, in order."""
        return tuple(p for c in self.containers if not c.init for p in c.ports)


def read_workload(obj: KubeObject, here: Here) -> KubeWorkload:
    """The workload of a pod-producing object whose identity was checked already."""
    tpath = TEMPLATE_PATHS[obj.kind]
    template, there = _template(obj.raw, tpath, here)
    meta = mapping(template, "metadata", there)
    spec = mapping(template, "spec", there) or {}
    shere = there.at("spec")
    account = _account(spec)
    init = tuple(_containers(spec, "initContainers", shere, obj))
    host = spec.get("hostNetwork")
    return KubeWorkload(
        kind=obj.kind,
        name=obj.name,
        namespace=obj.namespace or "default",
        pod_labels=read_labels(meta, there.at("metadata")),
        service_account=account or "default",
        service_account_written=account is not None,
        containers=(*_containers(spec, "containers", shere, obj), *(c for c in init if c.sidecar)),
        init_containers=init,
        pod_annotations=string_pairs((meta or {}).get("annotations")),
        host_network=host is True,
        obj=obj,
        owner=_owner(obj.raw, here),
        template_path=tpath,
    )


def read_labels(meta: dict[str, Any] | None, here: Here) -> Labels:
    """``metadata.labels`` as sorted pairs; non-string values are reported (TM610) and dropped."""
    raw = mapping(meta, "labels", here)
    pairs = []
    for key, value in (raw or {}).items():
        if isinstance(key, str) and isinstance(value, str):
            pairs.append((key, value))
        else:
            here.at("labels", str(key)).report(
                "TM610",
                f"label {key!r} must have a string value, got {type_name(value)}",
                f'quote the value: "{value}"',
            )
    return tuple(sorted(pairs))


def _template(raw: Any, path: FieldPath, here: Here) -> tuple[Any, Here]:
    value: Any = raw
    for key in path:
        value = mapping(value, str(key), here)
        here = here.at(key)
        if value is None:
            return {}, here
    return value, here


def _account(spec: dict[str, Any]) -> str | None:
    for key in ("serviceAccountName", "serviceAccount"):
        value = spec.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _owner(raw: Any, here: Here) -> tuple[str, str] | None:
    meta = raw.get("metadata") or {}
    for ref in sequence(meta, "ownerReferences", here.at("metadata")) or []:
        if isinstance(ref, dict) and ref.get("controller") is True and ref.get("kind") != "Node":
            owner = ref.get("name")
            if isinstance(owner, str) and owner:
                kind = ref.get("kind")
                return (kind if isinstance(kind, str) and kind else "Pod"), owner
    return None


def _containers(
    spec: dict[str, Any], group: str, here: Here, obj: KubeObject
) -> list[KubeContainer]:
    found = []
    for i, raw in enumerate(sequence(spec, group, here) or []):
        if isinstance(raw, dict):
            found.append(_container(raw, here.at(group, i), group == "initContainers", obj))
    return found


def _container(raw: dict[str, Any], here: Here, init: bool, obj: KubeObject) -> KubeContainer:
    ports = []
    for j, entry in enumerate(sequence(raw, "ports", here) or []):
        port = _container_port(entry, here.at("ports", j))
        if port is not None:
            ports.append(port)
    name = raw.get("name")
    image = raw.get("image")
    return KubeContainer(
        name=name if isinstance(name, str) else "",
        image=image if isinstance(image, str) else "",
        ports=tuple(ports),
        probes=read_probes(raw, here, tuple(ports)),
        place=here.place,
        path=here.path[len(obj.path) :],
        raw=raw,
        init=init,
        sidecar=init and raw.get("restartPolicy") == "Always",
    )


def _container_port(raw: Any, here: Here) -> KubeContainerPort | None:
    if not isinstance(raw, dict):
        not_a(here, "mapping", raw)
        return None
    unknown_fields(raw, _CONTAINER_PORT_FIELDS, here)
    number = raw.get("containerPort")
    protocol = read_protocol(raw.get("protocol", "TCP"), here.at("protocol"))
    name = string(raw, "name", here) or None
    if number is None:
        return None  # Kubernetes requires it; without it the entry declares nothing usable
    if (
        isinstance(number, bool)
        or not isinstance(number, int)
        or not MIN_PORT <= number <= MAX_PORT
    ):
        here.at("containerPort").report(
            "TM607", f"containerPort {number!r} is not a port number", f"use {MIN_PORT}-{MAX_PORT}"
        )
        return None
    return KubeContainerPort(name, number, protocol or "TCP", here.place)


def read_protocol(value: Any, here: Here) -> KubeProtocol | None:
    """A ``protocol`` value, or ``None`` after reporting TM608 for anything but TCP/UDP/SCTP."""
    if value in PROTOCOLS:
        return cast(KubeProtocol, value)
    here.report(
        "TM608",
        f"unknown protocol {value!r}{suggest(value, PROTOCOLS)}",
        "use TCP, UDP or SCTP (upper case)",
    )
    return None
