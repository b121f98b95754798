"""A pod/Service snapshot: what each address, pod name and ClusterIP of a cluster was.

Flow sources that record only addresses (Envoy and Istio access logs, Linkerd tap, CSV exports)
name no workload; a snapshot of the cluster's pods and Services (``kubectl get pods,svc -A -o
json``, or Kubernetes manifests in YAML) tells which pod or Service an address belonged to.
Files are parsed with the fast value loaders (:mod:`json`, libyaml); positions are composed only
for the files that hold a problem, so every problem still names ``file:line:col`` and the field.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.loader import Document, Limits, compose_documents

__all__ = [
    "ClusterSnapshot",
    "ServicePort",
    "SnapshotPod",
    "SnapshotService",
    "load_snapshot",
    "normalize_ip",
    "parse_snapshot",
]

_SUFFIXES: Final = (".json", ".yaml", ".yml")
_TERMINATED: Final = frozenset({"Succeeded", "Failed"})
_CONTROLLER_HASH: Final = "pod-template-hash"
_NO_CLUSTER_IP: Final = frozenset({"", "None"})
_HINT: Final = "write it as `kubectl get pods,svc -A -o json` does, or regenerate the snapshot"

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SnapshotPod:
    """A pod of the snapshot, with what identity resolution needs."""

    namespace: str
    """Namespace (``default`` when a manifest names none)."""
    name: str
    """Pod name."""
    labels: tuple[str, ...]
    """Labels as sorted ``key=value``."""
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
class ServicePort:
    """One port of a Service."""

    port: int
    """Port clients dial on the ClusterIP."""
    protocol: str
    """TCP, UDP or SCTP."""
    target: int | str
    """``targetPort``: a container port number or name (defaults to ``port``)."""


@dataclass(frozen=True, slots=True)
class SnapshotService:
    """A Service of the snapshot."""

    namespace: str
    """Namespace."""
    name: str
    """Service name."""
    selector: tuple[str, ...]
    """``spec.selector`` as sorted ``key=value`` (empty: the Service selects no pod)."""
    ips: tuple[str, ...]
    """``spec.clusterIPs`` (or ``clusterIP``), normalised; empty for headless Services."""
    ports: tuple[ServicePort, ...]
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
        target = match[0].target
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
    """Read snapshot files (and ``*.json``/``*.yaml``/``*.yml`` under directories).

    Returns:
        The snapshot and every problem found (TM1xx for unreadable files or YAML, TM515 for
        objects that are not what a pod/Service list holds), sorted. Any problem means the
        snapshot must not be trusted: the CLI exits 2.
    """
    files, problems = _files(paths)
    texts: list[tuple[str, str]] = []
    for file in files:
        text = _read(file, problems)
        if text is not None:
            texts.append((file, text))
    snapshot, found = parse_snapshot(texts)
    return snapshot, sort_diagnostics([*problems, *found])


def parse_snapshot(texts: Iterable[tuple[str, str]]) -> tuple[ClusterSnapshot, list[Diagnostic]]:
    """Parse ``(file, text)`` pairs: JSON (``kubectl ... -o json``) or YAML (one or more
    documents, ``List`` kinds flattened)."""
    reader = _Reader()
    names: list[str] = []
    for file, text in texts:
        names.append(file)
        reader.read(file, text)
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


def _files(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[str], list[Diagnostic]]:
    files: list[str] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                (str(p) for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file()),
                key=lambda name: Path(name).as_posix(),
            )
            files.extend(found)
            if not found:
                problems.append(_no_files(str(path)))
        elif path.is_file():
            files.append(str(path))
        else:
            problems.append(
                diagnostic("TM100", Span(str(path)), "no such file or directory", "check the path")
            )
    return list(dict.fromkeys(files)), problems


def _no_files(folder: str) -> Diagnostic:
    return diagnostic(
        "TM515",
        Span(folder),
        "no *.json, *.yaml or *.yml file in the snapshot directory",
        "name the snapshot file, e.g. the output of `kubectl get pods,svc -A -o json`",
    )


def _read(file: str, problems: list[Diagnostic]) -> str | None:
    try:
        data = Path(file).read_bytes()
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        problems.append(diagnostic("TM100", Span(file), f"cannot read file: {reason}"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        col = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        problems.append(
            diagnostic(
                "TM106",
                Span(file, line, col),
                f"byte 0x{data[error.start]:02x} is not valid UTF-8",
                "a snapshot is JSON or YAML text",
            )
        )
        return None


class _Text:
    """A file's text, composed with positions at most once, when first needed."""

    def __init__(self, file: str, text: str) -> None:
        self.file, self.text = file, text
        self._composed: tuple[list[Document], list[Diagnostic]] | None = None

    def composed(self) -> tuple[list[Document], list[Diagnostic]]:
        if self._composed is None:
            size = len(self.text) + 1
            limits = Limits(max_bytes=size, max_expanded_nodes=size)
            self._composed = compose_documents(self.text, self.file, limits)
        return self._composed


class _Located:
    """One parsed document and a lazy way to turn a field path into a span."""

    def __init__(self, source: _Text, index: int, data: Any) -> None:
        self.source, self.index, self.data = source, index, data

    def span(self, path: FieldPath) -> Span:
        documents, _ = self.source.composed()
        for document in documents:
            if document.index == self.index:
                return document.span(path)
        return Span(self.source.file)

    def origin(self, path: FieldPath) -> str:
        where = f"{self.source.file}" + (f" #{self.index + 1}" if self.index else "")
        return f"{where} {_field(path)}" if path else where


class _Reader:
    """Walks documents, collecting pods, Services and problems."""

    def __init__(self) -> None:
        self.pods: list[SnapshotPod] = []
        self.services: list[SnapshotService] = []
        self.problems: list[Diagnostic] = []
        self.ignored = 0

    def read(self, file: str, text: str) -> None:
        documents = self._documents(file, text)
        if documents is None:
            return
        if not documents:
            self.problems.append(
                diagnostic("TM515", Span(file, 1, 1), "the snapshot file holds no object", _HINT)
            )
        for document in documents:
            for path, item in _objects(document.data):
                self._object(document, path, item)

    def _documents(self, file: str, text: str) -> list[_Located] | None:
        if text.lstrip()[:1] in ("{", "["):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as error:
                self.problems.append(
                    diagnostic(
                        "TM515",
                        Span(file, error.lineno, error.colno),
                        f"invalid JSON: {error.msg}",
                        "a snapshot is the unmodified output of `kubectl get ... -o json`",
                    )
                )
                return None
            return [_Located(_Text(file, text), 0, data)]
        source = _Text(file, text)
        documents, problems = source.composed()
        if problems:
            self.problems.extend(problems)
            return None
        return [_Located(source, d.index, d.data) for d in documents if d.data is not None]

    def fail(self, where: _Located, path: FieldPath, message: str, hint: str = _HINT) -> None:
        text = f"{_field(path)}: {message}" if path else message
        self.problems.append(diagnostic("TM515", where.span(path), text, hint))

    def _object(self, where: _Located, path: FieldPath, item: Any) -> None:
        if not isinstance(item, dict):
            self.fail(where, path, f"expected a Kubernetes object (a mapping), got {_type(item)}")
            return
        kind = item.get("kind")
        if not isinstance(kind, str):
            self.fail(where, (*path, "kind"), "missing or not a string; every object has a kind")
            return
        if kind == "Pod":
            pod = _Fields(self, where, path, item).pod()
            if pod is not None:
                self.pods.append(pod)
        elif kind == "Service":
            service = _Fields(self, where, path, item).service()
            if service is not None:
                self.services.append(service)
        else:
            self.ignored += 1


def _objects(data: Any) -> Iterator[tuple[FieldPath, Any]]:
    """Objects of a document: a ``List`` (``v1 List``, ``PodList``...) is flattened."""
    if isinstance(data, list):
        for n, item in enumerate(data):
            yield (n,), item
        return
    if isinstance(data, dict) and str(data.get("kind", "")).endswith("List"):
        items = data.get("items")
        if isinstance(items, list):
            for n, item in enumerate(items):
                yield ("items", n), item
            return
    yield (), data


class _Fields:
    """Typed reads of one object's fields; a wrong field is reported and the object dropped."""

    def __init__(self, reader: _Reader, where: _Located, path: FieldPath, raw: dict[str, Any]):
        self.reader, self.where, self.path, self.raw = reader, where, path, raw
        self.ok = True

    def fail(self, path: FieldPath, message: str, hint: str = _HINT) -> None:
        self.ok = False
        self.reader.fail(self.where, (*self.path, *path), message, hint)

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

    def meta(self) -> tuple[str, str, tuple[str, ...]] | None:
        name = self.get(("metadata", "name"), str, "a name")
        if name is None and self.ok:
            self.fail(("metadata", "name"), "missing; every pod and Service has a name")
        namespace = self.get(("metadata", "namespace"), str, "a namespace name") or "default"
        labels = self.labels(("metadata", "labels"))
        return (namespace, name, labels) if self.ok and name else None

    def labels(self, path: FieldPath) -> tuple[str, ...]:
        found = self.get(path, dict, "a map of label keys to string values") or {}
        for key, value in found.items():
            if not isinstance(value, str):
                message = f"label value must be a string, got {_type(value)}"
                self.fail((*path, key), message, "quote the value: Kubernetes labels are strings")
        return tuple(sorted(f"{k}={v}" for k, v in found.items() if isinstance(v, str)))

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
            self.where.origin(self.path),
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

    def owner(self, labels: tuple[str, ...]) -> str | None:
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
        origin = self.where.origin(self.path)
        return SnapshotService(namespace, name, selector, ips, ports, origin)

    def service_ports(self) -> tuple[ServicePort, ...]:
        found: list[ServicePort] = []
        ports = self.get(("spec", "ports"), list, "a list of ports") or []
        for n in range(len(ports)):
            base: FieldPath = ("spec", "ports", n)
            number = self.get((*base, "port"), int, "a port number")
            if number is None and self.ok:
                self.fail((*base, "port"), "missing; every Service port has a number")
            protocol = (self.get((*base, "protocol"), str, "TCP, UDP or SCTP") or "TCP").upper()
            target = self.get((*base, "targetPort"), (int, str), "a port number or name")
            if number is not None:
                found.append(ServicePort(number, protocol, number if target is None else target))
        return tuple(found)


def _pick(entry: Any, key: str | None) -> Any:
    if key is None:
        return entry
    return entry.get(key) if isinstance(entry, Mapping) else entry


def _workload_name(kind: Any, name: str, labels: tuple[str, ...]) -> str:
    """A ReplicaSet's pods belong to its Deployment: drop the ``-<pod-template-hash>``."""
    if kind == "ReplicaSet":
        for label in labels:
            key, _, value = label.partition("=")
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
