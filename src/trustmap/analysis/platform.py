"""The shared vocabulary of the platform evaluators: who calls whom, with what, and what the platform says.

Each evaluator (:mod:`.cilium`, :mod:`.istio`, :mod:`.linkerd`, :mod:`.admission`) is written from
its platform's documented semantics and answers one question: *would this request be allowed?*
Keeping the question this small is what lets ``verify`` compare it with the declarations and lets a
lab replaying real requests on a proxy ask the same evaluator about the same request.

The inputs are plain values (:class:`Obj` wraps a manifest object as read, :class:`Peer` a pod
group) so the evaluators depend on nothing but this module and never on the compilers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "KUBELET",
    "MALFORMED",
    "Decision",
    "Evaluator",
    "Guarded",
    "Labels",
    "Obj",
    "ObjectRef",
    "Peer",
    "Request",
    "glob_match",
    "mappings",
    "normalized_path",
    "selector_matches",
    "submap",
]

Labels = tuple[tuple[str, str], ...]
PeerKind = Literal["pod", "kubelet", "external"]


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """Where a platform object was read: its kind and name, and its place in a file."""

    kind: str
    namespace: str
    name: str
    file: str = ""
    doc: int = 0
    path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True, slots=True)
class Obj:
    """A manifest object as read, with where it came from (the evaluators' only input form)."""

    kind: str
    name: str
    namespace: str
    raw: Mapping[str, Any]
    ref: ObjectRef
    annotations: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    spec: Mapping[str, Any] = field(default_factory=dict)
    """The object's ``spec`` (empty when absent or not a mapping); read once, used on every request."""


@dataclass(frozen=True, slots=True, order=True)
class Peer:
    """One side of a request: a pod group, the kubelet of a node, or an address outside the cluster."""

    id: str
    """``namespace/name[Kind]`` for workloads; ``kubelet``; the address or host for external."""
    namespace: str = ""
    labels: Labels = ()
    service_account: str = "default"
    kind: PeerKind = "pod"
    meshed: bool = True
    """Whether a mesh proxy runs beside it (presents an mTLS identity)."""
    hosts: tuple[str, ...] = ()
    """Service host names that select it (``name.ns.svc.cluster.local``), or the external host."""
    address: str | None = None
    """External IPv4 address."""
    annotations: tuple[tuple[str, str], ...] = ()
    """Pod template annotations (Linkerd's per-pod default policy, say)."""

    @property
    def label_map(self) -> dict[str, str]:
        """Labels as a mapping."""
        return dict(self.labels)


KUBELET = Peer("kubelet", kind="kubelet", meshed=False)
"""The node's kubelet, sender of liveness/readiness/startup probes."""


@dataclass(frozen=True, slots=True)
class Request:
    """A connection (``method`` None) or an HTTP/gRPC request from ``source`` to ``target``."""

    source: Peer
    target: Peer
    port: int
    protocol: str = "TCP"
    method: str | None = None
    path: str | None = None
    tls: bool = False
    """Whether the client speaks TLS of its own to the port (an HTTPS kubelet probe): a proxy
    that does not terminate it sees an opaque TCP stream, not the method and path."""

    def __str__(self) -> str:
        l7 = f" {self.method or '*'} {self.path or '*'}" if self.path or self.method else ""
        return f"{self.source.id} → {self.target.id} on {self.port}/{self.protocol}{l7}"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the platform does with a request, and which objects decided it."""

    allowed: bool
    by: tuple[ObjectRef, ...] = ()
    audit: bool = False
    """Allowed only because an object is in audit/dry-run mode: enforcement would deny it."""
    why: str = ""


class Evaluator(Protocol):
    """One platform's answer to "is this request allowed", and the requests its objects name."""

    def decide(self, request: Request) -> Decision:
        """What the platform would do with ``request``."""
        ...

    def named_sources(self, target: Peer) -> Iterable[Peer]:
        """Peers the objects selecting ``target`` name as sources (candidates for wider checks)."""
        ...

    def named_ports(self, target: Peer) -> Iterable[int]:
        """Ports the objects selecting ``target`` name."""
        ...

    def named_routes(self, target: Peer, port: int) -> Iterable[tuple[str | None, str | None]]:
        """Sample (method, path) pairs the objects allow on ``target``'s ``port``."""
        ...

    def unsupported(self) -> Sequence[tuple[ObjectRef, str]]:
        """Objects or fields the evaluator could not interpret (reported, not guessed)."""
        ...


MALFORMED = (AttributeError, TypeError, ValueError, KeyError, IndexError, re.error)
"""What reading a field of an unexpected shape raises in an evaluator: hand-written objects can
hold anything, so callers catch these and report the object instead of failing."""


class Guarded:
    """An evaluator whose answers never raise: a malformed object makes a question unanswerable
    (``decide`` returns None, the others nothing) and is remembered in :attr:`failures`."""

    def __init__(self, inner: Evaluator) -> None:
        self.inner = inner
        self.failures: dict[str, tuple[str, Request | None]] = {}
        """Error text → what was being asked (and the request, for finding the culprit)."""

    def _failed(self, what: str, exc: Exception, request: Request | None = None) -> None:
        self.failures.setdefault(f"{type(exc).__name__}: {exc}", (what, request))

    def decide(self, request: Request) -> Decision | None:
        """The inner decision, or None when the objects could not be read for this request."""
        try:
            return self.inner.decide(request)
        except MALFORMED as exc:
            self._failed(str(request), exc, request)
            return None

    def listed(self, what: str, produce: Any) -> list[Any]:
        """``list(produce())``, or what was produced before a malformed object stopped it."""
        out: list[Any] = []
        try:
            out.extend(produce())
        except MALFORMED as exc:
            self._failed(what, exc)
        return out


def mappings(value: Any) -> list[Mapping[str, Any]]:
    """The mapping elements of a list (nothing for any other value)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def submap(value: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``value[key]`` when it is a mapping, else an empty mapping (manifests are untrusted)."""
    found = value.get(key)
    return found if isinstance(found, Mapping) else {}


def selector_matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """Kubernetes label selector semantics: every matchLabels entry and matchExpression holds.

    An empty selector matches everything; a selector that is not a mapping matches nothing.
    """
    if selector is None:
        return True
    if not isinstance(selector, Mapping):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    return all(_expression(e, labels) for e in selector.get("matchExpressions") or ())


def _expression(expression: Any, labels: Mapping[str, str]) -> bool:
    if not isinstance(expression, Mapping):
        return False
    key = str(expression.get("key", ""))
    operator = expression.get("operator")
    values = [str(v) for v in expression.get("values") or ()]
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def glob_match(pattern: str, value: str) -> bool:
    """``*`` matches any run of characters (``/`` included), ``?`` one character; else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def normalized_path(path: str | None, *, merge_slashes: bool = False) -> str | None:
    """``path`` as Envoy's ``normalize_path`` leaves it before any filter sees it (RFC 3986 §6.2.2:
    ``%XX`` of an unreserved character decoded, other ``%xx`` upper-cased, ``.``/``..`` segments
    removed), with adjacent slashes merged when ``merge_slashes``; the query string is kept.

    Istio's default ``BASE`` normalisation is this
    (https://istio.io/latest/docs/reference/config/security/normalization/); Cilium's agent
    default ``http-normalize-path: true`` adds merged slashes (cilium ``daemon`` flag help).
    Found by ``trustmap lab``: both proxies allow ``/%63art`` where ``/cart`` is allowed.
    """
    if path is None or not path.startswith("/"):
        return path
    base, mark, query = path.partition("?")
    if "%" not in base and "/." not in base and not (merge_slashes and "//" in base):
        return path  # nothing to decode, no dot segment, no slashes to merge: already normal
    decoded = _decode_unreserved(base)
    if merge_slashes:
        decoded = re.sub("/{2,}", "/", decoded)
    return _remove_dot_segments(decoded) + mark + query


def _decode_unreserved(path: str) -> str:
    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else match.group(0).upper()

    return re.sub("%([0-9A-Fa-f]{2})", one, path)


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    tail = "/" if path.endswith(("/.", "/..")) else ""
    return "/" + "/".join(out) + tail
