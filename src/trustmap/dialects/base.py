"""The common compiler: walk the graph once, ask each dialect how a rule looks, record what it can't say.

Like a sqlglot generator, :class:`Compiler` holds the behaviour every target shares (grouping edges
per service, names, provenance annotations, rollout modes) and capability flags that say what a
target can express. Where a target cannot express a declaration, :meth:`Compiler.unsupported`
records a TM3xx diagnostic — the rule is either left out (fail closed) or widened, and the
diagnostic says which; nothing is dropped silently. Subclasses implement
:meth:`~Compiler.namespace_objects`, :meth:`~Compiler.service_objects` and, if they need it,
:meth:`~Compiler.cluster_objects`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.dialects.names import Namer, object_name
from trustmap.dialects.plan import Grant, Index, Outbound, grants_of
from trustmap.dialects.provenance import (
    AUDIT,
    MANAGED_BY,
    MODE,
    Source,
    annotate,
    edge_source,
    egress_source,
    source,
)
from trustmap.dialects.routes import speaks_http
from trustmap.manifests import Manifest, ObjectMeta
from trustmap.model import Edge, Egress, Graph, Interface, Mode, Service

__all__ = ["CompileResult", "Compiler"]


@dataclass(frozen=True, slots=True)
class CompileResult:
    """Objects compiled for one target, and what the target could not express."""

    target: str
    """The target's name, e.g. ``kubernetes``."""
    objects: tuple[tuple[str, Manifest], ...]
    """``(namespace, object)`` in output order; ``""`` for cluster-scoped objects."""
    diagnostics: tuple[Diagnostic, ...]
    """TM3xx findings, sorted."""


_LAST: list[tuple[Graph, Index, dict[int, Source]]] = []


def _derived(graph: Graph) -> tuple[Index, dict[int, Source]]:
    """The edge index and edge provenance of ``graph``, shared by compilers of the same graph.

    Compiling one graph for every target (CI, ``make demo``, the benchmark) builds them once.
    Only the last graph is kept; edges are frozen, so their sources never change.
    """
    if _LAST and _LAST[0][0] is graph:
        return _LAST[0][1], _LAST[0][2]
    index, sources = Index.of(graph), dict[int, Source]()
    _LAST[:] = [(graph, index, sources)]
    return index, sources


class Compiler:
    """Base class of every target; a subclass sets the flags and builds its objects."""

    TARGET: ClassVar[str] = ""
    """Name used on the command line."""
    SUPPORTS_L7: ClassVar[bool] = False
    """Can restrict HTTP methods/paths and gRPC methods."""
    SUPPORTS_FQDN: ClassVar[bool] = False
    """Can allow egress to a DNS name."""
    SUPPORTS_IDENTITY: ClassVar[bool] = False
    """Names callers by workload identity (service account), not by labels."""
    SUPPORTS_EGRESS: ClassVar[bool] = True
    """Can limit calls out of the cluster per service."""
    SUPPORTS_UDP: ClassVar[bool] = True
    """Sees UDP and SCTP traffic (meshes proxy TCP only)."""
    AUDIT_NOTE: ClassVar[str] = ""
    """What the non-blocking (audit) form of this target does, annotated on every audit object."""

    def __init__(self, graph: Graph, environment: str | None = None) -> None:
        self.graph = graph
        self.environment = environment
        self.organization = graph.organization
        self.index, self._edge_sources = _derived(graph)
        self.names = Namer()
        self._dns_clients = frozenset(graph.dns_clients)
        self._objects: list[tuple[str, Manifest]] = []
        self._modes: dict[str, Mode] = {}
        self._notes: dict[int, tuple[object, dict[str, str]]] = {}
        self._diagnostics: list[Diagnostic] = []

    # --- driving -----------------------------------------------------------------------------

    def compile(self) -> CompileResult:
        """Compile the whole graph: cluster objects, then per namespace its own and its services'."""
        self.cluster_objects()
        by_namespace: dict[str, list[Service]] = {}
        for service in self.graph.services.values():
            by_namespace.setdefault(service.ref.namespace, []).append(service)
        for namespace in sorted(by_namespace):
            self.namespace_objects(namespace, by_namespace[namespace])
            for service in by_namespace[namespace]:
                self.service_objects(service)
        diagnostics = tuple(sort_diagnostics(self._diagnostics))
        return CompileResult(self.TARGET, tuple(self._objects), diagnostics)

    def cluster_objects(self) -> None:
        """Emit cluster-scoped objects (none by default)."""

    def namespace_objects(self, namespace: str, services: list[Service]) -> None:
        """Emit the objects a managed namespace needs once (default deny...)."""
        raise NotImplementedError

    def service_objects(self, service: Service) -> None:
        """Emit the objects of one service."""
        raise NotImplementedError

    def emit(self, namespace: str, manifest: Manifest) -> None:
        """Add an object to the output."""
        self._objects.append((namespace, manifest))

    def unsupported(self, code: str, span: Span | None, message: str, hint: str) -> None:
        """Record that this target cannot express a declaration as written (a TM3xx finding)."""
        self._diagnostics.append(diagnostic(code, span, message, hint))

    # --- shared vocabulary -------------------------------------------------------------------

    def mode(self, namespace: str) -> Mode:
        """The rollout mode of ``namespace`` in the chosen environment."""
        found = self._modes.get(namespace)
        if found is None:
            org = self.organization
            found = self._modes[namespace] = (
                org.mode(self.environment, namespace) if org else "enforce"
            )
        return found

    def edge_source(self, edge: Edge) -> Source:
        """Provenance of an edge of this graph (memoised: two objects name every edge)."""
        found = self._edge_sources.get(id(edge))
        if found is None:
            found = self._edge_sources[id(edge)] = edge_source(edge)
        return found

    def name(self, kind: str, namespace: str, *parts: str) -> str:
        """A unique, stable object name from ``parts``."""
        return self.names.claim(kind, namespace, object_name(*parts), "/".join(parts))

    def metadata(
        self,
        name: str,
        namespace: str | None,
        sources: Iterable[Source],
        extra: Mapping[str, str] | None = None,
    ) -> ObjectMeta:
        """Name, namespace, the managed-by label, provenance, the audit note and ``extra``."""
        meta: ObjectMeta = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        meta["labels"] = dict(MANAGED_BY)
        notes = self._annotations(sources)
        if namespace and self.mode(namespace) == "audit":
            notes[MODE] = "audit"
            notes[AUDIT] = self.AUDIT_NOTE
        notes.update(extra or {})
        if notes:
            meta["annotations"] = notes
        return meta

    def _annotations(self, sources: Iterable[Source]) -> dict[str, str]:
        # Several objects often share one list of sources (a Linkerd Server, its route and
        # its policy): annotate each list once. Keeping the list keeps its id unique.
        cached = self._notes.get(id(sources))
        if cached is not None and cached[0] is sources:
            return dict(cached[1])
        notes = annotate(sources)
        if isinstance(sources, list):
            self._notes[id(sources)] = (sources, notes)
        return dict(notes)

    def organization_source(self, reason: str) -> Source:
        """Provenance for objects the Organization implies (default deny, DNS)."""
        span = self.organization.span if self.organization else Span("")
        return source(span, f"organization: {reason}", reason)

    def dns(self, service: Service) -> bool:
        """Whether ``service`` may reach the Organization's DNS resolver."""
        return (
            self.organization is not None
            and self.organization.dns is not None
            and (service.ref in self._dns_clients)
        )

    # --- what the target can express ---------------------------------------------------------

    def grants(self, service: Service) -> tuple[Grant, ...]:
        """Who may reach ``service``, grouped and filtered by what the target can express."""
        edges = self.index.incoming.get(service.ref, ())
        restricted = {e.interface for e in edges if e.methods}
        l7 = {
            i.name
            for i in service.interfaces
            if i.name in restricted and self._keeps_methods(service, i)
        }
        found = grants_of(service, edges, by_methods=l7)
        kept = (self._admit(service, grant) for grant in found)
        return tuple(grant for grant in kept if grant is not None)

    def _keeps_methods(self, service: Service, interface: Interface) -> bool:
        """Whether the target enforces the methods callers of ``interface`` are limited to."""
        if not self.SUPPORTS_L7:
            self.unsupported(
                "TM301",
                interface.span,
                f"{self.TARGET} cannot enforce methods: interface '{interface.name}' of "
                f"{service.ref} is open to its callers on every method of port "
                f"{interface.port}/{interface.protocol}",
                "compile for cilium, istio or linkerd to enforce methods and routes",
            )
            return False
        if not speaks_http(interface.app_protocol):
            self.unsupported(
                "TM301",
                interface.span,
                f"methods of interface '{interface.name}' of {service.ref} cannot be enforced: "
                f"appProtocol '{interface.app_protocol}' is not HTTP or gRPC; the whole port "
                "is allowed",
                "declare appProtocol http, http2 or grpc, or remove the methods",
            )
            return False
        return True

    def _admit(self, service: Service, grant: Grant) -> Grant | None:
        interface = grant.interface
        if not self.SUPPORTS_UDP and interface.protocol != "TCP":
            self.unsupported(
                "TM304",
                interface.span,
                f"{self.TARGET} does not see {interface.protocol} traffic: interface "
                f"'{interface.name}' of {service.ref} is not protected by this target",
                "enforce it with the kubernetes or cilium target as well",
            )
            return None
        if not self.SUPPORTS_IDENTITY or grant.world:
            return grant
        callers = tuple(c for c in grant.callers if c.service_account)
        for edge in grant.edges:
            if not edge.source.service_account:
                self._no_identity(edge)
        if not callers:
            return None
        return replace(grant, callers=callers) if len(callers) != len(grant.callers) else grant

    def _no_identity(self, edge: Edge) -> None:
        self.unsupported(
            "TM302",
            edge.declared_at,
            f"{self.TARGET} names callers by service account, and {edge.source} declares none: "
            f"its calls to {edge.target}:{edge.interface} are left out",
            f"declare the service account of {edge.source} (workload.serviceAccount, or "
            "serviceAccount in the Organization)",
        )

    def outbound(self, service: Service) -> Outbound:
        """What ``service`` may call, as far as the target can express it."""
        return Outbound(
            self.dns(service), self.index.calls(self.graph, service.ref), self.external(service)
        )

    def outbound_sources(self, service: Service, outbound: Outbound) -> list[Source]:
        """Provenance of an egress object."""
        sources = [self.edge_source(call.edge) for call in outbound.calls]
        sources += [egress_source(service.ref, egress) for egress in outbound.external]
        if outbound.dns:
            sources.append(
                self.organization_source("name lookups through the cluster DNS resolver")
            )
        return sources

    def external(self, service: Service) -> tuple[Egress, ...]:
        """Calls of ``service`` out of the cluster that the target can express."""
        kept = []
        for egress in self.index.external.get(service.ref, ()):
            if not self.SUPPORTS_EGRESS:
                self.unsupported(
                    "TM305",
                    egress.span,
                    f"{self.TARGET} does not limit calls out of the cluster per service: egress "
                    f"of {service.ref} to {egress.destination} is neither allowed nor denied here",
                    "also compile for kubernetes or cilium to enforce egress",
                )
            elif egress.host is not None and not self.SUPPORTS_FQDN:
                self.unsupported(
                    "TM300",
                    egress.span,
                    f"{self.TARGET} cannot allow egress to a host name: {service.ref} -> "
                    f"{egress.host} is left out (denied)",
                    "compile for cilium or istio, or declare the host's addresses as 'cidr:'",
                )
            else:
                kept.append(egress)
        return tuple(kept)
