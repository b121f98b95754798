"""Linkerd: deny by default, authorize callers by mesh identity per Server, per route for methods.

Per managed namespace: the Namespace annotated ``config.linkerd.io/default-inbound-policy: deny``.
Per interface: a Server (pod selector + container port). Per grant (callers with the same methods):
a MeshTLSAuthentication naming the callers' service accounts (or a NetworkAuthentication for
``exposure: world``) and an AuthorizationPolicy. Methods become policy.linkerd.io HTTPRoutes on the
Server, and the policy then targets the route: once a Server has routes, Linkerd refuses requests
that match none, so callers allowed every method get a catch-all route. gRPC methods are matched as
what they are on the wire (``POST /pkg.Service/Method``) on an HTTP/2 Server.

Linkerd polices inbound traffic only: calls out of the cluster are not limited here (TM305).
Audit mode: Servers use ``accessPolicy: audit`` and the namespace default is ``audit``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from trustmap.dialects.base import Compiler
from trustmap.dialects.emit import block, entry, item
from trustmap.dialects.kubernetes import selector
from trustmap.dialects.names import digest
from trustmap.dialects.plan import Grant
from trustmap.dialects.provenance import AUDIT, MODE, NEVER_PRUNE, Source
from trustmap.dialects.routes import Route, glob_regex, parse_route
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
)
from trustmap.model import Interface, Service

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
_EVERYTHING = Route("/*", None, grpc=False)


class Linkerd(Compiler):
    """``policy.linkerd.io`` Server, MeshTLSAuthentication, AuthorizationPolicy, HTTPRoute."""

    TARGET = "linkerd"
    SUPPORTS_L7 = True
    SUPPORTS_IDENTITY = True
    SUPPORTS_EGRESS = False
    SUPPORTS_UDP = False
    AUDIT_NOTE = (
        "audit mode: accessPolicy and the namespace default are 'audit', so Linkerd allows "
        "traffic these policies do not name and reports it as would-be denied; compile for an "
        "enforce environment to enforce"
    )

    def namespace_objects(self, namespace: str, services: list[Service]) -> None:
        """The namespace with its default inbound policy."""
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

    def service_objects(self, service: Service) -> None:
        """Servers and their authorizations; calls out are only noted (TM305)."""
        self.external(service)
        grants = self.grants(service)
        for interface in service.interfaces:
            mine = tuple(g for g in grants if g.interface.name == interface.name)
            if mine:
                for found in self._server_objects(service, interface, mine):
                    self.put(service.ref.namespace, found)

    def _access(self, namespace: str) -> str:
        return "audit" if self.mode(namespace) == "audit" else "deny"

    # --- objects (dicts, or documents on the text path: see Compiler.write) ------------------

    def _server_objects(
        self, service: Service, interface: Interface, grants: tuple[Grant, ...]
    ) -> list[Manifest | str]:
        namespace = service.ref.namespace
        server = self.name("Server", namespace, service.ref.name, interface.name)
        sources = [self.grant_sources((g,)) for g in grants]
        # One list object per distinct source list: annotations are written once per list.
        everything = sources[0] if len(sources) == 1 else [x for src in sources for x in src]
        found: list[Manifest | str] = [self._server(service, interface, server, everything, grants)]
        names = [server if len(grants) == 1 else self._grant_name(server, g) for g in grants]
        found += [
            self._authentication(namespace, name, grant, src)
            for name, grant, src in zip(names, grants, sources, strict=True)
        ]
        refs: list[PolicyRef] = [
            {"group": _GROUP, "kind": _authentication_kind(grant), "name": name}
            for name, grant in zip(names, grants, strict=True)
        ]
        if any(g.methods for g in grants):
            return found + self._routes(namespace, server, grants, refs, sources)
        target: PolicyRef = {"group": _GROUP, "kind": "Server", "name": server}
        for name, ref, src in zip(names, refs, sources, strict=True):
            found.append(self._authorization(namespace, name, target, ref, src))
        return found

    def _routes(
        self,
        namespace: str,
        server: str,
        grants: tuple[Grant, ...],
        refs: list[PolicyRef],
        sources: list[list[Source]],
    ) -> list[Manifest | str]:
        found: list[Manifest | str] = []
        groups = route_groups(grants)
        for routes, members in groups:
            label = digest("\n".join(f"{r.method or '*'} {r.path}" for r in routes))
            parts = (server,) if len(groups) == 1 else (server, label)
            mine = (
                sources[members[0]]
                if len(members) == 1
                else [x for m in members for x in sources[m]]
            )
            for n, chunk in enumerate(_chunks(routes, _MATCHES_PER_RULE * _RULES_PER_ROUTE)):
                route = self.name("HTTPRoute", namespace, *parts, str(n + 1) if n else "")
                found.append(self._route(namespace, route, server, chunk, mine))
                found += self._route_authorizations(namespace, route, members, refs, sources)
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
        self,
        service: Service,
        interface: Interface,
        name: str,
        sources: list[Source],
        grants: tuple[Grant, ...],
    ) -> Server | str:
        namespace = service.ref.namespace
        protocol = _PROTOCOLS.get((interface.app_protocol or "").lower(), "unknown")
        if self.text:
            key = ("@server", interface.port, protocol, self._access(namespace))
            rest = self._fragments.get(key)
            if rest is None:
                rest = self.entries(
                    key, {"port": key[1], "proxyProtocol": protocol, "accessPolicy": key[3]}, "  "
                )
            every = len(self.index.incoming.get(service.ref, ()))
            notes = (
                self.incoming_notes(service, grants)
                if len(sources) == every
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
                "port": interface.port,
                "proxyProtocol": protocol,
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


def route_groups(grants: Sequence[Grant]) -> list[tuple[tuple[Route, ...], tuple[int, ...]]]:
    """Routes grouped by the grants that may use them (indexes into ``grants``), in order.

    Linkerd sends each request down one route, the most specific that matches, and checks only
    that route's policies. So every route must admit every grant whose declared routes cover it,
    and callers allowed everything (no methods) are admitted on every route plus a catch-all.
    """
    parsed = [tuple(parse_route(m) for m in g.methods) for g in grants]
    everyone = tuple(i for i, g in enumerate(grants) if not g.methods)
    unique = {r for rs in parsed for r in rs} | ({_EVERYTHING} if everyone else set())
    routes = sorted(unique, key=lambda r: (r.path, r.method or "", r.grpc))
    by_members: dict[tuple[int, ...], list[Route]] = {}
    for route in routes:
        members = tuple(
            i for i, mine in enumerate(parsed) if not mine or any(covers(m, route) for m in mine)
        )
        by_members.setdefault(members, []).append(route)
    return [(tuple(rs), members) for members, rs in by_members.items()]


def covers(wide: Route, narrow: Route) -> bool:
    """Whether every request ``narrow`` matches is also matched by ``wide``."""
    if wide.method is not None and wide.method != narrow.method:
        return False
    if wide.exact:
        return wide.path == narrow.path
    return re.fullmatch(glob_regex(wide.path), narrow.path) is not None


def _match(route: Route) -> HTTPRouteMatch:
    match: HTTPRouteMatch = {}
    if route == _EVERYTHING:
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
