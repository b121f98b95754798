"""Typed values for the Kubernetes objects that matter to NetworkPolicy connectivity.

Manifests are parsed once into these frozen values (see :mod:`trustmap.analysis.load`); the
engine never touches raw YAML. Labels are kept as sorted ``(key, value)`` tuples so that values
hash and compare, with a ``labels`` mapping view for reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trustmap.analysis.intervals import Intervals
from trustmap.analysis.ports import Protocol
from trustmap.analysis.selectors import Selector
from trustmap.diagnostics import Span
from trustmap.kube import KubeBackend, KubeService
from trustmap.loader import Document

__all__ = [
    "INGRESS_CONTROLLER",
    "INGRESS_CONTROLLER_NAMESPACE",
    "METADATA_NAME_LABEL",
    "Cluster",
    "ContainerPort",
    "IPBlockPeer",
    "Labels",
    "NetpolNamespace",
    "NetpolPolicy",
    "Origin",
    "Peer",
    "Pod",
    "PodPeer",
    "PortSpec",
    "Rule",
    "Workload",
]

Labels = tuple[tuple[str, str], ...]
"""Sorted ``(key, value)`` pairs."""

METADATA_NAME_LABEL = "kubernetes.io/metadata.name"
INGRESS_CONTROLLER = "{ingress-controller}"
"""Peer name of the placeholder source that Ingress and Route objects imply."""
INGRESS_CONTROLLER_NAMESPACE = "ingress-controller-ns"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object was read: file, document number, key path of the object in it."""

    file: str
    """Path as given."""
    doc: int = 0
    """Zero-based document index in a multi-document file."""
    path: tuple[str | int, ...] = ()
    """Key path of the object inside the document (``("items", 3)`` inside a List)."""
    document: Document | None = field(default=None, compare=False, repr=False)
    """The document read, to locate problems found after reading (``None``: built in memory)."""

    def span(self, path: tuple[str | int, ...] = ()) -> Span:
        """Where the value at ``path`` below the object is written (the file when unknown)."""
        if self.document is None or (
            isinstance(self.document.positions, dict) and not self.document.positions
        ):
            return Span(self.file)
        return self.document.span((*self.path, *path))


@dataclass(frozen=True, slots=True)
class NetpolNamespace:
    """A namespace with its labels (``kubernetes.io/metadata.name`` always present)."""

    name: str
    labels: Labels


@dataclass(frozen=True, slots=True)
class Workload:
    """A connectivity endpoint: a pod-producing object or a bare pod, named as np-guard does."""

    namespace: str
    name: str
    kind: str
    """``Deployment``, ``ReplicaSet``, ``DaemonSet``, ``Pod``… (the owner's kind for owned pods)."""
    labels: Labels = ()
    """Pod labels (of the template, or of the first pod seen)."""

    @property
    def id(self) -> str:
        """``namespace/name[Kind]``, the peer name in connlist output."""
        return f"{self.namespace}/{self.name}[{self.kind}]"


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """One declared container port (``name`` empty when unnamed)."""

    name: str
    port: int
    protocol: Protocol = "TCP"


@dataclass(frozen=True, slots=True)
class Pod:
    """One pod shape of a workload: the template of a controller, or one bare pod."""

    workload: Workload
    """The endpoint this pod is reported as."""
    labels: Labels
    ports: tuple[ContainerPort, ...] = ()
    origin: Origin = field(default=Origin(""), compare=False)


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One entry of a rule's ``ports``: a protocol and a port, port range, name, or all ports."""

    protocol: Protocol = "TCP"
    port: int | str | None = None
    """Number, named container port, or ``None`` for every port of the protocol."""
    end_port: int | None = None
    """Inclusive end of a numeric range."""


@dataclass(frozen=True, slots=True)
class PodPeer:
    """A peer given by selectors; ``None`` means the field was absent."""

    namespace_selector: Selector | None = None
    pod_selector: Selector | None = None


@dataclass(frozen=True, slots=True)
class IPBlockPeer:
    """An ``ipBlock`` peer: external addresses in ``cidr`` minus ``except``."""

    cidr: str
    excepts: tuple[str, ...]
    addresses: Intervals
    """The IPv4 addresses matched (empty for an IPv6 block, which is not modelled)."""


Peer = PodPeer | IPBlockPeer


@dataclass(frozen=True, slots=True)
class Rule:
    """One ingress or egress rule; ``None`` peers or ports mean "all"."""

    peers: tuple[Peer, ...] | None
    ports: tuple[PortSpec, ...] | None
    index: int = 0
    """Position in the policy's ``ingress`` or ``egress`` list."""


@dataclass(frozen=True, slots=True)
class NetpolPolicy:
    """A validated ``networking.k8s.io/v1`` NetworkPolicy."""

    namespace: str
    name: str
    pod_selector: Selector
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    isolates_ingress: bool
    """``Ingress`` is among the effective policyTypes."""
    isolates_egress: bool
    """``Egress`` is among the effective policyTypes."""
    origin: Origin = field(default=Origin(""), compare=False)

    @property
    def ref(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Cluster:
    """Everything read from a set of manifests that bears on connectivity."""

    namespaces: tuple[NetpolNamespace, ...] = ()
    """Every namespace defined or referenced by a pod, sorted by name."""
    workloads: tuple[Workload, ...] = ()
    """Sorted by id."""
    pods: tuple[Pod, ...] = ()
    policies: tuple[NetpolPolicy, ...] = ()
    services: tuple[KubeService, ...] = ()
    backends: tuple[KubeBackend, ...] = ()
    """Backends of Ingress and Route objects."""
    has_ingress_objects: bool = False
    """Whether any Ingress or Route was read (then ``{ingress-controller}`` is a peer)."""
