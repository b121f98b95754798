"""Which workloads and Services become one draft service, what it is called and how its pods
are selected.

Kubernetes Services that select the same pods (``frontend`` and ``frontend-external``) and every
workload they select (``reviews-v1``, ``-v2``, ``-v3``) form one draft service, named after the
Service that best matches the workloads; a workload no Service selects (a load generator) is a
draft of its own. Pod labels come from the selectors, so that a new version behind the same
Service still matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from trustmap.discover.draft import Labels
from trustmap.discover.inventory import written_account
from trustmap.kube import KubeService, KubeWorkload
from trustmap.names import label_name

__all__ = [
    "NAME_LABELS",
    "VOLATILE_LABELS",
    "Group",
    "group_objects",
    "stable_labels",
]

NAME_LABELS: Final = (
    "app.kubernetes.io/name",
    "app",
    "k8s-app",
    "name",
    "io.kompose.service",
    "app.kubernetes.io/component",
)
"""Pod labels that conventionally carry the application's name, most specific first."""

VOLATILE_LABELS: Final = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "pod-template-generation",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "batch.kubernetes.io/controller-uid",
        "batch.kubernetes.io/job-name",
        "controller-uid",
        "job-name",
    }
)
"""Labels that controllers set per pod or revision: never part of an identity."""

_VOLATILE_PREFIXES: Final = (
    "security.istio.io/",
    "service.istio.io/",
    "sidecar.istio.io/",
    "topology.istio.io/",
    "sidecar.opentelemetry.io/",
    "io.kubernetes.",
    "io.cilium.",
)
"""Labels that meshes and agents add to every pod they touch."""


@dataclass(slots=True)
class Group:
    """The objects behind one draft service."""

    namespace: str
    services: list[KubeService] = field(default_factory=list)
    workloads: list[KubeWorkload] = field(default_factory=list)
    name: str = ""
    pod_labels: Labels = ()

    @property
    def ref(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    @property
    def service_account(self) -> str | None:
        """The account every workload names, when they all name the same one."""
        accounts = {written_account(w) for w in self.workloads}
        return accounts.pop() if len(accounts) == 1 else None


def stable_labels(labels: Iterable[tuple[str, str]]) -> Labels:
    """Labels without the per-pod and mesh-injected ones, sorted."""
    return tuple(
        sorted(
            (k, v)
            for k, v in labels
            if k not in VOLATILE_LABELS and not k.startswith(_VOLATILE_PREFIXES)
        )
    )


def group_objects(
    workloads: Sequence[KubeWorkload], services: Sequence[KubeService]
) -> list[Group]:
    """Draft-service groups of every namespace, named and with pod labels, sorted by ref."""
    groups: list[Group] = []
    namespaces = sorted({w.namespace for w in workloads} | {s.namespace for s in services})
    for namespace in namespaces:
        mine = [w for w in workloads if w.namespace == namespace]
        selecting = [s for s in services if s.namespace == namespace and s.selector]
        groups.extend(_name_all(_groups(namespace, mine, selecting)))
    return sorted(groups, key=lambda g: g.ref)


def _groups(
    namespace: str, workloads: list[KubeWorkload], services: list[KubeService]
) -> list[Group]:
    """Union of Services that share a selected workload, with those workloads."""
    parent = list(range(len(services)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for s, service in enumerate(services):
        for w, workload in enumerate(workloads):
            if _selects(service.selector or (), workload.pod_labels):
                if w in owner:
                    parent[root(s)] = root(owner[w])
                else:
                    owner[w] = s
    by_root: dict[int, Group] = defaultdict(lambda: Group(namespace))
    for s, service in enumerate(services):
        by_root[root(s)].services.append(service)
    for w, workload in enumerate(workloads):
        if w in owner:
            by_root[root(owner[w])].workloads.append(workload)
    alone = [Group(namespace, [], [w]) for i, w in enumerate(workloads) if i not in owner]
    return [*by_root.values(), *alone]


def _selects(selector: Labels, labels: Labels) -> bool:
    have = dict(labels)
    return all(have.get(k) == v for k, v in selector)


def _name_all(groups: list[Group]) -> list[Group]:
    """Name groups (Service-backed first, so they keep their Service's name) and set labels."""
    used: set[str] = set()
    ordered = sorted(groups, key=lambda g: (not g.services, _preferred(g)))
    for group in ordered:
        wanted = _preferred(group)
        if wanted in used and group.workloads:
            kind = group.workloads[0].kind.lower()
            wanted = label_name(f"{wanted}-{kind}", wanted)
        name, n = wanted, 2
        while name in used:
            name, n = label_name(f"{wanted}-{n}", f"service-{n}"), n + 1
        used.add(name)
        group.name = name
        group.pod_labels = _pod_labels(group)
    return ordered


def _preferred(group: Group) -> str:
    if not group.services:
        workload = group.workloads[0]
        return label_name(workload.name, f"{workload.kind.lower()}-workload")
    names = {w.name for w in group.workloads}
    names |= {v for w in group.workloads for k, v in w.pod_labels if k in NAME_LABELS}
    best = min(group.services, key=lambda s: (s.name not in names, len(s.name), s.name))
    return best.name


def _pod_labels(group: Group) -> Labels:
    if not group.workloads:
        return group.services[0].selector or ()
    common = set(group.workloads[0].pod_labels)
    for workload in group.workloads[1:]:
        common &= set(workload.pod_labels)
    if group.services:
        keys = {k for s in group.services for k, _ in s.selector or ()}
        chosen = tuple(sorted(pair for pair in common if pair[0] in keys))
        return chosen or (group.services[0].selector or ())
    return stable_labels(common)
