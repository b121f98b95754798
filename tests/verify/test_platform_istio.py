"""The Istio evaluator follows Istio's documented authorization, mTLS and Sidecar semantics."""

from __future__ import annotations

import pytest
from platform_helpers import objs, pod, req

from trustmap.analysis.istio import IstioEvaluator
from trustmap.analysis.platform import KUBELET, Peer, normalized_path

WEB, API, ADMIN = pod("web"), pod("api"), pod("admin")
PEERS = [WEB, API, ADMIN]

ALLOW_WEB = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]
    to: [{operation: {ports: ["8080"], methods: [GET], paths: ["/items/*"]}}]
"""
STRICT = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
"""


def istio(text: str) -> IstioEvaluator:
    return IstioEvaluator(objs(text), PEERS)


def test_without_policies_every_request_is_allowed() -> None:
    """No ALLOW policy applies: the request is allowed
    (https://istio.io/latest/docs/concepts/security/#implicit-enablement)."""
    assert istio("").decide(req(WEB, API, 8080, "GET", "/")).allowed


def test_allow_policies_need_a_matching_rule_on_principal_port_method_and_path() -> None:
    """from/to fields are ANDed, values ORed; prefix `abc*` paths
    (https://istio.io/latest/docs/reference/config/security/authorization-policy/)."""
    ev = istio(ALLOW_WEB)
    assert ev.decide(req(WEB, API, 8080, "GET", "/items/1")).allowed
    assert not ev.decide(req(WEB, API, 8080, "POST", "/items/1")).allowed
    assert not ev.decide(req(WEB, API, 8080, "GET", "/admin")).allowed
    assert not ev.decide(req(ADMIN, API, 8080, "GET", "/items/1")).allowed


def test_the_allow_nothing_policy_denies_everything() -> None:
    """An ALLOW policy without rules matches nothing (authorization-policy reference, allow-nothing)."""
    nothing = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: shop}
spec: {}
"""
    assert not istio(nothing).decide(req(WEB, API, 8080, "GET", "/")).allowed


def test_deny_is_evaluated_before_allow() -> None:
    """CUSTOM, then DENY, then ALLOW (https://istio.io/latest/docs/concepts/security/#allow-and-deny)."""
    deny = (
        ALLOW_WEB
        + """---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-get, namespace: shop}
spec:
  action: DENY
  rules: [{to: [{operation: {methods: [GET]}}]}]
"""
    )
    assert not istio(deny).decide(req(WEB, API, 8080, "GET", "/items/1")).allowed


def test_dry_run_policies_are_would_deny_not_deny() -> None:
    """istio.io/dry-run: evaluated and logged, not enforced
    (https://istio.io/latest/docs/tasks/security/authorization/authz-dry-run/)."""
    dry = ALLOW_WEB.replace(
        "metadata: {name: api, namespace: shop}",
        "metadata: {name: api, namespace: shop, annotations: {istio.io/dry-run: 'true'}}",
    )
    decision = istio(dry).decide(req(ADMIN, API, 8080, "GET", "/items/1"))
    assert decision.allowed
    assert decision.audit


def test_http_only_fields_on_tcp_make_allow_rules_match_nothing_and_deny_rules_match_more() -> None:
    """HTTP-only fields on TCP traffic: ALLOW rule ignored, DENY rule matched without them
    (https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/)."""
    assert not istio(ALLOW_WEB).decide(req(WEB, API, 8080)).allowed
    deny = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny, namespace: shop}
spec:
  action: DENY
  rules: [{to: [{operation: {ports: ["5432"], methods: [DELETE]}}]}]
"""
    assert not istio(deny).decide(req(WEB, API, 5432)).allowed


def test_strict_mtls_rejects_plaintext_and_permissive_leaves_no_principal() -> None:
    """STRICT accepts only mTLS; the default PERMISSIVE also accepts plaintext, which carries no
    principal (https://istio.io/latest/docs/reference/config/security/peer_authentication/)."""
    plain = Peer("plain", "shop", (("app", "x"),), "default", meshed=False)
    open_port = ALLOW_WEB.replace(
        "principals: [cluster.local/ns/shop/sa/web]", "namespaces: [shop]"
    )
    assert not istio(STRICT).decide(req(plain, API, 8080, "GET", "/")).allowed
    assert istio("").decide(req(plain, API, 8080, "GET", "/")).allowed
    assert not istio(open_port).decide(req(plain, API, 8080, "GET", "/items/1")).allowed


def test_port_level_mtls_overrides_the_workload_mode() -> None:
    """portLevelMtls on a workload-selector PeerAuthentication (peer_authentication reference)."""
    port = (
        STRICT
        + """---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  mtls: {mode: STRICT}
  portLevelMtls: {9090: {mode: PERMISSIVE}}
"""
    )
    assert istio(port).mtls_mode(API, 9090)[0] == "PERMISSIVE"
    assert istio(port).mtls_mode(API, 8080)[0] == "STRICT"


def test_registry_only_sidecars_block_hosts_outside_their_egress() -> None:
    """Sidecar egress hosts `ns/dnsName`, `~` none; REGISTRY_ONLY blocks the rest
    (https://istio.io/latest/docs/reference/config/networking/sidecar/)."""
    sidecar = """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: web, namespace: shop}
spec:
  workloadSelector: {labels: {app: web}}
  egress: [{hosts: [shop/api.shop.svc.cluster.local]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""
    ev = istio(sidecar)
    assert ev.decide(req(WEB, API, 8080, "GET", "/")).allowed
    assert not ev.decide(req(WEB, ADMIN, 8080, "GET", "/")).allowed
    external = Peer("x.example.com", kind="external", hosts=("x.example.com",))
    assert not ev.decide(req(WEB, external, 443)).allowed


def test_kubelet_probes_are_rewritten_and_never_meet_authorization() -> None:
    """https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/"""
    assert (
        istio(ALLOW_WEB + "---\n" + STRICT)
        .decide(req(KUBELET, API, 8080, "GET", "/healthz"))
        .allowed
    )


@pytest.mark.parametrize(
    ("raw", "merge", "expected"),
    [
        ("/%63art", False, "/cart"),
        ("/a/./b/../c", False, "/a/c"),
        ("/a%2fb", False, "/a%2Fb"),
        ("/cart?x=%63", False, "/cart?x=%63"),
        ("//a//b", True, "/a/b"),
        ("//a//b", False, "//a//b"),
    ],
)
def test_paths_are_normalised_as_the_proxy_does_before_matching(
    raw: str, merge: bool, expected: str
) -> None:
    """Envoy ``normalize_path`` (RFC 3986 §6.2.2) runs before the RBAC filter: Istio's default
    ``BASE`` normalisation (https://istio.io/latest/docs/reference/config/security/normalization/)
    and Cilium's agent default ``http-normalize-path: true`` (also merging slashes). Found by
    ``trustmap lab``: the real proxy allowed ``/%63art`` where ``/cart`` is allowed."""
    assert normalized_path(raw, merge_slashes=merge) == expected


def test_an_egress_listener_with_a_port_imports_its_hosts_on_that_port_only() -> None:
    """A Sidecar egress listener with ``port`` is built on that port alone, beside the catch-all
    listener without one, and imports only Services with a port of that number, trimmed to it
    (https://istio.io/latest/docs/reference/config/networking/sidecar/, IstioEgressListener
    ``port``; istio/istio pilot/pkg/model/sidecar.go ``needsPortMatch`` and
    ``serviceMatchingListenerPort``, pilot/pkg/networking/core/listener.go "non catch all
    listener on some user specified port"). Under REGISTRY_ONLY the listener's hosts are
    reachable on its port and blocked on every other."""
    sidecar = """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: web, namespace: shop}
spec:
  workloadSelector: {labels: {app: web}}
  egress:
  - port: {number: 8080, protocol: TCP, name: tcp-admin}
    hosts: [shop/admin.shop.svc.cluster.local]
  - hosts: [shop/api.shop.svc.cluster.local]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""
    ev = istio(sidecar)
    assert ev.decide(req(WEB, ADMIN, 8080)).allowed
    assert not ev.decide(req(WEB, ADMIN, 9090)).allowed
    assert ev.decide(req(WEB, API, 9090)).allowed
