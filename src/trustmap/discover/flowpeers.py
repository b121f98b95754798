"""Which draft service a flow endpoint is, from what the flow recorded (no declarations).

An endpoint is named by its namespace and, in order: a conventional name label
(``app.kubernetes.io/name``, ``app``, …, so that ``reviews-v1``..``v3`` are one service, as a
Kubernetes Service selecting ``app: reviews`` makes them), the workload (Hubble ``workloads``,
CSV), or its pod name without the controller's random suffix. A pod seen once with labels and once without is the same
pod, and an endpoint that recorded only a service account joins the one service using that
account. Peers outside the cluster, nodes and unidentified addresses keep a label that says
what they are, with the reason they are not drafted.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from trustmap.discover.draft import Labels
from trustmap.discover.grouping import NAME_LABELS, stable_labels
from trustmap.names import label_name

__all__ = ["FlowEndpoint", "Identity", "identify"]

# Kubernetes' random suffixes use this alphabet (no vowels), so real names are rarely cut.
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_POD_SUFFIXES: Final = (
    re.compile(rf"^(?P<base>.+)-{_SAFE}{{6,10}}-{_SAFE}{{5}}$"),  # Deployment → ReplicaSet → pod
    re.compile(rf"^(?P<base>.+)-{_SAFE}{{5}}$"),  # DaemonSet, Job, ReplicaSet pods
    re.compile(r"^(?P<base>.+)-\d+$"),  # StatefulSet ordinal
)
_SHOWN: Final = 3


@dataclass(frozen=True, slots=True)
class FlowEndpoint:
    """One side of a flow, as recorded."""

    namespace: str | None
    workload: str | None
    pod: str | None
    service_account: str | None
    labels: tuple[str, ...]
    """``key=value`` strings."""
    entity: str | None
    ip: str | None
    names: tuple[str, ...] = ()
    """DNS names (destinations only)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """What an endpoint is: a draft service (``ref``), or a peer that is not drafted."""

    ref: str | None
    namespace: str = ""
    name: str = ""
    pod_labels: Labels = ()
    service_account: str | None = None
    seen: str = ""
    """What the flows showed of it (pods, workloads), for evidence."""
    review: tuple[str, ...] = ()
    world: bool = False
    """Outside the cluster."""
    label: str = ""
    """How an undrafted peer is shown: a host name, an address, ``kube-apiserver``, …"""
    why: str = ""
    """Why an undrafted peer is not a service."""


def identify(endpoints: Iterable[FlowEndpoint]) -> dict[FlowEndpoint, Identity]:
    """The identity of every endpoint."""
    unique = sorted(set(endpoints), key=repr)
    by_pod = _pod_names(unique)
    named: dict[FlowEndpoint, tuple[str, str]] = {}
    for end in unique:
        key = _name(end, by_pod)
        if key is not None:
            named[end] = key
    by_account = _account_names(named)
    for end in unique:
        if end not in named and end.namespace and end.service_account:
            key = by_account.get((end.namespace, end.service_account))
            if key is not None:
                named[end] = key
    members: dict[tuple[str, str], list[FlowEndpoint]] = defaultdict(list)
    for end, key in named.items():
        members[key].append(end)
    services = {key: _service(key, ends) for key, ends in members.items()}
    return {end: services[named[end]] if end in named else _peer(end) for end in unique}


def _label_map(end: FlowEndpoint) -> dict[str, str]:
    return dict(label.partition("=")[::2] for label in end.labels)


def _name_label(end: FlowEndpoint) -> tuple[str, str] | None:
    labels = _label_map(end)
    for key in NAME_LABELS:
        if labels.get(key):
            return key, labels[key]
    return None


def _pod_names(endpoints: list[FlowEndpoint]) -> dict[tuple[str, str], str]:
    """``(namespace, pod)`` and ``(namespace, pod name without suffix)`` → name, from the
    endpoints that say more than the pod name (a base shared by two names is left out)."""
    found: dict[tuple[str, str], str] = {}
    bases: dict[tuple[str, str], set[str]] = defaultdict(set)
    for end in endpoints:
        if end.namespace and end.pod and (end.workload or _name_label(end)):
            name = _name(end, {})
            if name is not None:
                found.setdefault((end.namespace, end.pod), name[1])
                bases[end.namespace, _strip(end.pod)].add(name[1])
    for key, names in bases.items():
        if len(names) == 1 and key not in found:
            found[key] = next(iter(names))
    return found


def _name(end: FlowEndpoint, by_pod: dict[tuple[str, str], str]) -> tuple[str, str] | None:
    if not end.namespace:
        return None
    named = _name_label(end)
    if named is not None:
        return end.namespace, label_name(named[1], "workload")
    if end.workload:
        return end.namespace, label_name(end.workload, "workload")
    if end.pod:
        base = _strip(end.pod)
        known = by_pod.get((end.namespace, end.pod)) or by_pod.get((end.namespace, base))
        return end.namespace, known or label_name(base, "workload")
    return None


def _strip(pod: str) -> str:
    for pattern in _POD_SUFFIXES:
        match = pattern.match(pod)
        if match:
            return match["base"]
    return pod


def _account_names(
    named: dict[FlowEndpoint, tuple[str, str]],
) -> dict[tuple[str, str], tuple[str, str]]:
    """``(namespace, service account)`` → the one name using it (accounts shared are left out)."""
    users: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for end, key in named.items():
        if end.namespace and end.service_account:
            users[end.namespace, end.service_account].add(key)
    return {account: next(iter(keys)) for account, keys in users.items() if len(keys) == 1}


def _service(key: tuple[str, str], ends: list[FlowEndpoint]) -> Identity:
    namespace, name = key
    labelled = [e for e in ends if e.labels]
    review: list[str] = []
    labels = _pod_labels(labelled)
    if not labels:
        review.append(
            "the flows recorded no pod labels: without `workload`, trustmap assumes pods "
            f"labelled app: {name}; add the real podLabels"
        )
    accounts = {e.service_account for e in ends if e.service_account}
    account = accounts.pop() if len(accounts) == 1 else None
    if account == "default":
        account = None
        review.append("runs as the namespace's default service account: give it its own")
    elif len(accounts) > 0:
        review.append("its pods run as several service accounts; give them one")
    return Identity(
        ref=f"{namespace}/{name}",
        namespace=namespace,
        name=name,
        pod_labels=labels,
        service_account=account if labels else None,
        seen=_seen(ends),
        review=tuple(review),
    )


def _pod_labels(ends: list[FlowEndpoint]) -> Labels:
    """The name label all pods share, else every stable label they all share."""
    if not ends:
        return ()
    common = set(_label_map(ends[0]).items())
    for end in ends[1:]:
        common &= set(_label_map(end).items())
    shared = dict(common)
    for key in NAME_LABELS:
        if key in shared:
            return ((key, shared[key]),)
    return stable_labels(common)


def _seen(ends: list[FlowEndpoint]) -> str:
    workloads = sorted({e.workload for e in ends if e.workload})
    pods = sorted({e.pod for e in ends if e.pod})
    parts = []
    if workloads:
        parts.append(f"workloads {_first(workloads)}")
    if pods:
        parts.append(f"pods {_first(pods)}")
    if not parts:
        accounts = sorted({e.service_account for e in ends if e.service_account})
        parts.append(f"service account {_first(accounts)}")
    return f"{'; '.join(parts)} in namespace {ends[0].namespace}"


def _first(values: list[str]) -> str:
    more = f" (+{len(values) - _SHOWN} more)" if len(values) > _SHOWN else ""
    return ", ".join(values[:_SHOWN]) + more


def _peer(end: FlowEndpoint) -> Identity:
    entities = set((end.entity or "").split(",")) - {""}
    address = end.names[0] if end.names else end.ip or "?"
    if "world" in entities or (not end.namespace and _public(end.ip)):
        why = "outside the cluster: declare egress (host or CIDR) if the call is needed"
        return Identity(None, world=True, label=address, why=why)
    if "kube-apiserver" in entities:
        return Identity(
            None, label="kube-apiserver", why="the Kubernetes API server: declare egress "
            "`apiServer: true` if the call is needed"
        )  # fmt: skip
    if entities:
        kind = ",".join(sorted(entities))
        return Identity(None, label=kind, why=f"a node-level peer ({kind}), not a workload")
    return Identity(
        None,
        label=address,
        why="no workload identity was recorded for this address: ingest flows with pod "
        "identity, or declare egress if it is outside the cluster",
    )


def _public(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_global
    except ValueError:
        return False
