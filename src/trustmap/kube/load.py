"""``load_kube``: manifest files and folders → a :class:`KubeSet` of typed objects + diagnostics.

Every object is kept as a :class:`KubeObject`; the kinds the product reads are typed as well:
pod-producing workloads (with containers, ports, probes), Services, Namespaces, and the
backends of Ingress, OpenShift Route and Gateway API routes. Typed objects are checked for a
``metadata.name`` (TM600) and for fields of the wrong shape (TM6xx, at the value); an object
with an error in one field keeps its other fields. Deciding what duplicates mean is left to each
reader (analysis, discovery and drift treat them differently).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from trustmap.bulk import building
from trustmap.diagnostics import Diagnostic, sort_diagnostics
from trustmap.kube.fields import Here, mapping, string
from trustmap.kube.files import manifest_files, read_manifest
from trustmap.kube.objects import KubeLeftover, KubeObject, flatten
from trustmap.kube.routes import GATEWAY_ROUTE_KINDS, KubeBackend, read_backends
from trustmap.kube.services import KubeNamespace, KubeService, read_namespace, read_service
from trustmap.kube.workloads import TEMPLATE_PATHS, KubeWorkload, read_workload
from trustmap.loader import Document

__all__ = ["KubeSet", "kube_set", "load_kube", "read_documents"]

_CORE_KINDS = frozenset({"Pod", "Service", "Namespace", "ReplicationController"})
_NETWORKING_GROUPS = ("networking.k8s.io/", "extensions/")
_ROUTE_GROUPS = ("route.openshift.io/", "v1")
_GATEWAY_GROUP = "gateway.networking.k8s.io/"


@dataclass(frozen=True, slots=True, eq=False)
class KubeSet:
    """Everything read from a set of manifests, in file order."""

    objects: tuple[KubeObject, ...]
    """Every object (Lists flattened)."""
    workloads: tuple[KubeWorkload, ...]
    """Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController
    and OpenShift DeploymentConfig objects with a name, pod templates resolved."""
    services: tuple[KubeService, ...]
    namespaces: tuple[KubeNamespace, ...]
    backends: tuple[KubeBackend, ...] = ()
    """Services named by Ingress, Route and Gateway API route objects."""
    network_policies: tuple[KubeObject, ...] = ()
    """Named ``networking.k8s.io`` NetworkPolicy objects (Calico's and others' are not)."""
    route_objects: tuple[KubeObject, ...] = ()
    """Named Ingress, OpenShift Route and Gateway API route objects (what :attr:`backends`
    were read from), with or without backends."""
    leftovers: tuple[KubeLeftover, ...] = ()
    """Documents and list items that are not Kubernetes objects (Helm values, stray scalars)."""
    files: tuple[str, ...] = ()
    """Files read, in order."""

    def of_kind(self, *kinds: str) -> tuple[KubeObject, ...]:
        """The objects of these kinds (any ``apiVersion``), in file order."""
        wanted = frozenset(kinds)
        return tuple(o for o in self.objects if o.kind in wanted)


def load_kube(paths: Sequence[str | os.PathLike[str]]) -> tuple[KubeSet, list[Diagnostic]]:
    """Read the manifests under ``paths`` (see :mod:`trustmap.kube.files` for which files).

    Args:
        paths: files and folders.

    Returns:
        The objects read, and every problem found (unreadable paths, YAML errors, fields of the
        wrong shape), sorted by file, line and column. Never raises for bad input.
    """
    with building():
        files, documents, problems = read_documents(paths)
        kset = kube_set(documents, problems)
    return replace(kset, files=tuple(files)), sort_diagnostics(problems)


def read_documents(
    paths: Sequence[str | os.PathLike[str]],
) -> tuple[list[str], list[Document], list[Diagnostic]]:
    """The files under ``paths``, their documents in order, and the problems reading them.

    For readers that want the objects untyped (:func:`~trustmap.kube.objects.flatten` each
    document), such as the drift snapshot, which checks pods and Services its own strict way.
    """
    files, problems = manifest_files(paths)
    documents: list[Document] = []
    for file in files:
        found, trouble = read_manifest(file)
        documents.extend(found)
        problems.extend(trouble)
    return files, documents, problems


def kube_set(documents: Iterable[Document], sink: list[Diagnostic]) -> KubeSet:
    """Type the objects of already parsed documents; problems are appended to ``sink``."""
    objects: list[KubeObject] = []
    leftovers: list[KubeLeftover] = []
    workloads: list[KubeWorkload] = []
    services: list[KubeService] = []
    namespaces: list[KubeNamespace] = []
    backends: list[KubeBackend] = []
    policies: list[KubeObject] = []
    routes: list[KubeObject] = []
    for document in documents:
        for item in flatten(document):
            if isinstance(item, KubeLeftover):
                leftovers.append(item)
                continue
            objects.append(item)
            typed = _typed(item)
            if typed is None:
                continue
            here = Here(document, item.path, sink)
            if not _identity(item, here):
                continue
            if typed == "workload":
                workloads.append(read_workload(item, here))
            elif typed == "Service":
                services.append(read_service(item, here))
            elif typed == "Namespace":
                namespaces.append(read_namespace(item, here))
            elif typed == "backends":
                routes.append(item)
                backends.extend(read_backends(item, here))
            else:
                policies.append(item)
    return KubeSet(
        tuple(objects), tuple(workloads), tuple(services), tuple(namespaces),
        tuple(backends), tuple(policies), tuple(routes), tuple(leftovers),
    )  # fmt: skip


def _typed(obj: KubeObject) -> str | None:
    """Which reader types the object, if any; objects of lookalike kinds of other API groups
    (a Knative ``Service``, Calico's ``NetworkPolicy``) stay plain objects."""
    kind, api = obj.kind, obj.api_version
    if kind in _CORE_KINDS and api not in ("", "v1"):
        return None
    if kind in TEMPLATE_PATHS:
        return "workload"
    if kind in ("Service", "Namespace"):
        return kind
    if kind == "Ingress" and (not api or api.startswith(_NETWORKING_GROUPS)):
        return "backends"
    if kind == "Route" and (not api or api.startswith(_ROUTE_GROUPS)):
        return "backends"
    if kind in GATEWAY_ROUTE_KINDS and api.startswith(_GATEWAY_GROUP):
        return "backends"
    if kind == "NetworkPolicy" and (not api or api.startswith(_NETWORKING_GROUPS)):
        return "policy"
    return None


def _identity(obj: KubeObject, here: Here) -> bool:
    """Whether a typed object has a name; TM600 (and TM610 for wrong shapes) when not."""
    meta = mapping(obj.raw, "metadata", here) or {}
    name = string(meta, "name", here.at("metadata"))
    string(meta, "namespace", here.at("metadata"))
    if name:
        return True
    here.at("metadata").report(
        "TM600",
        f"{obj.kind} has no metadata.name",
        "every Kubernetes object needs metadata.name; this object is left out",
    )
    return False
