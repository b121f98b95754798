"""``load_manifests``: Kubernetes manifest files and directories → a :class:`Cluster` + diagnostics.

Reads every YAML/JSON document, flattens ``List`` and ``*List`` kinds, dispatches each object by
kind to its parser, and completes the picture the way np-guard does: objects without a namespace
live in ``default``, namespaces referenced by pods but not defined get the
``kubernetes.io/metadata.name`` label, pods owned by a controller are grouped under it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trustmap.analysis.gcpause import gc_paused
from trustmap.analysis.labelgaps import check_label_gaps
from trustmap.analysis.networkpolicy import parse_network_policy
from trustmap.analysis.objects import (
    METADATA_NAME_LABEL,
    Backend,
    Cluster,
    Namespace,
    NetworkPolicy,
    Origin,
    Pod,
    Service,
    Workload,
)
from trustmap.analysis.raw import mapping, string
from trustmap.analysis.source import Cursor, Document, Issues, iter_documents, manifest_files
from trustmap.analysis.workloads import (
    CONTROLLER_KINDS,
    parse_backends,
    parse_namespace,
    parse_pod,
    parse_service,
)
from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.names import did_you_mean

__all__ = ["load_manifests"]

_POLICY_GROUPS = ("networking.k8s.io/", "extensions/")
_ROUTE_GROUPS = ("route.openshift.io/", "v1")


@dataclass(slots=True)
class _Collected:
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    policies: dict[tuple[str, str], NetworkPolicy] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    backends: list[Backend] = field(default_factory=list)
    controllers: dict[tuple[str, str, str], Origin] = field(default_factory=dict)
    has_ingress_objects: bool = False


@gc_paused
def load_manifests(paths: Sequence[Path]) -> tuple[Cluster, list[Diagnostic]]:
    """Read manifests from files and directories (recursively: ``*.yaml``, ``*.yml``, ``*.json``).

    Args:
        paths: files or directories.

    Returns:
        The cluster model and every problem found, sorted by file, line and column. Objects
        with errors (an invalid NetworkPolicy, say) are reported and left out of the model.
    """
    issues = Issues()
    collected = _Collected()
    for path in manifest_files(paths, issues):
        for doc in iter_documents(path, issues):
            for kind, raw, cur in _objects(doc, issues):
                _dispatch(kind, raw, cur, collected)
    cluster = _build(collected, issues)
    if not cluster.workloads:
        where = ", ".join(str(p) for p in paths)
        issues.diagnostics.append(
            diagnostic(
                "TM619",
                Span(where),
                "no pods or pod-producing workloads found, so there is no connectivity to compute",
                "pass the directory or file holding Pod/Deployment/… manifests too",
            )
        )
    return cluster, sort_diagnostics(issues.resolve())


def _objects(doc: Document, issues: Issues) -> Iterator[tuple[str, dict[str, Any], Cursor]]:
    value = doc.value
    if not isinstance(value, dict) or not isinstance(value.get("kind"), str):
        return  # not a Kubernetes object (values files, kustomizations …): nothing to analyse
    yield from _flatten(value["kind"], value, Cursor(doc.file, doc.index, (), issues))


def _flatten(
    kind: str, value: dict[str, Any], cur: Cursor
) -> Iterator[tuple[str, dict[str, Any], Cursor]]:
    """The object itself, or the items of a ``List``/``*List`` (nested lists too)."""
    items = value.get("items")
    if not (kind.endswith("List") and isinstance(items, list)):
        yield kind, value, cur
        return
    item_kind = kind[: -len("List")]
    for i, item in enumerate(items):
        if isinstance(item, dict):
            own = item.get("kind")
            yield from _flatten(
                own if isinstance(own, str) else item_kind, item, cur.at("items", i)
            )


def _dispatch(kind: str, raw: dict[str, Any], cur: Cursor, out: _Collected) -> None:
    api = raw.get("apiVersion")
    api = api if isinstance(api, str) else ""
    if kind in ("NetworkPolicy", "Ingress") and api and not api.startswith(_POLICY_GROUPS):
        return  # e.g. Calico's projectcalico.org NetworkPolicy: another product's semantics
    if kind == "Route" and api and not api.startswith(_ROUTE_GROUPS):
        return
    if kind not in _HANDLED:
        return
    name, namespace = _identity(raw, kind, cur)
    if name is None:
        return
    if kind == "Namespace":
        out.namespaces.setdefault(name, parse_namespace(raw, name, cur))
    elif kind == "NetworkPolicy":
        _add_policy(raw, name, namespace, cur, out)
    elif kind == "Service":
        out.services.append(parse_service(raw, name, namespace, cur))
    elif kind in ("Ingress", "Route"):
        out.has_ingress_objects = True
        out.backends.extend(parse_backends(raw, kind, name, namespace, cur))
    else:
        _add_pod(raw, kind, name, namespace, cur, out)


_HANDLED = {"Namespace", "NetworkPolicy", "Service", "Ingress", "Route", "Pod", *CONTROLLER_KINDS}


def _identity(raw: dict[str, Any], kind: str, cur: Cursor) -> tuple[str | None, str]:
    meta = mapping(raw, "metadata", cur) or {}
    name = string(meta, "name", cur.at("metadata"))
    namespace = string(meta, "namespace", cur.at("metadata")) or "default"
    if not name:
        cur.at("metadata").report(
            "TM600",
            f"{kind} has no metadata.name",
            "every Kubernetes object needs metadata.name; this object is left out",
        )
        return None, namespace
    return name, namespace


def _add_policy(
    raw: dict[str, Any], name: str, namespace: str, cur: Cursor, out: _Collected
) -> None:
    origin = Origin(cur.file, cur.doc, cur.path)
    policy = parse_network_policy(raw, name, namespace, origin, cur)
    first = out.policies.get((namespace, name))
    if first is not None:
        cur.at("metadata", "name").report(
            "TM604",
            f"NetworkPolicy {namespace}/{name} is defined twice "
            f"(first in {first.origin.file}, document {first.origin.doc + 1})",
            "give each policy of a namespace its own name, or remove the duplicate",
        )
    elif policy is not None:
        out.policies[namespace, name] = policy


def _add_pod(
    raw: dict[str, Any], kind: str, name: str, namespace: str, cur: Cursor, out: _Collected
) -> None:
    pod = parse_pod(raw, kind, name, namespace, cur)
    if kind != "Pod":
        key = (namespace, name, kind)
        if key in out.controllers:
            first = out.controllers[key]
            cur.at("metadata", "name").report(
                "TM615",
                f"{kind} {namespace}/{name} is defined twice "
                f"(first in {first.file}, document {first.doc + 1})",
                "the analysis treats both as pods of one workload; remove the duplicate",
            )
        out.controllers.setdefault(key, pod.origin)
    out.pods.append(pod)


def _build(out: _Collected, issues: Issues) -> Cluster:
    namespaces = dict(out.namespaces)
    for pod in out.pods:
        ns = pod.workload.namespace
        if ns not in namespaces:
            namespaces[ns] = Namespace(ns, ((METADATA_NAME_LABEL, ns),))
    workloads = _workloads(out.pods, issues)
    _check_backends(out, issues)
    all_namespaces = tuple(namespaces[n] for n in sorted(namespaces))
    check_label_gaps(out.pods, list(out.policies.values()), all_namespaces, issues)
    return Cluster(
        namespaces=all_namespaces,
        workloads=tuple(sorted(workloads, key=lambda w: w.id)),
        pods=tuple(out.pods),
        policies=tuple(out.policies.values()),
        services=tuple(out.services),
        backends=tuple(out.backends),
        has_ingress_objects=out.has_ingress_objects,
    )


def _check_backends(out: _Collected, issues: Issues) -> None:
    services: dict[str, list[str]] = {}
    for service in out.services:
        services.setdefault(service.namespace, []).append(service.name)
    for backend in out.backends:
        known = services.get(backend.namespace, [])
        if backend.service not in known:
            origin = backend.origin
            Cursor(origin.file, origin.doc, (*origin.path, "spec"), issues).report(
                "TM617",
                f"{backend.source} routes to service {backend.namespace}/{backend.service}, "
                f"which is not in the manifests{did_you_mean(backend.service, known)}",
                "add the Service manifest; without it no workload is reachable through this route",
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


def _workloads(pods: Sequence[Pod], issues: Issues) -> list[Workload]:
    first: dict[tuple[str, str, str], Pod] = {}
    reported: set[tuple[str, str, str]] = set()
    for pod in pods:
        w = pod.workload
        key = (w.namespace, w.name, w.kind)
        seen = first.setdefault(key, pod)
        if seen is pod or key in reported or _stable(seen.labels) == _stable(pod.labels):
            continue
        reported.add(key)
        Cursor(pod.origin.file, pod.origin.doc, pod.origin.path, issues).report(
            "TM616",
            f"pods of {w.id} carry different labels than its first pod",
            "the workload is analysed as the union of its pods' connections",
        )
    return [pod.workload for pod in first.values()]


def _stable(labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(pair for pair in labels if pair[0] not in _PER_POD_LABELS)
