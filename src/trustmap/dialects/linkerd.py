"""Linkerd: deny by default, authorize callers by mesh identity per Server, per route for methods.

Per managed namespace: the Namespace annotated ``config.linkerd.io/default-inbound-policy: deny``.
Per interface: a Server (pod selector + container port). Per grant (callers with the same methods):
a MeshTLSAuthentication naming the callers' service accounts (or a NetworkAuthentication for
``exposure: world``) and an AuthorizationPolicy. Methods become policy.linkerd.io HTTPRoutes on the
Server, and the policy then targets the route: once a Server has routes, Linkerd refuses requests
that match none, so callers allowed every method get a catch-all route. gRPC methods are matched as
what they are on the wire (``POST /pkg.Service/Method``) on an HTTP/2 Server.

Platform traffic. Linkerd authorises kubelet ``httpGet`` probes by itself only on Servers without
routes (and never gRPC probes), so with the workloads' manifests (``--manifests``) a Server that
has routes, or a port some gRPC probe checks, gets routes for its probes (``GET <path>``, ``POST
/grpc.health.v1.Health/Check``) authorised for unauthenticated node traffic (a NetworkAuthentication
of Linkerd's default probe networks); without manifests that is a TM307 finding. Platform consumers
granted ``linkerd-admin`` may scrape ``GET /metrics`` on every meshed pod's proxy admin port, whose
own probes (``/live``, ``/ready``) stay authorised.

Linkerd polices inbound traffic only: calls out of the cluster are not limited here (TM305).
Audit mode: Servers use ``accessPolicy: audit`` and the namespace default is ``audit``; the proxy
adds the Server's audit authorisation to every route, and a Server with routes also gets a
catch-all route, so a request no declared route matches is allowed and reported, not refused
with 404. The default inbound policy is read when a pod's proxy starts: pods must restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from trustmap.dialects.base import Compiler
from trustmap.dialects.emit import block, entry, item
from trustmap.dialects.kubernetes import selector
from trustmap.dialects.linkerd_routes import (
    EVERYTHING,
    ServerPlan,
    probe_checks,
    route_groups,
)
from trustmap.dialects.names import digest
from trustmap.dialects.plan import Grant
from trustmap.dialects.pods import Probe
from trustmap.dialects.provenance import AUDIT, MODE, NEVER_PRUNE, Source, source
from trustmap.dialects.routes import Route, glob_regex, parse_route
from trustmap.graph.rules import PROXY_ADMIN
from trustmap.manifests import (
    HTTPRouteMatch,
    HTTPRouteRule,
    LinkerdAuthorizationPolicy,
    LinkerdHTTPRoute,
    Manifest,
    MeshTLSAuthentication,
    Namespace,
    NetworkAuthentication,
    PolicyRef,
    Server,
    ServerSpec,
)
from trustmap.model import Graph, Service, ServiceRef

__all__ = ["DEFAULT_POLICY", "Linkerd"]

T = TypeVar("T")

DEFAULT_POLICY = "config.linkerd.io/default-inbound-policy"
"""Namespace annotation: what the proxy does with traffic no policy names."""

_GROUP = "policy.linkerd.io"
_PROTOCOLS = {"grpc": "HTTP/2", "http2": "HTTP/2", "h2c": "HTTP/2", "http": "HTTP/1"}
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
_MATCHES_PER_RULE = 8
_RULES_PER_ROUTE = 16


_PROBE_NETWORKS = [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]
"""Where kubelet probes come from: Linkerd's default ``policyController.probeNetworks``."""
_ADMIN_PORT = "linkerd-admin"
"""The proxy container's admin port name (4191), as the proxy injector writes it."""
_MESHED = "linkerd.io/control-plane-ns"
"""Label the proxy injector puts on every meshed pod."""
_PROXY_PROBES = (Route("/live", "GET", grpc=False), Route("/ready", "GET", grpc=False))
_PROXY_METRICS = (Route("/metrics", "GET", grpc=False),)


class Linkerd(Compiler):
    """``policy.linkerd.io`` Server, MeshTLSAuthentication, AuthorizationPolicy, HTTPRoute."""

    TARGET = "linkerd"
    SUPPORTS_L7 = True
    SUPPORTS_IDENTITY = True
    SUPPORTS_EGRESS = False
    SUPPORTS_UDP = False
    NEEDS_PROBES = True
    AUDIT_NOTE = (
        "audit mode: accessPolicy and the namespace default are 'audit', so Linkerd allows "
        "traffic these policies do not name and reports it as would-be denied; compile for an "
        "enforce environment to enforce"
    )
    SUMMARY_NOTE = (
        "the namespaces' default inbound policy (config.linkerd.io/default-inbound-policy) is "
        "read when a pod's proxy starts: restart the workloads (kubectl rollout restart) for "
        "it to take effect"
    )

    def __init__(self, graph: Graph, environment: str | None = None) -> None:
        super().__init__(graph, environment)
        self._plans: dict[ServiceRef, list[ServerPlan]] = {}
        self._probe_names: dict[str, str] = {}

    def namespace_objects(self, namespace: str, services: list[Service]) -> None:
        """The namespace with its default inbound policy; what platform traffic needs."""
        source = self.organization_source("zero trust: deny all traffic that is not declared")
        notes = {DEFAULT_POLICY: self._access(namespace), **NEVER_PRUNE}
        if self.mode(namespace) == "audit":
            notes |= {MODE: "audit", AUDIT: self.AUDIT_NOTE}
        manifest: Namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": self.metadata(namespace, None, [source], notes),
        }
        self.emit(namespace, manifest)
        for service in services:
            self._plans[service.ref] = self._plan(service)
        scrapers = self._scrapers()
        if scrapers or any(p.checks for s in services for p in self._plans[s.ref]):
            self.emit(namespace, self._probe_authentication(namespace))
        if scrapers:
            for found in self._proxy_admin_objects(namespace, scrapers):
                self.put(namespace, found)

    def service_objects(self, service: Service) -> None:
        """Servers and their authorizations; calls out are only noted (TM305)."""
        self.external(service)
        plans = self._plans.pop(service.ref, None)
        for plan in plans if plans is not None else self._plan(service):
            for found in self._server_objects(service, plan):
                self.put(service.ref.namespace, found)

    def _access(self, namespace: str) -> str:
        return "audit" if self.mode(namespace) == "audit" else "deny"

    # --- what each service needs -------------------------------------------------------------

    def _plan(self, service: Service) -> list[ServerPlan]:
        """A Server per interface someone may call or some probe needs, and per other port a
        gRPC probe checks (Linkerd authorises no gRPC probe by itself)."""
        grants = self.grants(service)
        self._check_methods(service, grants)
        probes = self._probes(service)
        plans = []
        for interface in service.interfaces:
            mine = tuple(g for g in grants if g.interface.name == interface.name)
            if interface.protocol != "TCP":
                continue
            checks = probe_checks(probes.pop(interface.port, ()), any(g.methods for g in mine))
            protocol = _PROTOCOLS.get((interface.app_protocol or "").lower(), "unknown")
            if mine or checks[0]:
                plans.append(
                    ServerPlan(
                        (service.ref.name, interface.name), interface.port, protocol, mine, *checks
                    )
                )
        for port, found in sorted(probes.items()):
            checks = probe_checks(found, False)
            if checks[0]:
                parts = (service.ref.name, "probe", str(port))
                plans.append(ServerPlan(parts, port, "HTTP/2", (), *checks))
        return plans

    def _probes(self, service: Service) -> dict[int, list[tuple[Probe, Source]]]:
        pods = self.pods(service)
        found: dict[int, list[tuple[Probe, Source]]] = {}
        for probe in pods.probes if pods is not None else ():
            if probe.action == "httpGet" and probe.scheme != "HTTP":
                self._tls_probe(service, probe)
            what = probe.path if probe.action == "httpGet" else probe.action
            text = f"kubelet {probe.kind} probe of {service.ref}: {what} on port {probe.port}"
            found.setdefault(probe.port, []).append(
                (probe, source(probe.span, text, "kubelet probes must reach the pod"))
            )
        return found

    def _tls_probe(self, service: Service, probe: Probe) -> None:
        self.unsupported(
            "TM313",
            probe.span,
            f"linkerd cannot authorise the HTTPS {probe.kind} probe of {service.ref} on port "
            f"{probe.port}: the proxy sees TLS, not a request, so only a Server-wide "
            "authorisation for the kubelet's networks would admit it, and that would admit "
            "every client; under default deny the probe fails",
            "probe over plain HTTP (scheme: HTTP), gRPC or TCP, or leave the port to the "
            f'application (config.linkerd.io/skip-inbound-ports: "{probe.port}" on the pods; '
            "Linkerd then neither proxies nor polices it)",
        )

    def _check_methods(self, service: Service, grants: tuple[Grant, ...]) -> None:
        """TM311 for each declared call on a method HTTPRoute cannot name (widened to any)."""
        for grant in grants:
            named = {r.method for r in map(parse_route, grant.methods) if r.method is not None}
            odd = sorted(named - _METHODS)
            for edge in grant.edges if odd else ():
                self.unsupported(
                    "TM311",
                    edge.declared_at,
                    f"linkerd matches only standard HTTP methods: {', '.join(odd)} "
                    f"on interface '{grant.interface.name}' of {service.ref} is allowed with "
                    f"every method on the same path for {edge.source}",
                    "use GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE or PATCH, or "
                    "compile for cilium or istio, which match any method name",
                )

    def _scrapers(self) -> list[tuple[str, str]]:
        """``(namespace, service account)`` of platform consumers granted the proxy admin port."""
        org = self.organization
        consumers = org.platform_consumers if org else ()
        return sorted(
            {
                (c.namespace, c.service_account)
                for c in consumers
                if PROXY_ADMIN in c.interfaces and c.service_account
            }
        )

    # --- objects (dicts, or documents on the text path: see Compiler.write) ------------------

    def _server_objects(self, service: Service, plan: ServerPlan) -> list[Manifest | str]:
        namespace = service.ref.namespace
        server = self.name("Server", namespace, *plan.parts)
        grants = plan.grants
        sources = [self.grant_sources((g,)) for g in grants]
        # One list object per distinct source list: annotations are written once per list.
        everything = sources[0] if len(sources) == 1 else [x for src in sources for x in src]
        if plan.checks:
            everything = [*everything, *plan.probe_sources]
        found: list[Manifest | str] = [self._server(service, plan, server, everything)]
        names = [server if len(grants) == 1 else self._grant_name(server, g) for g in grants]
        found += [
            self._authentication(namespace, name, grant, src)
            for name, grant, src in zip(names, grants, sources, strict=True)
        ]
        refs: list[PolicyRef] = [
            {"group": _GROUP, "kind": _authentication_kind(grant), "name": name}
            for name, grant in zip(names, grants, strict=True)
        ]
        if plan.routed:
            if plan.checks:
                refs.append(self._probe_ref(namespace))
                sources.append(list(plan.probe_sources))
            catch_all = self.mode(namespace) == "audit"
            groups = route_groups(grants, plan.checks, catch_all=catch_all)
            return found + self._routes(namespace, server, groups, refs, sources)
        target: PolicyRef = {"group": _GROUP, "kind": "Server", "name": server}
        for name, ref, src in zip(names, refs, sources, strict=True):
            found.append(self._authorization(namespace, name, target, ref, src))
        return found

    def _routes(
        self,
        namespace: str,
        server: str,
        groups: list[tuple[tuple[Route, ...], tuple[int, ...]]],
        refs: list[PolicyRef],
        sources: list[list[Source]],
    ) -> list[Manifest | str]:
        found: list[Manifest | str] = []
        for routes, members in groups:
            label = digest("\n".join(f"{r.method or '*'} {r.path}" for r in routes))
            parts = (server,) if len(groups) == 1 else (server, label)
            mine = (
                sources[members[0]]
                if len(members) == 1
                else [x for m in members for x in sources[m]] or self._audit_sources()
            )
            for n, chunk in enumerate(_chunks(routes, _MATCHES_PER_RULE * _RULES_PER_ROUTE)):
                route = self.name("HTTPRoute", namespace, *parts, str(n + 1) if n else "")
                found.append(self._route(namespace, route, server, chunk, mine))
                found += self._route_authorizations(namespace, route, members, refs, sources)
        return found

    def _audit_sources(self) -> list[Source]:
        reason = "audit mode: requests no declared route matches are allowed and reported"
        return [self.organization_source(reason)]

    def _probe_ref(self, namespace: str) -> PolicyRef:
        return {
            "group": _GROUP,
            "kind": "NetworkAuthentication",
            "name": self._probe_name(namespace),
        }

    def _probe_name(self, namespace: str) -> str:
        found = self._probe_names.get(namespace)
        if found is None:
            found = self.name("Server", namespace, "kubelet-probes")
            self.names.claim("MeshTLSAuthentication", namespace, found, "@kubelet-probes")
            self._probe_names[namespace] = found
        return found

    def _probe_authentication(self, namespace: str) -> NetworkAuthentication:
        """Unauthenticated traffic from the networks kubelet probes come from."""
        reason = "kubelet probes come from the node, unauthenticated"
        return {
            "apiVersion": "policy.linkerd.io/v1alpha1",
            "kind": "NetworkAuthentication",
            "metadata": self.metadata(
                self._probe_name(namespace), namespace, [self.organization_source(reason)]
            ),
            "spec": {"networks": [dict(n) for n in _PROBE_NETWORKS]},
        }

    def _proxy_admin_objects(
        self, namespace: str, scrapers: list[tuple[str, str]]
    ) -> list[Manifest | str]:
        """The proxies' admin port: ``GET /metrics`` for the scrapers, ``/live`` and ``/ready``
        for the kubelet (a Server with routes loses Linkerd's own probe authorisation)."""
        server = self.name("Server", namespace, "linkerd-proxy-admin")
        sources = [self.organization_source("platform consumers scrape the proxies' metrics")]
        spec: ServerSpec = {
            "podSelector": {"matchExpressions": [{"key": _MESHED, "operator": "Exists"}]},
            "port": _ADMIN_PORT,
            "proxyProtocol": "HTTP/1",
            "accessPolicy": self._access(namespace),
        }
        found: list[Manifest | str] = [
            {
                "apiVersion": "policy.linkerd.io/v1beta3",
                "kind": "Server",
                "metadata": self.metadata(server, namespace, sources),
                "spec": spec,
            }
        ]
        scrape = self.name("MeshTLSAuthentication", namespace, "linkerd-proxy-scrapers")
        found.append(
            {
                "apiVersion": "policy.linkerd.io/v1alpha1",
                "kind": "MeshTLSAuthentication",
                "metadata": self.metadata(scrape, namespace, sources),
                "spec": {
                    "identityRefs": [
                        {"kind": "ServiceAccount", "name": sa, "namespace": ns}
                        for ns, sa in scrapers
                    ]
                },
            }
        )
        refs: list[PolicyRef] = [
            {"group": _GROUP, "kind": "MeshTLSAuthentication", "name": scrape},
            self._probe_ref(namespace),
        ]
        for suffix, routes, ref in (
            ("metrics", _PROXY_METRICS, refs[0]),
            ("probes", _PROXY_PROBES, refs[1]),
        ):
            route = self.name("HTTPRoute", namespace, "linkerd-proxy", suffix)
            found.append(self._route(namespace, route, server, routes, sources))
            target: PolicyRef = {"group": _GROUP, "kind": "HTTPRoute", "name": route}
            found.append(self._authorization(namespace, route, target, ref, sources))
        if self.mode(namespace) == "audit":  # the rest of the admin port: reported, not 404
            route = self.name("HTTPRoute", namespace, "linkerd-proxy", "audit")
            found.append(
                self._route(namespace, route, server, (EVERYTHING,), self._audit_sources())
            )
        return found

    def _route_authorizations(
        self,
        namespace: str,
        route: str,
        members: tuple[int, ...],
        refs: list[PolicyRef],
        sources: list[list[Source]],
    ) -> list[Manifest | str]:
        target: PolicyRef = {"group": _GROUP, "kind": "HTTPRoute", "name": route}
        found: list[Manifest | str] = []
        for m in members:
            name = (
                route
                if len(members) == 1
                else self.name("AuthorizationPolicy", namespace, route, digest(refs[m]["name"]))
            )
            found.append(self._authorization(namespace, name, target, refs[m], sources[m]))
        return found

    def _grant_name(self, server: str, grant: Grant) -> str:
        label = "world" if grant.world else "callers"
        methods = digest("\n".join(grant.methods)) if grant.methods else "any"
        namespace = grant.edges[0].target.namespace
        return self.name("MeshTLSAuthentication", namespace, server, label, methods)

    def _server(
        self, service: Service, plan: ServerPlan, name: str, sources: list[Source]
    ) -> Server | str:
        namespace = service.ref.namespace
        if self.text:
            key = ("@server", plan.port, plan.protocol, self._access(namespace))
            rest = self._fragments.get(key)
            if rest is None:
                rest = self.entries(
                    key, {"port": key[1], "proxyProtocol": key[2], "accessPolicy": key[3]}, "  "
                )
            every = len(self.index.incoming.get(service.ref, ()))
            notes = (
                self.incoming_notes(service, plan.grants)
                if len(sources) == every and not plan.checks
                else self.notes(sources)
            )
            return "".join(
                [
                    _SERVER,
                    self.metadata_text(name, namespace, notes),
                    "spec:\n",
                    self.selector_text("podSelector", service.workload.pod_labels),
                    rest,
                ]
            )
        return {
            "apiVersion": "policy.linkerd.io/v1beta3",
            "kind": "Server",
            "metadata": self.metadata(name, namespace, sources),
            "spec": {
                "podSelector": selector(service.workload.pod_labels),
                "port": plan.port,
                "proxyProtocol": plan.protocol,
                "accessPolicy": self._access(namespace),
            },
        }

    def _authentication(
        self, namespace: str, name: str, grant: Grant, sources: list[Source]
    ) -> MeshTLSAuthentication | NetworkAuthentication | str:
        if self.text:
            return self._authentication_text(namespace, name, grant, sources)
        meta = self.metadata(name, namespace, sources)
        if grant.world:
            networks = [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]
            return {
                "apiVersion": "policy.linkerd.io/v1alpha1",
                "kind": "NetworkAuthentication",
                "metadata": meta,
                "spec": {"networks": networks},
            }
        refs = sorted({(c.namespace, c.service_account or "") for c in grant.callers})
        return {
            "apiVersion": "policy.linkerd.io/v1alpha1",
            "kind": "MeshTLSAuthentication",
            "metadata": meta,
            "spec": {
                "identityRefs": [
                    {"kind": "ServiceAccount", "name": sa, "namespace": ns} for ns, sa in refs
                ]
            },
        }

    def _authentication_text(
        self, namespace: str, name: str, grant: Grant, sources: list[Source]
    ) -> str:
        metadata = self.metadata_text(name, namespace, self.notes(sources))
        if grant.world:
            return f"{_NETWORK_AUTHENTICATION}{metadata}{_WORLD}"
        fragments = self._fragments
        refs = []
        for ref in sorted({(c.namespace, c.service_account or "") for c in grant.callers}):
            found = fragments.get(("@identity", *ref))
            if found is None:
                value = {"kind": "ServiceAccount", "name": ref[1], "namespace": ref[0]}
                found = fragments[("@identity", *ref)] = item(value, "  ")
            refs.append(found)
        return "".join([_MESH_TLS_AUTHENTICATION, metadata, "spec:\n  identityRefs:\n", *refs])

    def _ref_text(self, ref: PolicyRef, indent: str) -> str:
        """A policy reference's entries at ``indent`` (as in a mapping or, cut, a list item)."""
        key = ("@ref", ref["group"], ref["kind"], indent)
        head = self._fragments.get(key)
        if head is None:
            head = self.entries(key, {"group": ref["group"], "kind": ref["kind"]}, indent)
        return head + entry(f"{indent}name:", ref["name"], indent + "  ")

    def _authorization(
        self, namespace: str, name: str, target: PolicyRef, authn: PolicyRef, sources: list[Source]
    ) -> LinkerdAuthorizationPolicy | str:
        if self.text:
            metadata = self.metadata_text(name, namespace, self.notes(sources))
            required = self._ref_text(authn, "    ")
            return (
                f"{_AUTHORIZATION_POLICY}{metadata}spec:\n  targetRef:\n"
                f"{self._ref_text(target, '    ')}  requiredAuthenticationRefs:\n  -{required[3:]}"
            )
        return {
            "apiVersion": "policy.linkerd.io/v1alpha1",
            "kind": "AuthorizationPolicy",
            "metadata": self.metadata(name, namespace, sources),
            "spec": {"targetRef": target, "requiredAuthenticationRefs": [authn]},
        }

    def _route(
        self, namespace: str, name: str, server: str, routes: Sequence[Route], sources: list[Source]
    ) -> LinkerdHTTPRoute | str:
        matches = [_match(r) for r in routes]
        rules: list[HTTPRouteRule] = [
            {"matches": list(chunk)} for chunk in _chunks(matches, _MATCHES_PER_RULE)
        ]
        if self.text:
            metadata = self.metadata_text(name, namespace, self.notes(sources))
            parent = self._ref_text({"group": _GROUP, "kind": "Server", "name": server}, "    ")
            return (
                f"{_HTTP_ROUTE}{metadata}spec:\n  parentRefs:\n  -{parent[3:]}"
                f"{block({'rules': rules}, '  ')}"
            )
        return {
            "apiVersion": "policy.linkerd.io/v1beta3",
            "kind": "HTTPRoute",
            "metadata": self.metadata(name, namespace, sources),
            "spec": {
                "parentRefs": [{"group": _GROUP, "kind": "Server", "name": server}],
                "rules": rules,
            },
        }


def _authentication_kind(grant: Grant) -> str:
    return "NetworkAuthentication" if grant.world else "MeshTLSAuthentication"


_SERVER = block({"apiVersion": "policy.linkerd.io/v1beta3", "kind": "Server"})
_HTTP_ROUTE = block({"apiVersion": "policy.linkerd.io/v1beta3", "kind": "HTTPRoute"})
_AUTHORIZATION_POLICY = block(
    {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "AuthorizationPolicy"}
)
_MESH_TLS_AUTHENTICATION = block(
    {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "MeshTLSAuthentication"}
)
_NETWORK_AUTHENTICATION = block(
    {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "NetworkAuthentication"}
)
_WORLD = block({"spec": {"networks": [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]}})


def _match(route: Route) -> HTTPRouteMatch:
    match: HTTPRouteMatch = {}
    if route == EVERYTHING:
        match["path"] = {"type": "PathPrefix", "value": "/"}
    elif route.exact:
        match["path"] = {"type": "Exact", "value": route.path}
    else:
        match["path"] = {"type": "RegularExpression", "value": glob_regex(route.path)}
    if route.method in _METHODS:
        match["method"] = route.method
    return match


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
