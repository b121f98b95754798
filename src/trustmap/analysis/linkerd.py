"""Linkerd policy evaluation: default inbound policy, Servers, routes and authorisations.

Semantics (https://linkerd.io/2/reference/authorization-policy/ and
https://linkerd.io/2/features/server-policy/):
* Default inbound policy: the pod's ``config.linkerd.io/default-inbound-policy`` annotation, else
  its namespace's, else the cluster default (``all-unauthenticated``). Values:
  ``all-unauthenticated``, ``cluster-unauthenticated``, ``all-authenticated``,
  ``cluster-authenticated``, ``deny``, ``audit`` (allows, flags in logs and metrics).
* A Server selects pods of its namespace by ``podSelector`` and one ``port`` (number or container
  port name). Traffic to a selected port is governed by the Server: first a route must match
  (HTTPRoute/GRPCRoute whose ``parentRefs`` name the Server; none → HTTP 404), then an
  AuthorizationPolicy targeting the route, the Server or the Namespace must authorise the client
  (all of its ``requiredAuthenticationRefs``); otherwise the Server's ``accessPolicy`` applies
  (``deny`` by default → HTTP 403; ``audit`` allows and flags).
* A Server without routes gets default routes that match every request, including a probe route
  that authorises kubelet probes; once a route is attached, probes need their own route and
  authorisation. Ports no Server selects follow the default policy, with probes authorised.
* MeshTLSAuthentication ``identities`` (``*`` wildcards) and ``identityRefs`` (ServiceAccount,
  or Namespace for every account in it); identities are
  ``<sa>.<ns>.serviceaccount.identity.linkerd.<trust domain>``. NetworkAuthentication matches
  client addresses (``0.0.0.0/0``/``::/0`` match every client, meshed or not).
* Linkerd governs inbound traffic only, over TCP: UDP and outbound calls are not restricted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trustmap.analysis.platform import (
    Decision,
    Obj,
    ObjectRef,
    Peer,
    Request,
    glob_match,
    mappings,
    selector_matches,
)

__all__ = ["DEFAULT_POLICY", "LinkerdEvaluator", "identity"]

DEFAULT_POLICY = "config.linkerd.io/default-inbound-policy"
_ROUTES = ("HTTPRoute", "GRPCRoute")
_ALL = ("0.0.0.0/0", "::/0")


def identity(peer: Peer, trust_domain: str = "cluster.local") -> str:
    """The mTLS identity Linkerd gives a meshed pod."""
    return f"{peer.service_account}.{peer.namespace}.serviceaccount.identity.linkerd.{trust_domain}"


@dataclass(frozen=True, slots=True)
class _Server:
    obj: Obj
    routes: tuple[Obj, ...]


class LinkerdEvaluator:
    """Answers inbound requests with Linkerd's policy semantics for the given objects."""

    def __init__(
        self,
        objects: Sequence[Obj],
        peers: Sequence[Peer],
        *,
        cluster_default: str = "all-unauthenticated",
        trust_domain: str = "cluster.local",
        named_ports: Mapping[str, Mapping[str, int]] | None = None,
    ) -> None:
        self.peers = tuple(peers)
        self.trust_domain = trust_domain
        self.cluster_default = cluster_default
        self.named_port_map = named_ports or {}
        self.namespaces = {o.name: o for o in objects if o.kind == "Namespace"}
        self.auths = {
            (o.namespace or "default", o.kind, o.name): o
            for o in objects
            if o.kind in ("MeshTLSAuthentication", "NetworkAuthentication")
        }
        self.policies = [
            o
            for o in objects
            if o.kind == "AuthorizationPolicy" and "linkerd" in str(o.raw.get("apiVersion", ""))
        ]
        self.problems: list[tuple[ObjectRef, str]] = []
        routes = [o for o in objects if o.kind in _ROUTES and _is_route(o)]
        servers = [o for o in objects if o.kind == "Server"]
        by_parent: dict[tuple[str, str], list[Obj]] = {}
        for route in routes:
            for parent in mappings(route.spec.get("parentRefs")):
                if parent.get("kind") == "Server":
                    parent_key = (route.namespace or "default", str(parent.get("name", "")))
                    by_parent.setdefault(parent_key, []).append(route)
        self.servers = [
            _Server(s, tuple(by_parent.get((s.namespace or "default", s.name), ())))
            for s in servers
        ]
        self._servers_by_ns: dict[str, list[_Server]] = {}
        for server in self.servers:
            self._servers_by_ns.setdefault(server.obj.namespace or "default", []).append(server)
        self._policies_by_ns: dict[str, list[Obj]] = {}
        for policy in self.policies:
            self._policies_by_ns.setdefault(policy.namespace or "default", []).append(policy)
        self._server_cache: dict[tuple[str, int], _Server | None] = {}
        self._by_target: dict[tuple[str, str, str], list[Obj]] = {}
        for policy in self.policies:
            ref = policy.spec.get("targetRef")
            ref = ref if isinstance(ref, Mapping) else {}
            namespace = policy.namespace or "default"
            key = (namespace, str(ref.get("kind", "")), str(ref.get("name") or namespace))
            self._by_target.setdefault(key, []).append(policy)
        self._by_account: dict[tuple[str, str], list[Peer]] = {}
        for peer in self.peers:
            self._by_account.setdefault((peer.namespace, peer.service_account), []).append(peer)
        for obj in objects:
            if obj.kind in ("ServerAuthorization", "EgressNetwork"):
                self.problems.append((obj.ref, f"{obj.kind} is not evaluated"))

    def unsupported(self) -> Sequence[tuple[ObjectRef, str]]:
        return self.problems

    def default_policy(self, peer: Peer) -> tuple[str, ObjectRef | None]:
        """The default inbound policy of ``peer`` and the object that sets it."""
        own = dict(peer.annotations).get(DEFAULT_POLICY)
        if own:
            return own, None
        namespace = self.namespaces.get(peer.namespace)
        if namespace is not None and namespace.annotations.get(DEFAULT_POLICY):
            return namespace.annotations[DEFAULT_POLICY], namespace.ref
        return self.cluster_default, None

    def server_for(self, peer: Peer, port: int) -> _Server | None:
        """The Server selecting ``peer``'s ``port`` (the oldest, i.e. first read, on overlap)."""
        key = (peer.id, port)
        if key not in self._server_cache:
            self._server_cache[key] = self._server_uncached(peer, port)
        return self._server_cache[key]

    def _server_uncached(self, peer: Peer, port: int) -> _Server | None:
        for server in self._servers_by_ns.get(peer.namespace, ()):
            spec = server.obj.spec
            if not self._port(spec.get("port"), peer, port):
                continue
            if selector_matches(spec.get("podSelector") or {}, peer.label_map):
                return server
        return None

    def _port(self, value: Any, peer: Peer, port: int) -> bool:
        if isinstance(value, int):
            return value == port
        return self.named_port_map.get(peer.id, {}).get(str(value)) == port

    def decide(self, request: Request) -> Decision:
        if request.protocol == "UDP" or request.target.kind != "pod":
            return Decision(True, why="Linkerd does not govern UDP or outbound traffic")
        server = self.server_for(request.target, request.port)
        if server is None:
            return self._default(request)
        route = _route(server, request)
        if route is None:
            return Decision(False, (server.obj.ref,), why="404: no route of the Server matches")
        if route == "probe" and request.source.kind == "kubelet":
            return Decision(True, (server.obj.ref,), why="default probe route")
        authorised = self._authorised(server, route, request)
        if authorised:
            return Decision(True, authorised)
        access = str(server.obj.spec.get("accessPolicy") or "deny")
        return self._fallback(access, request, (server.obj.ref,), "403: not authorised")

    def _default(self, request: Request) -> Decision:
        policy, ref = self.default_policy(request.target)
        refs = (ref,) if ref else ()
        if request.source.kind == "kubelet":
            return Decision(True, refs, why="probes are authorised on ports without a Server")
        return self._fallback(policy, request, refs, f"default policy {policy}")

    def _fallback(
        self, policy: str, request: Request, refs: tuple[ObjectRef, ...], why: str
    ) -> Decision:
        meshed = request.source.kind == "pod" and request.source.meshed
        in_cluster = request.source.kind != "external"
        allowed = {
            "all-unauthenticated": True,
            "cluster-unauthenticated": in_cluster,
            "all-authenticated": meshed,
            "cluster-authenticated": meshed,
            "audit": True,
        }.get(policy, False)
        return Decision(allowed, refs, audit=policy == "audit", why=why)

    def _authorised(
        self, server: _Server, route: Obj | str, request: Request
    ) -> tuple[ObjectRef, ...]:
        namespace = server.obj.namespace or "default"
        candidates = [
            *self._by_target.get((namespace, "Server", server.obj.name), ()),
            *self._by_target.get((namespace, "Namespace", namespace), ()),
        ]
        if isinstance(route, Obj):
            candidates += self._by_target.get((namespace, route.kind, route.name), ())
        for policy in candidates:
            if not self._targets(policy, server, route):
                continue
            refs = policy.spec.get("requiredAuthenticationRefs") or []
            if all(self._authenticates(ref, namespace, request) for ref in refs):
                return (policy.ref,)
        return ()

    def _targets(self, policy: Obj, server: _Server, route: Obj | str) -> bool:
        target = policy.spec.get("targetRef") or {}
        kind, name = target.get("kind"), target.get("name")
        if kind == "Server":
            return bool(name == server.obj.name)
        if kind == "Namespace":
            return name in (None, policy.namespace or "default")
        if kind in _ROUTES:
            return isinstance(route, Obj) and route.kind == kind and route.name == name
        return False

    def _authenticates(self, ref: Any, namespace: str, request: Request) -> bool:
        if not isinstance(ref, Mapping):
            return False
        kind, name = ref.get("kind"), str(ref.get("name", ""))
        ns = str(ref.get("namespace") or namespace)
        source = request.source
        meshed = source.kind == "pod" and source.meshed
        if kind == "ServiceAccount":
            return meshed and source.service_account == name and source.namespace == ns
        auth = self.auths.get((ns, str(kind), name))
        if auth is None:
            return False
        if kind == "NetworkAuthentication":
            return _networks(auth.spec.get("networks") or (), source)
        return meshed and self._mesh_tls(auth, source)

    def _mesh_tls(self, auth: Obj, source: Peer) -> bool:
        who = identity(source, self.trust_domain)
        if any(glob_match(str(i), who) for i in auth.spec.get("identities") or ()):
            return True
        for ref in auth.spec.get("identityRefs") or ():
            kind = (ref or {}).get("kind")
            ns = str((ref or {}).get("namespace") or auth.namespace or "default")
            name = str((ref or {}).get("name") or "")
            if (
                kind == "ServiceAccount"
                and source.namespace == ns
                and name in ("*", source.service_account)
            ):
                return True
            if kind == "Namespace" and name in ("*", source.namespace):
                return True
        return False

    # --- candidates --------------------------------------------------------------------------

    def _servers_of(self, target: Peer) -> Iterable[_Server]:
        for server in self._servers_by_ns.get(target.namespace, ()):
            if selector_matches(server.obj.spec.get("podSelector") or {}, target.label_map):
                yield server

    def named_sources(self, target: Peer) -> Iterable[Peer]:
        servers = {s.obj.name for s in self._servers_of(target)}
        if not servers:
            return
        routes = {r.name for s in self._servers_of(target) for r in s.routes}
        for policy in self._policies_by_ns.get(target.namespace, ()):
            ref = policy.spec.get("targetRef") or {}
            if ref.get("kind") == "Server" and ref.get("name") not in servers:
                continue
            if ref.get("kind") in _ROUTES and ref.get("name") not in routes:
                continue
            for auth in policy.spec.get("requiredAuthenticationRefs") or ():
                for peer in self._authenticated(auth, target.namespace):
                    if peer.id != target.id:
                        yield peer

    def _authenticated(self, ref: Any, namespace: str) -> Iterable[Peer]:
        """Peers an authentication reference admits (service accounts through the index)."""
        if not isinstance(ref, Mapping):
            return
        kind, ns = ref.get("kind"), str(ref.get("namespace") or namespace)
        if kind == "ServiceAccount":
            yield from self._by_account.get((ns, str(ref.get("name", ""))), ())
            return
        auth = self.auths.get((ns, str(kind), str(ref.get("name", ""))))
        if auth is None or kind != "MeshTLSAuthentication":
            return
        for identity_ref in auth.spec.get("identityRefs") or ():
            if (identity_ref or {}).get("kind") == "ServiceAccount":
                account_ns = str(identity_ref.get("namespace") or auth.namespace or "default")
                yield from self._by_account.get((account_ns, str(identity_ref.get("name", ""))), ())
        if auth.spec.get("identities"):
            yield from (p for p in self.peers if p.meshed and self._mesh_tls(auth, p))

    def named_ports(self, target: Peer) -> Iterable[int]:
        for server in self._servers_of(target):
            port = server.obj.spec.get("port")
            if isinstance(port, int):
                yield port
            elif port is not None and str(port) in self.named_port_map.get(target.id, {}):
                yield self.named_port_map[target.id][str(port)]

    def named_routes(self, target: Peer, port: int) -> Iterable[tuple[str | None, str | None]]:
        server = self.server_for(target, port)
        for route in server.routes if server else ():
            for rule in route.spec.get("rules") or ():
                for match in (rule or {}).get("matches") or [{}]:
                    yield _route_sample(route, match)


def _is_route(obj: Obj) -> bool:
    return any(p.get("kind") == "Server" for p in mappings(obj.spec.get("parentRefs")))


def _route(server: _Server, request: Request) -> Obj | str | None:
    if not server.routes:
        return "probe" if request.source.kind == "kubelet" else "default"
    if request.method is None:
        return "default" if _opaque(server.obj) else None
    for route in server.routes:
        for rule in route.spec.get("rules") or ():
            matches = (rule or {}).get("matches") or [{}]
            if any(_match(route, m, request) for m in matches if isinstance(m, Mapping)):
                return route
    return None


def _opaque(server: Obj) -> bool:
    return str(server.spec.get("proxyProtocol") or "unknown") in ("opaque", "TLS")


def _match(route: Obj, match: Mapping[str, Any], request: Request) -> bool:
    if match.get("headers") or match.get("queryParams"):
        return False  # headers are not modelled: not assumed to match
    path = (request.path or "/").split("?", 1)[0]
    if route.kind == "GRPCRoute":
        method = match.get("method") or {}
        service, name = method.get("service"), method.get("method")
        parts = path.strip("/").split("/")
        return (
            (service in (None, parts[0]))
            and (name in (None, parts[-1]))
            and request.method == "POST"
        )
    if match.get("method") and match["method"] != request.method:
        return False
    spec = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind, value = spec.get("type", "PathPrefix"), str(spec.get("value", "/"))
    if kind == "Exact":
        return path == value
    if kind == "RegularExpression":
        return re.fullmatch(value, path) is not None
    prefix = value.rstrip("/")
    return path == prefix or path.startswith(prefix + "/") or prefix == ""


def _networks(networks: Iterable[Any], source: Peer) -> bool:
    for network in networks:
        cidr = str((network or {}).get("cidr", ""))
        if cidr in _ALL:
            return True
        if source.address and cidr:
            try:
                if ipaddress.ip_address(source.address) in ipaddress.ip_network(cidr, strict=False):
                    return True
            except ValueError:
                continue
    return False


def _route_sample(route: Obj, match: Mapping[str, Any]) -> tuple[str | None, str | None]:
    if route.kind == "GRPCRoute":
        method = match.get("method") or {}
        return (
            "POST",
            f"/{method.get('service', 'sample.Service')}/{method.get('method', 'Sample')}",
        )
    path = match.get("path") or {}
    value = str(path.get("value", "/"))
    if path.get("type") == "RegularExpression":
        value = re.sub(r"[\^$()?+*|\\]", "", value.replace(".*", "sample"))
    return (str(match["method"]) if match.get("method") else None), value
