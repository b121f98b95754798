"""Kubernetes manifests as typed objects with source spans: the one reader of manifests.

``trustmap analyze``, ``discover --manifests``, ``drift --snapshot``, ``verify`` and the compile
option that reads manifests all read Kubernetes objects through :func:`load_kube`, so one walker
(:mod:`trustmap.kube.files`) decides which files a folder means and one set of located
diagnostics reports what is wrong in them. Types are prefixed ``Kube`` so that they cannot be
confused with the declaration model (:mod:`trustmap.model`).

    kset, diagnostics = load_kube([Path("manifests/")])
    for workload in kset.workloads:
        for container in workload.containers:
            for probe in container.probes: ...
    policies = kset.of_kind("CiliumNetworkPolicy")
"""

from __future__ import annotations

from trustmap.kube.fields import FieldPath, Here
from trustmap.kube.files import SUFFIXES, manifest_files, parse_manifest, read_manifest
from trustmap.kube.load import KubeSet, kube_set, load_kube, read_documents
from trustmap.kube.objects import KubeLeftover, KubeObject, Labels, flatten
from trustmap.kube.probes import KubeProbe
from trustmap.kube.routes import BackendPort, KubeBackend, backend_ports
from trustmap.kube.services import KubeNamespace, KubeService, KubeServicePort
from trustmap.kube.workloads import (
    TEMPLATE_PATHS,
    KubeContainer,
    KubeContainerPort,
    KubeProtocol,
    KubeWorkload,
)

__all__ = [
    "SUFFIXES",
    "TEMPLATE_PATHS",
    "BackendPort",
    "FieldPath",
    "Here",
    "KubeBackend",
    "KubeContainer",
    "KubeContainerPort",
    "KubeLeftover",
    "KubeNamespace",
    "KubeObject",
    "KubeProbe",
    "KubeProtocol",
    "KubeService",
    "KubeServicePort",
    "KubeSet",
    "KubeWorkload",
    "Labels",
    "backend_ports",
    "flatten",
    "kube_set",
    "load_kube",
    "manifest_files",
    "parse_manifest",
    "read_documents",
    "read_manifest",
]
