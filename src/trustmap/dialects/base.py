"""The common compiler: walk the graph once, ask each dialect how a rule looks, record what it can't say.

Like a sqlglot generator, :class:`Compiler` holds the behaviour every target shares (grouping edges
per service, names, provenance annotations, rollout modes) and capability flags that say what a
target can express. Where a target cannot express a declaration, :meth:`Compiler.unsupported`
records a TM3xx diagnostic — the rule is either left out (fail closed) or widened, and the
diagnostic says which; nothing is dropped silently. Subclasses implement
:meth:`~Compiler.namespace_objects`, :meth:`~Compiler.service_objects` and, if they need it,
:meth:`~Compiler.cluster_objects`.

Two outputs from one walk: :meth:`Compiler.compile` returns the objects as dicts (the library API,
what the schema tests validate), :meth:`Compiler.write` returns them as YAML documents. On the text
path the hot kinds (the per-service policies, where every edge is a peer in a rule and a line of
provenance) are written straight from the plan with text fragments cached per peer, port list and
source list, instead of building dicts and emitting them; every other object is built as a dict and
dumped. Both paths give the same bytes (``tests/dialects/test_compile_text.py``).

Why two paths and not one: the dicts are the product for library callers — ``verify``, the
schema tests and anyone who inspects or post-processes objects need values, not text — while
``trustmap compile`` needs text, and building then dumping ~200,000 dicts for a 10,000-service
organisation took 18 s where writing the text from the plan takes 12 s on one core (8.8 s on
two; ``benchmarks/RESULTS.md``, compile). Deriving the dicts by parsing the text back would cost
more than it saves. So both stay, one walk feeds them, and the divergence this invites is caught
in CI, not trusted away: ``test_compile_text.py`` compares every document of the text path with
:func:`~trustmap.dialects.emit.dump` (the canonical serializer) of the dict path's object, with
the same diagnostics, on every golden compile case, every validate golden case and example,
hypothesis-generated organisations and a generated 400-service organisation, for every target
and environment. A change to a hot object goes into its dict builder and its text writer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.dialects.emit import block, dump, entry, file_name, item
from trustmap.dialects.identities import shared_identities
from trustmap.dialects.names import Namer, object_name
from trustmap.dialects.plan import Grant, Index, Outbound, grants_of
from trustmap.dialects.platforms import Version, gate, parse_version
from trustmap.dialects.pods import Pods, Workloads
from trustmap.dialects.provenance import (
    AUDIT,
    DECLARED_AT,
    EXPIRES,
    MANAGED_BY,
    MODE,
    REASON,
    Notes,
    Source,
    annotate,
    edge_source,
    egress_source,
    source,
)
from trustmap.dialects.routes import speaks_http
from trustmap.manifests import Manifest, ObjectMeta
from trustmap.model import Edge, Egress, Graph, Interface, Labels, Mode, Service, ServiceRef

__all__ = ["CompileResult", "Compiler", "Derived", "Rendered", "derived", "forget"]


@dataclass(frozen=True, slots=True)
class CompileResult:
    """Objects compiled for one target, and what the target could not express."""

    target: str
    """The target's name, e.g. ``kubernetes``."""
    objects: tuple[tuple[str, Manifest], ...]
    """``(namespace, object)`` in output order; ``""`` for cluster-scoped objects."""
    diagnostics: tuple[Diagnostic, ...]
    """TM3xx findings, sorted."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """One target compiled and written as YAML (what ``trustmap compile`` writes)."""

    target: str
    """Target name."""
    documents: tuple[tuple[str, str], ...]
    """``(namespace, document)`` in output order, each document without its ``---`` line;
    ``""`` for cluster-scoped objects."""
    diagnostics: tuple[Diagnostic, ...]
    """TM3xx findings of the target, sorted."""

    @property
    def objects(self) -> int:
        """How many objects it holds."""
        return len(self.documents)

    @property
    def yaml(self) -> str:
        """The multi-document YAML stream (built on each access)."""
        return "".join(f"---\n{text}" for _, text in self.documents)

    def files(self) -> dict[str, str]:
        """One YAML stream per namespace file (``<namespace>.yaml``, ``_cluster.yaml``), sorted."""
        grouped: dict[str, list[str]] = {}
        for namespace, text in self.documents:
            grouped.setdefault(file_name(namespace), []).append(f"---\n{text}")
        return {name: "".join(grouped[name]) for name in sorted(grouped)}


class Derived:
    """What every target compiled from one graph computes alike, kept for the next target.

    Compiling one graph for every target (CI, ``make demo``, the benchmark) builds these once:
    the edge index, each edge's provenance, grants per service, and provenance annotations
    written as text (per source list that the targets share, such as every edge into a service).
    Only the last graph is kept (:func:`derived`); edges are frozen, so none of this goes stale.
    """

    __slots__ = (
        "annotations",
        "grants",
        "graph",
        "index",
        "labels",
        "notes",
        "restricted",
        "sources",
    )

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.index = Index.of(graph)
        self.sources: dict[int, Source] = {}
        """Provenance per edge, by ``id`` (the graph keeps the edges alive)."""
        self.grants: dict[tuple[ServiceRef, frozenset[str]], tuple[Grant, ...]] = {}
        """:func:`grants_of` per service and set of method-restricted interfaces."""
        self.restricted: dict[ServiceRef, set[str]] = {}
        """Interfaces of each service that some caller may use on named methods only."""
        self.notes = Notes()
        self.annotations: dict[object, str] = {}
        """Annotation entries as text, per key naming a source list (see ``metadata_text``)."""
        self.labels: dict[tuple[Labels, str], str] = {}
        """Label sets as mapping entries, per indent (see ``Compiler.labels_text``)."""

    def prepare(self) -> None:
        """Compute every edge's provenance now (before forking workers that all need them)."""
        sources = self.sources
        for edge in self.graph.edges:
            if id(edge) not in sources:
                sources[id(edge)] = edge_source(edge)


_LAST: list[Derived] = []


def forget() -> None:
    """Drop the :class:`Derived` state kept for the last graph (frees it; benchmarks time cold
    runs with it)."""
    _LAST.clear()


def derived(graph: Graph) -> Derived:
    """The :class:`Derived` state of ``graph`` (made on first use, replacing the last one)."""
    if _LAST and _LAST[0].graph is graph:
        return _LAST[0]
    found = Derived(graph)
    _LAST[:] = [found]
    return found


_ANNOTATED = frozenset({DECLARED_AT, REASON, EXPIRES, MODE, AUDIT})


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
    SPLITS: ClassVar[bool] = True
    """Each namespace's objects and findings depend on that namespace alone, so the output can
    be written in slices of namespaces (in parallel) and concatenated."""
    NEEDS_PROBES: ClassVar[bool] = False
    """Its objects can block kubelet probes unless it knows them (``--manifests``)."""
    SUMMARY_NOTE: ClassVar[str] = ""
    """What an operator must know when applying this target's output (said by ``compile``)."""

    def __init__(self, graph: Graph, environment: str | None = None) -> None:
        self.graph = graph
        self.environment = environment
        self.workloads: Workloads | None = None
        """Probes and container ports per declared service, when manifests were given (set
        before compiling: see :meth:`given`)."""
        self.organization = graph.organization
        self.shared = derived(graph)
        self.index = self.shared.index
        self._edge_sources = self.shared.sources
        self.names = Namer()
        self._dns_clients = frozenset(graph.dns_clients)
        self.text = False
        """Whether objects are written as YAML documents (:meth:`write`) instead of dicts."""
        self._objects: list[tuple[str, Manifest]] = []
        self._documents: list[tuple[str, str]] = []
        self._modes: dict[str, Mode] = {}
        self._notes: dict[int, tuple[object, dict[str, str]]] = {}
        self._notes_text: dict[int, tuple[object, str]] = {}
        self._fragments: dict[tuple[object, ...], str] = {}
        """Text fragments of the text path, keyed by a tuple starting with an ``@tag`` naming
        the kind of fragment (no name in a graph has an ``@``, so kinds never collide)."""
        self._diagnostics: list[Diagnostic] = []
        written = self.organization.platform(self.TARGET) if self.organization else None
        self.platform: Version | None = parse_version(written) if written else None
        """The platform release to compile for (Organization ``spec.platforms``); ``None``:
        the newest output."""

    # --- driving -----------------------------------------------------------------------------

    def compile(self) -> CompileResult:
        """Compile the whole graph into objects (dicts): cluster objects, then per namespace its
        own and its services'."""
        self._walk()
        self._gate()
        return CompileResult(self.TARGET, tuple(self._objects), self._sorted_diagnostics())

    def write(self, namespaces: Collection[str] | None = None) -> Rendered:
        """Compile the whole graph into YAML documents: the same bytes as :func:`dump` of each
        object :meth:`compile` returns, written without building most of the dicts.

        ``namespaces`` (targets that :attr:`SPLITS` only) limits the output to those namespaces'
        objects, without cluster-scoped ones: a slice for one of several worker processes.
        """
        self.text = True
        self._walk(namespaces)
        self._gate()
        return Rendered(self.TARGET, tuple(self._documents), self._sorted_diagnostics())

    def _walk(self, namespaces: Collection[str] | None = None) -> None:
        if self.needs_probes() and self.workloads is None and self.graph.services:
            self._probes_unknown()
        if namespaces is None:
            self.cluster_objects()
        by_namespace: dict[str, list[Service]] = {}
        for service in self.graph.services.values():
            by_namespace.setdefault(service.ref.namespace, []).append(service)
        for namespace in sorted(by_namespace):
            if namespaces is not None and namespace not in namespaces:
                continue
            if self.SUPPORTS_IDENTITY:
                shared_identities(self, by_namespace[namespace])
            self.namespace_objects(namespace, by_namespace[namespace])
            for service in by_namespace[namespace]:
                self.service_objects(service)

    def older_than(self, version: str) -> bool:
        """Whether the platform to compile for predates release ``version``."""
        return self.platform is not None and self.platform < parse_version(version)

    def _gate(self) -> None:
        gate(self)

    def clear(self) -> None:
        """Drop every object written so far (a refused target writes nothing)."""
        self._objects.clear()
        self._documents.clear()

    def _sorted_diagnostics(self) -> tuple[Diagnostic, ...]:
        return tuple(sort_diagnostics(self._diagnostics))

    def cluster_objects(self) -> None:
        """Emit cluster-scoped objects (none by default)."""

    def namespace_objects(self, namespace: str, services: list[Service]) -> None:
        """Emit the objects a managed namespace needs once (default deny...)."""
        raise NotImplementedError

    def service_objects(self, service: Service) -> None:
        """Emit the objects of one service."""
        raise NotImplementedError

    def emit(self, namespace: str, manifest: Manifest) -> None:
        """Add an object to the output (dumped right away on the text path)."""
        if self.text:
            self._documents.append((namespace, dump(manifest)))
        else:
            self._objects.append((namespace, manifest))

    def emit_first(self, namespace: str, manifest: Manifest) -> None:
        """Put an object before every other in the output."""
        if self.text:
            self._documents.insert(0, (namespace, dump(manifest)))
        else:
            self._objects.insert(0, (namespace, manifest))

    def emit_text(self, namespace: str, document: str) -> None:
        """Add an object already written as a YAML document (text path only)."""
        self._documents.append((namespace, document))

    def put(self, namespace: str, found: Manifest | str) -> None:
        """Add an object a builder returned as a dict or, on the text path, as a document."""
        if type(found) is str:
            self._documents.append((namespace, found))
        else:
            self.emit(namespace, found)  # type: ignore[arg-type]

    def fragment(self, key: tuple[object, ...], value: object, indent: str) -> str:
        """``value`` as one block-sequence element at ``indent``, cached under ``key``.

        ``key`` (``("@kind", ...)``) must determine ``value`` and ``indent``: the same peer, port
        list or principal appears in thousands of rules, and is written once.
        """
        found = self._fragments.get(key)
        if found is None:
            found = self._fragments[key] = item(value, indent)
        return found

    def labels_text(self, labels: Labels, indent: str) -> str:
        """``labels`` as the entries of a ``matchLabels``/``labels`` mapping at ``indent``
        (shared by every target of the graph: each workload's labels are written once)."""
        found = self.shared.labels.get((labels, indent))
        if found is None:
            found = self.shared.labels[(labels, indent)] = block(dict(labels), indent)
        return found

    def selector_text(self, key: str, labels: Labels, empty: str = "{}") -> str:
        """``  <key>:`` with ``matchLabels`` of ``labels`` under it, at the indent of a spec's
        entries; no labels give ``  <key>: <empty>`` (``{}`` selects everything)."""
        if labels:
            return f"  {key}:\n    matchLabels:\n{self.labels_text(labels, '      ')}"
        return f"  {key}: {empty}\n"

    def entries(self, key: tuple[object, ...], value: Mapping[str, object], indent: str) -> str:
        """The entries of ``value`` at ``indent`` (see :func:`~trustmap.dialects.emit.block`),
        cached under ``key``."""
        found = self._fragments.get(key)
        if found is None:
            found = self._fragments[key] = block(value, indent)
        return found

    def unsupported(self, code: str, span: Span | None, message: str, hint: str) -> None:
        """Record that this target cannot express a declaration as written (a TM3xx finding)."""
        self._diagnostics.append(diagnostic(code, span, message, hint))

    # --- what the workloads' manifests say (compile --manifests) ------------------------------

    def needs_probes(self) -> bool:
        """Whether its objects can block kubelet probes unless it knows them: :attr:`NEEDS_PROBES`,
        or what the Organization says of the platform (Cilium's ``allow-localhost``)."""
        return self.NEEDS_PROBES

    def given(self, workloads: Workloads | None) -> Compiler:
        """This compiler, told what the workloads' manifests say (``None``: nothing known)."""
        self.workloads = workloads
        return self

    def pods(self, service: Service) -> Pods | None:
        """Probes and container ports of ``service``'s pods, if the manifests run it."""
        return self.workloads.get(service.ref) if self.workloads is not None else None

    def _probes_unknown(self) -> None:
        # Said once per target: each worker of a split run says it too, and sorting drops repeats.
        org = self.organization
        self.unsupported(
            "TM307",
            org.span if org else None,
            f"{self.TARGET} objects can block kubelet probes, and no workload manifests were "
            "given: probes are not authorised, so pods whose probes the output blocks will be "
            "restarted or taken out of their Services",
            f"compile with --manifests DIR (the workloads' Deployments, StatefulSets, ...) so "
            f"{self.TARGET} output authorises every liveness, readiness and startup probe",
        )

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

    def grant_sources(self, grants: Iterable[Grant]) -> list[Source]:
        """Provenance of every edge of ``grants``, in order."""
        known = self._edge_sources
        return [known.get(id(e)) or self.edge_source(e) for g in grants for e in g.edges]

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

    def metadata_text(
        self, name: str, namespace: str, notes: str, extra: Mapping[str, str] | None = None
    ) -> str:
        """``metadata:`` of a namespaced object as YAML: :meth:`metadata` written as text.

        ``notes`` are its provenance annotations as text (:meth:`notes`, :meth:`incoming_notes`,
        :meth:`outbound_notes`); ``extra`` must not name the provenance or mode annotations.
        """
        if extra and not _ANNOTATED.isdisjoint(extra):
            raise ValueError(f"extra annotations would replace trustmap's own: {sorted(extra)}")
        head = self._fragments.get(("@metadata", namespace))
        if head is None:
            head = self.entries(("@metadata", namespace), {"namespace": namespace}, "  ")
            head = self._fragments[("@metadata", namespace)] = head + block(
                {"labels": dict(MANAGED_BY)}, "  "
            )
        if self.mode(namespace) == "audit":
            notes += self.entries(("@audit",), {MODE: "audit", AUDIT: self.AUDIT_NOTE}, "    ")
        if extra:
            notes += block(extra, "    ")
        name_line = entry("  name:", name, "    ")
        if notes:
            return f"metadata:\n{name_line}{head}  annotations:\n{notes}"
        return f"metadata:\n{name_line}{head}"

    def notes(self, sources: list[Source]) -> str:
        """The provenance annotations of ``sources`` as text (see :meth:`metadata_text`).

        As :meth:`metadata` does, a list shared by several objects is written once.
        """
        cached = self._notes_text.get(id(sources))
        if cached is not None and cached[0] is sources:
            return cached[1]
        found = self.shared.notes.text(sources)
        self._notes_text[id(sources)] = (sources, found)
        return found

    def incoming_notes(self, service: Service, grants: tuple[Grant, ...]) -> str:
        """:meth:`notes` of the edges of ``grants``; written once per graph when they are every
        edge into ``service`` (the usual case: every target's ingress policy says the same)."""
        count = 0
        for grant in grants:
            count += len(grant.edges)
        if count != len(self.index.incoming.get(service.ref, ())):
            return self.notes(self.grant_sources(grants))
        key = ("in", service.ref)
        found = self.shared.annotations.get(key)
        if found is None:
            sources = self.grant_sources(grants)
            found = self.shared.annotations[key] = self.shared.notes.text(sources)
        return found

    def outbound_notes(self, service: Service, outbound: Outbound) -> str:
        """:meth:`notes` of :meth:`outbound_sources`, written once per graph (its calls are
        always every declared call of ``service``; DNS and the outside vary by target)."""
        key = ("out", service.ref, outbound.dns, outbound.external)
        found = self.shared.annotations.get(key)
        if found is None:
            sources = self.outbound_sources(service, outbound)
            found = self.shared.annotations[key] = self.shared.notes.text(sources)
        return found

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
        restricted = self.shared.restricted.get(service.ref)
        if restricted is None:
            restricted = self.shared.restricted[service.ref] = {
                e.interface for e in edges if e.methods
            }
        l7 = {
            i.name
            for i in service.interfaces
            if i.name in restricted and self._keeps_methods(service, i)
        }
        key = (service.ref, frozenset(l7))
        found = self.shared.grants.get(key)
        if found is None:
            found = self.shared.grants[key] = grants_of(service, edges, by_methods=l7)
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
        known = self._edge_sources
        sources = [known.get(id(c.edge)) or self.edge_source(c.edge) for c in outbound.calls]
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
