"""The Cilium evaluator follows Cilium's documented policy semantics (sources in each docstring)."""

from __future__ import annotations

from platform_helpers import objs, pod, req

from trustmap.analysis.cilium import CiliumEvaluator
from trustmap.analysis.platform import Peer

WEB, API, OTHER = pod("web"), pod("api"), pod("web", "other")
PEERS = [WEB, API, OTHER]

API_FROM_WEB = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http:
        - {method: GET, path: "/items/[0-9]+"}
"""


def evaluator(text: str) -> CiliumEvaluator:
    return CiliumEvaluator(objs(text), PEERS)


def test_an_endpoint_no_policy_selects_allows_everything() -> None:
    """Default mode: unrestricted until selected (https://docs.cilium.io/en/stable/security/policy/intro/)."""
    assert evaluator("").decide(req(WEB, API, 9999)).allowed


def test_a_selected_endpoint_denies_what_no_rule_allows() -> None:
    """A rule with an ingress section puts the endpoint in default deny at ingress (intro/)."""
    cilium = evaluator(API_FROM_WEB)
    assert not cilium.decide(req(WEB, API, 9090)).allowed
    assert cilium.decide(req(WEB, API, 9090)).by[0].name == "api"


def test_http_rules_are_regular_expressions_on_the_whole_method_and_path() -> None:
    """rules.http method/path are extended regexes matched on the whole value
    (https://docs.cilium.io/en/stable/security/policy/language/#layer-7-examples)."""
    cilium = evaluator(API_FROM_WEB)
    assert cilium.decide(req(WEB, API, 8080, "GET", "/items/42")).allowed
    assert not cilium.decide(req(WEB, API, 8080, "GET", "/items/42/x")).allowed
    assert not cilium.decide(req(WEB, API, 8080, "DELETE", "/items/42")).allowed


def test_namespaced_policies_match_peers_of_their_own_namespace_only() -> None:
    """fromEndpoints in a CiliumNetworkPolicy are limited to the policy's namespace unless the
    selector names k8s:io.kubernetes.pod.namespace (language/#namespaces)."""
    assert not evaluator(API_FROM_WEB).decide(req(OTHER, API, 8080, "GET", "/items/1")).allowed
    across = API_FROM_WEB.replace(
        "{app: web}", "{app: web, k8s:io.kubernetes.pod.namespace: other}"
    )
    assert evaluator(across).decide(req(OTHER, API, 8080, "GET", "/items/1")).allowed


def test_the_empty_rule_enters_default_deny_without_allowing_anything() -> None:
    """`ingress: [{}]` selects the endpoint for ingress and allows nothing (intro/, Rule API)."""
    deny = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {endpointSelector: {}, ingress: [{}], egress: [{}]}
"""
    cilium = evaluator(deny)
    assert not cilium.decide(req(WEB, API, 8080)).allowed


def test_enable_default_deny_off_allows_but_is_reported_as_would_deny() -> None:
    """enableDefaultDeny.ingress false: the policy only adds allows (Rule API reference)."""
    off = API_FROM_WEB.replace("spec:\n", "spec:\n  enableDefaultDeny: {ingress: false}\n")
    decision = evaluator(off).decide(req(WEB, API, 9090))
    assert decision.allowed
    assert decision.audit


def test_deny_rules_win_over_allow_rules() -> None:
    """Deny policies take precedence (https://docs.cilium.io/en/stable/security/policy/deny/)."""
    both = API_FROM_WEB + "  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: web}}]\n"
    assert not evaluator(both).decide(req(WEB, API, 8080, "GET", "/items/1")).allowed


def test_a_request_needs_the_sources_egress_too() -> None:
    """Both the source's egress and the target's ingress policy must allow (intro/)."""
    egress = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
  - toEndpoints: [{matchLabels: {app: db}}]
"""
    assert not evaluator(egress).decide(req(WEB, API, 8080)).allowed


def test_fqdn_and_cidr_egress() -> None:
    """toFQDNs matchName/matchPattern and toCIDRSet with except (language/#dns-based, #ip-cidr-based)."""
    egress = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
  - toFQDNs: [{matchPattern: "*.example.com"}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]
"""
    cilium = evaluator(egress)
    api = Peer("api.example.com", kind="external", hosts=("api.example.com",))
    assert cilium.decide(req(WEB, api, 443)).allowed
    assert not cilium.decide(req(WEB, api, 80)).allowed
    inside = Peer("10.2.0.1", kind="external", address="10.2.0.1")
    excepted = Peer("10.1.0.1", kind="external", address="10.1.0.1")
    assert cilium.decide(req(WEB, inside, 5432)).allowed
    assert not cilium.decide(req(WEB, excepted, 5432)).allowed


def test_named_sources_are_the_peers_a_rule_selects() -> None:
    assert [p.id for p in evaluator(API_FROM_WEB).named_sources(API)] == [WEB.id]


def test_named_ports_are_reported_not_guessed() -> None:
    named = API_FROM_WEB.replace('port: "8080"', "port: http")
    assert [m for _, m in evaluator(named).unsupported()] == [
        "ingress: named port 'http' is not resolved (never matches)"
    ]
