"""``load_manifests``: Kubernetes manifest files and directories → a :class:`Cluster` + diagnostics.

Objects are read by :func:`trustmap.kube.load_kube` (the walker, Lists flattened, workloads,
Services and Ingress/Route backends typed, problems located); this module builds the
NetworkPolicy semantics objects from them and completes the picture the way np-guard does:
objects without a namespace live in ``default``, namespaces referenced by pods but not defined
get the ``kubernetes.io/metadata.name`` label, pods owned by a controller are grouped under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trustmap.analysis.labelgaps import check_label_gaps
from trustmap.analysis.networkpolicy import parse_network_policy
from trustmap.analysis.objects import (
    METADATA_NAME_LABEL,
    Cluster,
    ContainerPort,
    NetpolNamespace,
    NetpolPolicy,
    Origin,
    Pod,
    Workload,
)
from trustmap.bulk import building
from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.kube import Here, KubeBackend, KubeObject, KubeSet, KubeWorkload, load_kube
from trustmap.names import did_you_mean

__all__ = ["load_manifests"]

_WORKLOAD_KINDS = frozenset(
    {"Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"}
    | {"ReplicationController"}
)
"""The pod-producing kinds np-guard analyses (OpenShift DeploymentConfig is not among them)."""
_ROUTE_KINDS = ("Ingress", "Route")


@dataclass(slots=True)
class _Collected:
    namespaces: dict[str, NetpolNamespace] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    policies: dict[tuple[str, str], NetpolPolicy] = field(default_factory=dict)
    controllers: dict[tuple[str, str, str], Origin] = field(default_factory=dict)


@building()
def load_manifests(paths: Sequence[Path]) -> tuple[Cluster, list[Diagnostic]]:
    """Read manifests from files and directories (the :mod:`trustmap.kube.files` walker).

    Args:
        paths: files or directories.

    Returns:
        The cluster model and every problem found, sorted by file, line and column. Objects
        with errors (an invalid NetworkPolicy, say) are reported and left out of the model.
    """
    kset, read = load_kube(paths)
    sink = list(read)
    out = _Collected()
    for ns in kset.namespaces:
        labels = dict(ns.labels)
        labels.setdefault(METADATA_NAME_LABEL, ns.name)
        out.namespaces.setdefault(ns.name, NetpolNamespace(ns.name, tuple(sorted(labels.items()))))
    for obj in kset.network_policies:
        _add_policy(obj, out, sink)
    for workload in kset.workloads:
        if workload.kind in _WORKLOAD_KINDS:
            _add_pod(workload, out, sink)
    cluster = _build(kset, out, sink)
    if not cluster.workloads:
        where = ", ".join(str(p) for p in paths)
        sink.append(
            diagnostic(
                "TM619",
                Span(where),
                "no pods or pod-producing workloads found, so there is no connectivity to compute",
                "pass the directory or file holding Pod/Deployment/… manifests too",
            )
        )
    return cluster, sort_diagnostics(sink)


def _origin(obj: KubeObject) -> Origin:
    return Origin(obj.file, obj.document.index, obj.path, obj.document)


def _add_policy(obj: KubeObject, out: _Collected, sink: list[Diagnostic]) -> None:
    namespace = obj.namespace or "default"
    origin = _origin(obj)
    here = Here(obj.document, obj.path, sink)
    policy = parse_network_policy(dict(obj.raw), obj.name, namespace, origin, here)
    first = out.policies.get((namespace, obj.name))
    if first is not None:
        here.at("metadata", "name").report(
            "TM604",
            f"NetworkPolicy {namespace}/{obj.name} is defined twice "
            f"(first in {first.origin.file}, document {first.origin.doc + 1})",
            "give each policy of a namespace its own name, or remove the duplicate",
        )
    elif policy is not None:
        out.policies[namespace, obj.name] = policy


def _add_pod(workload: KubeWorkload, out: _Collected, sink: list[Diagnostic]) -> None:
    obj = workload.obj
    origin = _origin(obj)
    if workload.kind == "Pod":
        kind, name = workload.owner or ("Pod", workload.name)
    else:
        kind, name = workload.kind, workload.name
    ports = tuple(ContainerPort(p.name or "", p.port, p.protocol) for p in workload.app_ports)
    owner = Workload(workload.namespace, name, kind, workload.pod_labels)
    pod = Pod(owner, workload.pod_labels, ports, origin)
    if workload.kind != "Pod":
        key = (workload.namespace, workload.name, workload.kind)
        first = out.controllers.get(key)
        if first is not None:
            Here(obj.document, obj.path, sink).at("metadata", "name").report(
                "TM615",
                f"{workload.kind} {workload.namespace}/{workload.name} is defined twice "
                f"(first in {first.file}, document {first.doc + 1})",
                "the analysis treats both as pods of one workload; remove the duplicate",
            )
        out.controllers.setdefault(key, origin)
    out.pods.append(pod)


def _build(kset: KubeSet, out: _Collected, sink: list[Diagnostic]) -> Cluster:
    namespaces = dict(out.namespaces)
    for pod in out.pods:
        ns = pod.workload.namespace
        if ns not in namespaces:
            namespaces[ns] = NetpolNamespace(ns, ((METADATA_NAME_LABEL, ns),))
    workloads = _workloads(out.pods, sink)
    backends = tuple(b for b in kset.backends if b.obj.kind in _ROUTE_KINDS)
    _check_backends(kset, backends, sink)
    all_namespaces = tuple(namespaces[n] for n in sorted(namespaces))
    check_label_gaps(out.pods, list(out.policies.values()), all_namespaces, sink)
    return Cluster(
        namespaces=all_namespaces,
        workloads=tuple(sorted(workloads, key=lambda w: w.id)),
        pods=tuple(out.pods),
        policies=tuple(out.policies.values()),
        services=kset.services,
        backends=backends,
        has_ingress_objects=any(o.kind in _ROUTE_KINDS for o in kset.route_objects),
    )


def _check_backends(kset: KubeSet, backends: Sequence[KubeBackend], sink: list[Diagnostic]) -> None:
    services: dict[str, list[str]] = {}
    for service in kset.services:
        services.setdefault(service.namespace, []).append(service.name)
    for backend in backends:
        known = services.get(backend.namespace, [])
        if backend.service not in known:
            sink.append(
                diagnostic(
                    "TM617",
                    backend.obj.span_at(("spec",)),
                    f"{backend.source} routes to service {backend.namespace}/{backend.service}, "
                    f"which is not in the manifests{did_you_mean(backend.service, known)}",
                    "add the Service manifest; without it no workload is reachable through "
                    "this route",
                )
            )


_PER_POD_LABELS = frozenset(
    {
        "apps.kubernetes.io/pod-index",
        "controller-revision-hash",
        "pod-template-generation",
        "pod-template-hash",
        "statefulset.kubernetes.io/pod-name",
    }
)
"""Labels that controllers set per pod or per revision; differences in them are expected."""


def _workloads(pods: Sequence[Pod], sink: list[Diagnostic]) -> list[Workload]:
    first: dict[tuple[str, str, str], Pod] = {}
    reported: set[tuple[str, str, str]] = set()
    for pod in pods:
        w = pod.workload
        key = (w.namespace, w.name, w.kind)
        seen = first.setdefault(key, pod)
        if seen is pod or key in reported or _stable(seen.labels) == _stable(pod.labels):
            continue
        reported.add(key)
        sink.append(
            diagnostic(
                "TM616",
                pod.origin.span(),
                f"pods of {w.id} carry different labels than its first pod",
                "the workload is analysed as the union of its pods' connections",
            )
        )
    return [pod.workload for pod in first.values()]


def _stable(labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(pair for pair in labels if pair[0] not in _PER_POD_LABELS)
