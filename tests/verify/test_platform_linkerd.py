"""The Linkerd evaluator follows Linkerd's documented inbound policy semantics
(https://linkerd.io/2/reference/authorization-policy/, https://linkerd.io/2/features/server-policy/)."""

from __future__ import annotations

from platform_helpers import objs, pod, req

from trustmap.analysis.linkerd import LinkerdEvaluator
from trustmap.analysis.platform import KUBELET, Peer

WEB, API, ADMIN = pod("web"), pod("api"), pod("admin")
PEERS = [WEB, API, ADMIN]
PLAIN = Peer("plain", "shop", (("app", "plain"),), "default", meshed=False)

SERVER = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, annotations: {config.linkerd.io/default-inbound-policy: deny}}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, port: 8080, proxyProtocol: HTTP/1}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: web, namespace: shop}
spec: {identityRefs: [{kind: ServiceAccount, name: web}]}
"""
ROUTE = """---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: items, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: api-http}]
  rules: [{matches: [{path: {type: PathPrefix, value: /items}, method: GET}]}]
"""
AUTH_ROUTE = """---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: items-web, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: items}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web}]
"""
AUTH_SERVER = AUTH_ROUTE.replace("kind: HTTPRoute, name: items", "kind: Server, name: api-http")


def linkerd(text: str, default: str = "all-unauthenticated") -> LinkerdEvaluator:
    return LinkerdEvaluator(objs(text), PEERS, cluster_default=default)


def test_the_cluster_default_all_unauthenticated_allows_everyone() -> None:
    """proxy.defaultInboundPolicy defaults to all-unauthenticated (reference/authorization-policy)."""
    assert linkerd("").decide(req(PLAIN, API, 8080, "GET", "/")).allowed


def test_the_namespace_annotation_sets_the_default_policy_of_ports_without_a_server() -> None:
    """config.linkerd.io/default-inbound-policy on the namespace overrides the cluster default."""
    assert not linkerd(SERVER).decide(req(WEB, API, 9090)).allowed


def test_a_server_without_routes_denies_unauthorised_clients_with_403_and_allows_authorised() -> (
    None
):
    """A Server with the default accessPolicy deny; AuthorizationPolicy targeting the Server."""
    ev = linkerd(SERVER + AUTH_SERVER)
    assert ev.decide(req(WEB, API, 8080, "DELETE", "/anything")).allowed
    denied = ev.decide(req(ADMIN, API, 8080, "GET", "/items"))
    assert not denied.allowed
    assert denied.why.startswith("403")


def test_routes_come_before_authorisation_unmatched_requests_get_404() -> None:
    """Once HTTPRoutes are attached to a Server, a request must match one (404 otherwise), then be
    authorised for that route (PathPrefix matches whole segments)."""
    ev = linkerd(SERVER + ROUTE + AUTH_ROUTE)
    assert ev.decide(req(WEB, API, 8080, "GET", "/items/3")).allowed
    assert ev.decide(req(WEB, API, 8080, "GET", "/itemsx")).why.startswith("404")
    assert ev.decide(req(WEB, API, 8080, "POST", "/items")).why.startswith("404")


def test_probes_are_authorised_by_default_until_a_route_is_attached() -> None:
    """Default probe authorisations on Servers without routes; with routes, probes need their own
    route and authorisation (reference/authorization-policy, default authorizations)."""
    assert linkerd(SERVER).decide(req(KUBELET, API, 8080, "GET", "/healthz")).allowed
    assert (
        not linkerd(SERVER + ROUTE + AUTH_ROUTE)
        .decide(req(KUBELET, API, 8080, "GET", "/healthz"))
        .allowed
    )


def test_audit_access_policy_allows_and_flags() -> None:
    """accessPolicy: audit allows unauthorised traffic and flags it (features/server-policy)."""
    audit = SERVER.replace("proxyProtocol: HTTP/1}", "proxyProtocol: HTTP/1, accessPolicy: audit}")
    decision = linkerd(audit).decide(req(ADMIN, API, 8080, "GET", "/"))
    assert decision.allowed
    assert decision.audit


def test_network_authentication_of_every_address_admits_unmeshed_clients() -> None:
    """NetworkAuthentication 0.0.0.0/0 authenticates any client, meshed or not."""
    net = (
        AUTH_SERVER.replace(
            "kind: MeshTLSAuthentication, name: web", "kind: NetworkAuthentication, name: all"
        )
        + """---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: all, namespace: shop}
spec: {networks: [{cidr: 0.0.0.0/0}, {cidr: "::/0"}]}
"""
    )
    assert linkerd(SERVER + net).decide(req(PLAIN, API, 8080, "GET", "/")).allowed


def test_mesh_tls_needs_a_meshed_client_with_the_identity() -> None:
    ev = linkerd(SERVER + AUTH_SERVER)
    unmeshed_web = Peer(WEB.id, "shop", WEB.labels, "web", meshed=False)
    assert not ev.decide(req(unmeshed_web, API, 8080, "GET", "/")).allowed
