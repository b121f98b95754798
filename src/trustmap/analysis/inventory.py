"""Manifests → the platform evaluators' inputs: every object, the workloads as peers, their probes.

A workload is a Pod or a controller with a pod template (Deployment, StatefulSet, DaemonSet,
ReplicaSet, Job, CronJob, ReplicationController); its peer carries the template's labels and
service account (``default`` when the manifest names none, as the API server's ServiceAccount
admission plugin sets it: https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts)
and the host names of the Services that select it. Probes come from the containers (sidecar init
containers included), named ports resolved against the container's ports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trustmap.analysis.platform import Obj, ObjectRef, Peer, selector_matches, submap
from trustmap.diagnostics import Diagnostic, Span
from trustmap.kube import KubeObject, KubeSet, load_kube

__all__ = [
    "CONTROLLERS",
    "Inventory",
    "Locator",
    "Probe",
    "build_inventory",
    "make_obj",
    "pod_template",
    "read_objects",
]

CONTROLLERS = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "ReplicationController",
)
"""Kinds whose pod template is ``spec.template`` (CronJob nests it in ``spec.jobTemplate``)."""
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


@dataclass(frozen=True, slots=True)
class Probe:
    """A kubelet probe of one workload: where it goes and where it is declared."""

    peer: Peer
    kind: str
    action: str
    port: int
    path: str | None
    ref: ObjectRef
    scheme: str = "HTTP"
    """``httpGet`` scheme: ``HTTP`` or ``HTTPS`` (the kubelet's default is HTTP)."""


@dataclass(frozen=True, slots=True)
class Inventory:
    """Everything read from the manifests."""

    objects: tuple[Obj, ...]
    peers: tuple[Peer, ...]
    workloads: tuple[Obj, ...]
    """The object each peer was read from, same order as ``peers``."""
    probes: tuple[Probe, ...]
    container_ports: Mapping[str, tuple[int, ...]]
    named_ports: Mapping[str, Mapping[str, int]]
    """Workload id → container port name → number."""

    def of_kind(self, *kinds: str) -> tuple[Obj, ...]:
        """Objects of these kinds, in file order."""
        return tuple(o for o in self.objects if o.kind in kinds)


def read_objects(paths: Sequence[Path]) -> tuple[list[Obj], Locator, list[Diagnostic]]:
    """Every object of the files and directories ``paths`` (read by :func:`trustmap.kube.load_kube`,
    the one manifest reader), a locator for positions inside them, and the problems reading them."""
    _, objects, locator, problems = read_kube(paths)
    return objects, locator, problems


def read_kube(paths: Sequence[Path]) -> tuple[KubeSet, list[Obj], Locator, list[Diagnostic]]:
    """As :func:`read_objects`, with the typed objects too (workloads for compiling)."""
    kset, problems = load_kube(paths)
    objects = [_from_kube(index, obj) for index, obj in enumerate(kset.objects)]
    return kset, objects, Locator(kset.objects), problems


@dataclass(frozen=True, slots=True)
class Locator:
    """Positions of values of the objects read: ``ObjectRef.doc`` is the object's index."""

    objects: Sequence[KubeObject]

    def span(self, file: str, doc: int, path: tuple[str | int, ...]) -> Span:
        """Where ``path`` (relative to the object) is written, or the file alone when unknown."""
        if 0 <= doc < len(self.objects) and self.objects[doc].file == file:
            return self.objects[doc].span_at(path)
        return Span(file)


def _from_kube(index: int, obj: KubeObject) -> Obj:
    namespace = obj.namespace or ""
    ref = ObjectRef(obj.kind, namespace, obj.name, obj.file, index, ())
    return Obj(
        obj.kind,
        obj.name,
        namespace,
        obj.raw,
        ref,
        dict(obj.annotations),
        dict(obj.labels),
        submap(obj.raw, "spec"),
    )


def build_inventory(objects: Sequence[Obj]) -> Inventory:
    """Peers, probes and ports of ``objects`` (also for objects made in memory, e.g. compiled)."""
    services: dict[str, list[Obj]] = {}
    for obj in objects:
        if obj.kind == "Service":
            services.setdefault(obj.namespace or "default", []).append(obj)
    peers: list[Peer] = []
    workloads: list[Obj] = []
    probes: list[Probe] = []
    ports: dict[str, tuple[int, ...]] = {}
    named: dict[str, dict[str, int]] = {}
    for obj in objects:
        template = pod_template(obj)
        if template is None:
            continue
        peer = _peer(obj, template, services)
        peers.append(peer)
        workloads.append(obj)
        found = list(_probes(peer, obj, template))
        probes.extend(found)
        ports[peer.id] = tuple(sorted({p for p, _ in _ports(template)}))
        named[peer.id] = {n: p for p, n in _ports(template) if n}
    return Inventory(tuple(objects), tuple(peers), tuple(workloads), tuple(probes), ports, named)


def _flatten(value: Any, file: str, doc: int, path: tuple[str | int, ...]) -> list[Obj]:
    if not isinstance(value, Mapping):
        return []
    kind = str(value.get("kind", ""))
    if kind.endswith("List") and isinstance(value.get("items"), list):
        out: list[Obj] = []
        for index, item in enumerate(value["items"]):
            out.extend(_flatten(item, file, doc, (*path, "items", index)))
        return out
    meta = submap(value, "metadata")
    name = str(meta.get("name", ""))
    namespace = str(meta.get("namespace") or "")
    ref = ObjectRef(kind, namespace, name, file, doc, path)
    return [
        Obj(
            kind,
            name,
            namespace,
            value,
            ref,
            _strings(meta, "annotations"),
            _strings(meta, "labels"),
            submap(value, "spec"),
        )
    ]


def make_obj(raw: Mapping[str, Any], file: str, doc: int) -> Obj:
    """One object made in memory (a compiled one), placed at ``file`` document ``doc``."""
    found = _flatten(raw, file, doc, ())
    return found[0]


def _strings(meta: Mapping[str, Any], key: str) -> dict[str, str]:
    value = meta.get(key)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def pod_template(obj: Obj) -> Mapping[str, Any] | None:
    """The pod (``metadata`` + ``spec``) a workload object runs, or None for other kinds."""
    if obj.kind == "Pod":
        return obj.raw
    spec = obj.spec
    if obj.kind == "CronJob":
        job = spec.get("jobTemplate")
        spec = job.get("spec", {}) if isinstance(job, Mapping) else {}
    elif obj.kind not in CONTROLLERS:
        return None
    template = spec.get("template") if isinstance(spec, Mapping) else None
    return template if isinstance(template, Mapping) else None


def _peer(obj: Obj, template: Mapping[str, Any], services: Mapping[str, Sequence[Obj]]) -> Peer:
    meta = submap(template, "metadata")
    spec = submap(template, "spec")
    labels = _strings(meta, "labels")
    namespace = obj.namespace or "default"
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    hosts = tuple(
        f"{s.name}.{s.namespace or 'default'}.svc.cluster.local"
        for s in services.get(namespace, ())
        if _service_selects(s, labels)
    )
    return Peer(
        f"{namespace}/{obj.name}[{obj.kind}]",
        namespace,
        tuple(sorted(labels.items())),
        str(account),
        hosts=hosts,
        annotations=tuple(sorted(_strings(meta, "annotations").items())),
    )


def _service_selects(service: Obj, labels: Mapping[str, str]) -> bool:
    selector = service.spec.get("selector")
    if not isinstance(selector, Mapping) or not selector:
        return False
    return selector_matches({"matchLabels": selector}, labels)


def _containers(template: Mapping[str, Any]) -> list[tuple[str, int, Mapping[str, Any]]]:
    spec = submap(template, "spec")
    out: list[tuple[str, int, Mapping[str, Any]]] = []
    for key in ("containers", "initContainers"):
        for index, container in enumerate(spec.get(key) or ()):
            if not isinstance(container, Mapping):
                continue
            if key == "initContainers" and container.get("restartPolicy") != "Always":
                continue
            out.append((key, index, container))
    return out


def _ports(template: Mapping[str, Any]) -> list[tuple[int, str | None]]:
    found: list[tuple[int, str | None]] = []
    for _, _, container in _containers(template):
        for port in container.get("ports") or ():
            if isinstance(port, Mapping) and isinstance(port.get("containerPort"), int):
                found.append((port["containerPort"], port.get("name")))
    return found


def _probes(peer: Peer, obj: Obj, template: Mapping[str, Any]) -> list[Probe]:
    named = {name: port for port, name in _ports(template) if name}
    base = obj.ref.path + (() if obj.kind == "Pod" else _template_path(obj))
    out: list[Probe] = []
    for key, index, container in _containers(template):
        for kind in _PROBES:
            probe = container.get(kind)
            if not isinstance(probe, Mapping):
                continue
            path = (*base, "spec", key, index, kind)
            ref = ObjectRef(obj.kind, peer.namespace, obj.name, obj.ref.file, obj.ref.doc, path)
            found = _probe(peer, kind.removesuffix("Probe"), probe, named, ref)
            if found is not None:
                out.append(found)
    return out


def _template_path(obj: Obj) -> tuple[str, ...]:
    if obj.kind == "CronJob":
        return ("spec", "jobTemplate", "spec", "template")
    return ("spec", "template")


def _probe(
    peer: Peer, kind: str, probe: Mapping[str, Any], named: Mapping[str, int], ref: ObjectRef
) -> Probe | None:
    for action in ("httpGet", "grpc", "tcpSocket"):
        body = probe.get(action)
        if not isinstance(body, Mapping):
            continue
        port = body.get("port")
        number = named.get(port) if isinstance(port, str) else port
        if not isinstance(number, int):
            return None
        path = str(body.get("path") or "/") if action == "httpGet" else None
        if action == "grpc":
            path = "/grpc.health.v1.Health/Check"
        scheme = str(body.get("scheme") or "HTTP").upper() if action == "httpGet" else "HTTP"
        return Probe(peer, kind, action, number, path, ref, scheme)
    return None
