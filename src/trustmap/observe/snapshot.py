"""A pod/Service snapshot: what each address, pod name and ClusterIP of a cluster was.

Flow sources that record only addresses (Envoy and Istio access logs, Linkerd tap, CSV exports)
name no workload; a snapshot of the cluster's pods and Services (``kubectl get pods,svc -A -o
json``, or Kubernetes manifests in YAML) tells which pod or Service an address belonged to.
Files are found and parsed by :mod:`trustmap.kube` (the walker every command uses; JSON positions
are composed only when a problem is located); this module checks the fields identity resolution
reads, strictly, so every problem names ``file:line:col`` and the field.
"""

from __future__ import annotations

import ipaddress
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.kube import (
    KubeLeftover,
    KubeObject,
    KubeProtocol,
    KubeServicePort,
    Labels,
    flatten,
    manifest_files,
    parse_manifest,
    read_manifest,
)
from trustmap.kube.fields import FieldPath, Place
from trustmap.kube.workloads import PROTOCOLS
from trustmap.loader import Document

__all__ = [
    "ClusterSnapshot",
    "SnapshotPod",
    "SnapshotService",
    "load_snapshot",
    "normalize_ip",
    "parse_snapshot",
]

_UNREAD: Final = frozenset({"TM100", "TM104", "TM106"})
_TERMINATED: Final = frozenset({"Succeeded", "Failed"})
_CONTROLLER_HASH: Final = "pod-template-hash"
_NO_CLUSTER_IP: Final = frozenset({"", "None"})
_HINT: Final = "write it as `kubectl get pods,svc -A -o json` does, or regenerate the snapshot"


@dataclass(frozen=True, slots=True)
class SnapshotPod:
    """A pod of the snapshot, with what identity resolution needs."""

    namespace: str
    """Namespace (``default`` when a manifest names none)."""
    name: str
    """Pod name."""
    labels: Labels
    """Labels as sorted ``(key, value)`` pairs."""
    service_account: str | None
    """``spec.serviceAccountName``."""
    workload: str | None
    """Controlling owner: a Deployment (through its ReplicaSet), StatefulSet, DaemonSet, Job."""
    ips: tuple[str, ...]
    """``status.podIPs`` (or ``podIP``), normalised."""
    host_network: bool
    """The pod shares its node's address, so its address says nothing about it."""
    terminated: bool
    """Phase ``Succeeded`` or ``Failed``: its address may already belong to another pod."""
    ports: tuple[tuple[str, int, str], ...]
    """Named container ports: (name, containerPort, protocol)."""
    origin: str
    """Where the object is in the snapshot: file (and document) and item, e.g. ``s.json items[3]``."""


@dataclass(frozen=True, slots=True)
class SnapshotService:
    """A Service of the snapshot."""

    namespace: str
    """Namespace."""
    name: str
    """Service name."""
    selector: Labels
    """``spec.selector`` as sorted ``(key, value)`` pairs (empty: the Service selects no pod)."""
    ips: tuple[str, ...]
    """``spec.clusterIPs`` (or ``clusterIP``), normalised; empty for headless Services."""
    ports: tuple[KubeServicePort, ...]
    """Ports."""
    origin: str
    """Where the object is in the snapshot (see :attr:`SnapshotPod.origin`)."""

    @property
    def ref(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """Pods and Services of one cluster at one time, indexed by address and name."""

    pods: tuple[SnapshotPod, ...]
    """Every pod, in file order."""
    services: tuple[SnapshotService, ...]
    """Every Service, in file order."""
    files: tuple[str, ...]
    """Files read."""
    ignored: int = 0
    """Objects of other kinds (Deployments, ConfigMaps...), which say nothing about addresses."""
    _by_ip: dict[str, SnapshotPod | SnapshotService] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _by_name: dict[tuple[str, str], SnapshotPod] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _ambiguous: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_ip, ambiguous = _index_addresses(self.pods, self.services)
        self._by_ip.update(by_ip)
        self._by_name.update({(p.namespace, p.name): p for p in self.pods})
        object.__setattr__(self, "_ambiguous", frozenset(ambiguous))

    def at(self, address: str) -> SnapshotPod | SnapshotService | None:
        """The pod or Service that owns ``address``; ``None`` when unknown or ambiguous."""
        ip = normalize_ip(address)
        return None if ip is None else self._by_ip.get(ip)

    def pod(self, namespace: str, name: str) -> SnapshotPod | None:
        """The pod called ``namespace/name``, if the snapshot has it."""
        return self._by_name.get((namespace, name))

    @property
    def ambiguous(self) -> frozenset[str]:
        """Addresses shared by several live pods (or a pod and a Service): never mapped."""
        return self._ambiguous

    def selected(self, service: SnapshotService) -> tuple[SnapshotPod, ...]:
        """Live pods of the Service's namespace whose labels include its selector."""
        if not service.selector:
            return ()
        wanted = set(service.selector)
        return tuple(
            pod
            for pod in self.pods
            if pod.namespace == service.namespace
            and not pod.terminated
            and wanted <= set(pod.labels)
        )

    def target_port(self, service: SnapshotService, port: int, protocol: str) -> int | None:
        """The container port a connection to ``port`` of the Service reaches, when known."""
        match = [p for p in service.ports if p.port == port and p.protocol == protocol]
        if len(match) != 1:
            return None
        target = match[0].target_port
        if isinstance(target, int):
            return target
        numbers = {
            number
            for pod in self.selected(service)
            for name, number, proto in pod.ports
            if name == target and proto == protocol
        }
        return numbers.pop() if len(numbers) == 1 else None


def _index_addresses(
    pods: Sequence[SnapshotPod], services: Sequence[SnapshotService]
) -> tuple[dict[str, SnapshotPod | SnapshotService], set[str]]:
    """Each address → its owner; live pods win over terminated ones, ties are ambiguous."""
    owners: dict[str, list[SnapshotPod | SnapshotService]] = defaultdict(list)
    for pod in pods:
        if not pod.host_network:
            for ip in pod.ips:
                owners[ip].append(pod)
    for service in services:
        for ip in service.ips:
            owners[ip].append(service)
    found: dict[str, SnapshotPod | SnapshotService] = {}
    ambiguous: set[str] = set()
    for ip, candidates in owners.items():
        live = [c for c in candidates if not (isinstance(c, SnapshotPod) and c.terminated)]
        chosen = live or candidates
        if len(chosen) == 1:
            found[ip] = chosen[0]
        else:
            ambiguous.add(ip)
    return found, ambiguous


def normalize_ip(address: str) -> str | None:
    """The canonical text of an IPv4/IPv6 address (IPv4-mapped IPv6 as IPv4), else ``None``."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


# reading ---------------------------------------------------------------------------------------


def load_snapshot(
    paths: Sequence[str | os.PathLike[str]],
) -> tuple[ClusterSnapshot, list[Diagnostic]]:
    """Read snapshot files (folders are walked as :mod:`trustmap.kube.files` says).

    Returns:
        The snapshot and every problem found (TM1xx for unreadable files or YAML, TM515 for
        objects that are not what a pod/Service list holds), sorted. Any problem means the
        snapshot must not be trusted: the CLI exits 2.
    """
    files, problems = manifest_files(paths)
    for path in paths:
        if Path(path).is_dir() and not manifest_files([path])[0]:
            problems.append(_no_files(str(path)))
    parsed = [(file, *read_manifest(file)) for file in files]
    snapshot, found = _snapshot(parsed)
    return snapshot, sort_diagnostics([*problems, *found])


def parse_snapshot(texts: Iterable[tuple[str, str]]) -> tuple[ClusterSnapshot, list[Diagnostic]]:
    """Parse ``(file, text)`` pairs: JSON (``kubectl ... -o json``) or YAML (one or more
    documents, ``List`` kinds flattened)."""
    return _snapshot([(file, *parse_manifest(text, file)) for file, text in texts])


def _snapshot(
    parsed: Sequence[tuple[str, list[Document], list[Diagnostic]]],
) -> tuple[ClusterSnapshot, list[Diagnostic]]:
    reader = _Reader()
    names: list[str] = []
    for file, documents, problems in parsed:
        reader.problems.extend(problems)
        if any(p.code in _UNREAD for p in problems):
            continue
        names.append(file)
        if not documents and not problems:
            reader.problems.append(
                diagnostic("TM515", Span(file, 1, 1), "the snapshot file holds no object", _HINT)
            )
        for document in documents:
            for item in flatten(document):
                reader.item(item)
    snapshot = ClusterSnapshot(
        tuple(reader.pods), tuple(reader.services), tuple(names), reader.ignored
    )
    problems = reader.problems
    if names and not problems and not snapshot.pods and not snapshot.services:
        problems.append(
            diagnostic(
                "TM515",
                Span(", ".join(names)),
                "the snapshot holds no Pod and no Service",
                "snapshot the cluster with `kubectl get pods,svc -A -o json > snapshot.json`",
            )
        )
    return snapshot, problems


def _no_files(folder: str) -> Diagnostic:
    return diagnostic(
        "TM515",
        Span(folder),
        "no *.json, *.yaml or *.yml file in the snapshot directory",
        "name the snapshot file, e.g. the output of `kubectl get pods,svc -A -o json`",
    )


def _origin(obj: KubeObject) -> str:
    index = obj.document.index
    where = f"{obj.file}" + (f" #{index + 1}" if index else "")
    return f"{where} {_field(obj.path)}" if obj.path else where


class _Reader:
    """Walks objects, collecting pods, Services and problems."""

    def __init__(self) -> None:
        self.pods: list[SnapshotPod] = []
        self.services: list[SnapshotService] = []
        self.problems: list[Diagnostic] = []
        self.ignored = 0

    def fail(self, span: Span, path: FieldPath, message: str, hint: str = _HINT) -> None:
        text = f"{_field(path)}: {message}" if path else message
        self.problems.append(diagnostic("TM515", span, text, hint))

    def item(self, item: KubeObject | KubeLeftover) -> None:
        if isinstance(item, KubeLeftover):
            self._leftover(item)
        elif item.kind == "Pod":
            pod = _Fields(self, item).pod()
            if pod is not None:
                self.pods.append(pod)
        elif item.kind == "Service":
            service = _Fields(self, item).service()
            if service is not None:
                self.services.append(service)
        else:
            self.ignored += 1

    def _leftover(self, item: KubeLeftover) -> None:
        if not isinstance(item.value, dict):
            message = f"expected a Kubernetes object (a mapping), got {_type(item.value)}"
            self.fail(item.span, item.path, message)
            return
        path = (*item.path, "kind")
        where = item.document.span(path)
        self.fail(where, path, "missing or not a string; every object has a kind")


class _Fields:
    """Typed reads of one object's fields; a wrong field is reported and the object dropped."""

    def __init__(self, reader: _Reader, obj: KubeObject):
        self.reader, self.obj, self.raw = reader, obj, obj.raw
        self.ok = True

    def fail(self, path: FieldPath, message: str, hint: str = _HINT) -> None:
        self.ok = False
        self.reader.fail(self.obj.span_at(path), (*self.obj.path, *path), message, hint)

    def get(self, path: FieldPath, kind: type | tuple[type, ...], what: str) -> Any:
        value: Any = self.raw
        for part in path:
            if isinstance(part, int):
                value = value[part] if isinstance(value, list) and part < len(value) else None
            else:
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                return None
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.fail(path, f"expected {what}, got {_type(value)}")
            return None
        if not isinstance(value, kind):
            self.fail(path, f"expected {what}, got {_type(value)}")
            return None
        return value

    def meta(self) -> tuple[str, str, Labels] | None:
        name = self.get(("metadata", "name"), str, "a name")
        if name is None and self.ok:
            self.fail(("metadata", "name"), "missing; every pod and Service has a name")
        namespace = self.get(("metadata", "namespace"), str, "a namespace name") or "default"
        labels = self.labels(("metadata", "labels"))
        return (namespace, name, labels) if self.ok and name else None

    def labels(self, path: FieldPath) -> Labels:
        found = self.get(path, dict, "a map of label keys to string values") or {}
        for key, value in found.items():
            if not isinstance(value, str):
                message = f"label value must be a string, got {_type(value)}"
                self.fail((*path, key), message, "quote the value: Kubernetes labels are strings")
        return tuple(sorted((str(k), v) for k, v in found.items() if isinstance(v, str)))

    def ips(self, single: FieldPath, plural: FieldPath, key: str | None) -> tuple[str, ...]:
        values: list[tuple[FieldPath, Any]] = []
        many = self.get(plural, list, "a list") or []
        for n, entry in enumerate(many):
            values.append(((*plural, n, key) if key else (*plural, n), _pick(entry, key)))
        if not values:
            values.append((single, self.get(single, str, "an IP address")))
        found: list[str] = []
        for path, value in values:
            if value is None or value in _NO_CLUSTER_IP:
                continue
            ip = normalize_ip(value) if isinstance(value, str) else None
            if ip is None:
                hint = "an IPv4 or IPv6 address such as 10.244.1.7 or fd00::7"
                self.fail(path, f"{value!r} is not an IP address", hint)
            else:
                found.append(ip)
        return tuple(dict.fromkeys(found))

    def pod(self) -> SnapshotPod | None:
        meta = self.meta()
        account = self.get(("spec", "serviceAccountName"), str, "a service account name")
        account = account or self.get(("spec", "serviceAccount"), str, "a service account name")
        ips = self.ips(("status", "podIP"), ("status", "podIPs"), "ip")
        host = self.get(("spec", "hostNetwork"), bool, "true or false") or False
        phase = self.get(("status", "phase"), str, "a pod phase")
        ports = self.container_ports()
        owner = self.owner(meta[2] if meta else ())
        if meta is None or not self.ok:
            return None
        namespace, name, labels = meta
        return SnapshotPod(
            namespace, name, labels, account, owner, ips, host, phase in _TERMINATED, ports,
            _origin(self.obj),
        )  # fmt: skip

    def container_ports(self) -> tuple[tuple[str, int, str], ...]:
        found: list[tuple[str, int, str]] = []
        containers = self.get(("spec", "containers"), list, "a list of containers") or []
        for n in range(len(containers)):
            base: FieldPath = ("spec", "containers", n, "ports")
            ports = self.get(base, list, "a list of ports") or []
            for m in range(len(ports)):
                name = self.get((*base, m, "name"), str, "a port name")
                number = self.get((*base, m, "containerPort"), int, "a port number")
                protocol = self.get((*base, m, "protocol"), str, "TCP, UDP or SCTP") or "TCP"
                if name and number is not None:
                    found.append((name, number, protocol.upper()))
        return tuple(found)

    def owner(self, labels: Labels) -> str | None:
        owners = self.get(("metadata", "ownerReferences"), list, "a list") or []
        for n, ref in enumerate(owners):
            if not isinstance(ref, dict) or not ref.get("controller"):
                continue
            name = self.get(("metadata", "ownerReferences", n, "name"), str, "an owner name")
            kind = ref.get("kind")
            return _workload_name(kind, name, labels) if name else None
        return None

    def service(self) -> SnapshotService | None:
        meta = self.meta()
        selector = self.labels(("spec", "selector"))
        ips = self.ips(("spec", "clusterIP"), ("spec", "clusterIPs"), None)
        ports = self.service_ports()
        if meta is None or not self.ok:
            return None
        namespace, name, _ = meta
        origin = _origin(self.obj)
        return SnapshotService(namespace, name, selector, ips, ports, origin)

    def service_ports(self) -> tuple[KubeServicePort, ...]:
        found: list[KubeServicePort] = []
        ports = self.get(("spec", "ports"), list, "a list of ports") or []
        for n in range(len(ports)):
            base: FieldPath = ("spec", "ports", n)
            number = self.get((*base, "port"), int, "a port number")
            if number is None and self.ok:
                self.fail((*base, "port"), "missing; every Service port has a number")
            protocol = self.protocol((*base, "protocol"))
            target = self.get((*base, "targetPort"), (int, str), "a port number or name")
            name = self.get((*base, "name"), str, "a port name")
            app = self.get((*base, "appProtocol"), str, "an application protocol")
            if number is not None and protocol is not None:
                target = number if target is None else target
                place = Place(self.obj.document, (*self.obj.path, *base))
                found.append(KubeServicePort(name, number, target, protocol, app, place))
        return tuple(found)

    def protocol(self, path: FieldPath) -> KubeProtocol | None:
        written = self.get(path, str, "TCP, UDP or SCTP") or "TCP"
        if written.upper() not in PROTOCOLS:
            self.fail(path, f"expected TCP, UDP or SCTP, got {written!r}")
            return None
        return cast(KubeProtocol, written.upper())


def _pick(entry: Any, key: str | None) -> Any:
    if key is None:
        return entry
    return entry.get(key) if isinstance(entry, Mapping) else entry


def _workload_name(kind: Any, name: str, labels: Labels) -> str:
    """A ReplicaSet's pods belong to its Deployment: drop the ``-<pod-template-hash>``."""
    if kind == "ReplicaSet":
        for key, value in labels:
            if key == _CONTROLLER_HASH and value and name.endswith(f"-{value}"):
                return name[: -len(value) - 1]
    return name


def _field(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else "a mapping"
    )
