"""Validated v1alpha1 documents → the frozen :mod:`trustmap.model` values, keeping source spans."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from trustmap.diagnostics import Span
from trustmap.model import (
    ApiServer,
    CiliumAgent,
    Dependency,
    DnsResolver,
    Egress,
    Environment,
    IngressController,
    Interface,
    IstioMesh,
    Organization,
    PlatformConsumer,
    PortSpec,
    Rules,
    Service,
    ServiceRef,
    Team,
    Workload,
    labels_of,
)
from trustmap.schema.errors import Located
from trustmap.schema.v1alpha1 import (
    DependencyDoc,
    EgressDoc,
    InterfaceDoc,
    OrganizationDoc,
    PortSpecDoc,
    ServiceDoc,
    TeamDoc,
)

__all__ = ["to_organization", "to_service", "to_team"]

_DEPENDENCY_KEYS = ("service", "interface", "methods", "reason", "expires", "approvedBy")


class _LazySpans(Mapping[str, Span]):
    """Field spans of one entry, looked up only when a diagnostic asks (most never do)."""

    __slots__ = ("_keys", "_paths", "_source")

    def __init__(self, source: Located, paths: Mapping[str, tuple[str | int, ...]]) -> None:
        self._source, self._paths, self._keys = source, paths, tuple(paths)

    def __getitem__(self, key: str) -> Span:
        return self._source.span(self._paths[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class _EntrySpans(Mapping[str, Span]):
    """Spans of a ``dependsOn`` entry's fields, found from the entry only when asked."""

    __slots__ = ("_base", "_raw", "_source")

    def __init__(self, source: Located, base: tuple[str | int, ...], raw: Mapping[str, object]):
        self._source, self._base, self._raw = source, base, raw

    def __getitem__(self, key: str) -> Span:
        if key not in _DEPENDENCY_KEYS or key not in self._raw:
            raise KeyError(key)
        return self._source.span((*self._base, key))

    def __iter__(self) -> Iterator[str]:
        return (key for key in _DEPENDENCY_KEYS if key in self._raw)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _ports(items: list[PortSpecDoc] | list[int | PortSpecDoc]) -> tuple[PortSpec, ...]:
    return tuple(PortSpec(i) if isinstance(i, int) else PortSpec(i.port, i.protocol) for i in items)


def to_team(doc: TeamDoc, source: Located) -> Team:
    """A Team value from its document."""
    spec = doc.spec
    return Team(
        doc.metadata.name,
        tuple(spec.owners),
        tuple(spec.namespaces),
        source.span(),
        spec.github,
        spec.gitlab,
    )


def to_organization(doc: OrganizationDoc, source: Located) -> Organization:
    """An Organization value from its document."""
    spec = doc.spec
    dns = None
    if spec.dns is not None:
        selector = spec.dns.selector
        dns = DnsResolver(
            selector.namespace if selector else None,
            labels_of(selector.pod_labels) if selector else (),
            tuple(spec.dns.cidrs),
            _ports(spec.dns.ports),
        )
    rules = Rules(
        spec.rules.require_reason, spec.rules.require_provider_consent, spec.rules.max_expiry_days
    )
    return Organization(
        name=doc.metadata.name,
        trust_domain=spec.trust_domain,
        dns=dns,
        ingress_controllers=tuple(
            IngressController(
                c.namespace,
                labels_of(c.pod_labels),
                c.service_account,
                c.name,
                source.span(("spec", "ingressControllers", n)),
            )
            for n, c in enumerate(spec.ingress_controllers)
        ),
        platform_consumers=tuple(
            PlatformConsumer(
                c.name,
                c.namespace,
                labels_of(c.pod_labels),
                c.service_account,
                tuple(c.interfaces),
                source.span(("spec", "platformConsumers", n)),
            )
            for n, c in enumerate(spec.platform_consumers)
        ),
        api_server=ApiServer(tuple(spec.api_server.cidrs), _ports(spec.api_server.ports))
        if spec.api_server
        else None,
        rules=rules,
        environments=tuple(
            Environment(e.name, e.mode, tuple(e.namespaces)) for e in spec.environments
        ),
        span=source.span(),
        platforms=tuple(sorted(spec.platforms.items())),
        platforms_span=source.span(("spec", "platforms")) if spec.platforms else None,
        cilium=CiliumAgent(spec.cilium.allow_localhost, source.span(("spec", "cilium")))
        if spec.cilium
        else CiliumAgent(),
        istio=IstioMesh(spec.istio.rewrite_app_probers, source.span(("spec", "istio")))
        if spec.istio
        else IstioMesh(),
    )


def to_service(doc: ServiceDoc, source: Located) -> Service:
    """A Service value from its document; a missing workload means pods labelled app=<name>."""
    meta, spec = doc.metadata, doc.spec
    workload = (
        Workload(spec.workload.service_account, labels_of(spec.workload.pod_labels))
        if spec.workload
        else Workload(None, (("app", meta.name),))
    )
    return Service(
        ref=ServiceRef(meta.namespace, meta.name),
        team=spec.team,
        workload=workload,
        interfaces=tuple(
            _interface(i, source, ("spec", "interfaces", n)) for n, i in enumerate(spec.interfaces)
        ),
        depends_on=tuple(
            _dependency(d, source, ("spec", "dependsOn", n)) for n, d in enumerate(spec.depends_on)
        ),
        egress=tuple(_egress(e, source, ("spec", "egress", n)) for n, e in enumerate(spec.egress)),
        span=source.span(),
        field_spans=_LazySpans(source, _SERVICE_PATHS),
    )


_SERVICE_PATHS: dict[str, tuple[str | int, ...]] = {
    "team": ("spec", "team"),
    "namespace": ("metadata", "namespace"),
    "name": ("metadata", "name"),
    "podLabels": ("spec", "workload", "podLabels"),
    "serviceAccount": ("spec", "workload", "serviceAccount"),
}


def _interface(doc: InterfaceDoc, source: Located, path: tuple[str | int, ...]) -> Interface:
    data = source.data
    raw = data["spec"]["interfaces"][path[-1]]
    consumers_span = source.span((*path, "consumers")) if "consumers" in raw else None
    return Interface(
        name=doc.name,
        port=doc.port,
        service_port=doc.service_port or doc.port,
        protocol=doc.protocol,
        app_protocol=doc.app_protocol,
        exposure=doc.exposure,
        consumers=tuple(doc.consumers),
        methods=tuple(doc.methods),
        span=source.span(path),
        consumers_span=consumers_span,
    )


def _dependency(doc: DependencyDoc, source: Located, path: tuple[str | int, ...]) -> Dependency:
    spans = _EntrySpans(source, path, source.data["spec"]["dependsOn"][path[-1]])
    return Dependency(
        service=doc.service,
        interface=doc.interface,
        methods=tuple(doc.methods),
        reason=doc.reason.strip() if doc.reason else None,
        expires=doc.expires,
        approved_by=doc.approved_by,
        span=source.span(path),
        field_spans=spans,
    )


def _egress(doc: EgressDoc, source: Located, path: tuple[str | int, ...]) -> Egress:
    return Egress(
        host=doc.host,
        cidr=doc.cidr,
        api_server=doc.api_server,
        ports=_ports(doc.ports),
        reason=doc.reason.strip() if doc.reason else None,
        span=source.span(path),
    )
