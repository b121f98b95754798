"""The kubelet is Cilium's ``host`` identity: what ``--allow-localhost`` gives it, port by port.

Sources (read in cilium/cilium releases up to 1.18 and its newest, tiered, policy code; the flag:
https://docs.cilium.io/en/stable/cmdref/cilium-agent/):
* ``auto`` becomes ``always`` on Kubernetes (``daemon/cmd/daemon_main.go``) and every endpoint gets
  an L3-only allow of ``host`` (``pkg/policy/mapstate.go`` ``determineAllowLocalhostIngress``);
* the datapath prefers L3/L4 and L4-only entries on the port, and denies, to that L3-only allow
  (``bpf/lib/policy.h`` ``__policy_can_access``, the order listed on ``AddVisibilityKeys``);
* on a port where an allow rule selecting the host has L7 rules, Cilium adds the host without L7
  rules (``pkg/policy/l4.go`` ``createL4IngressFilter`` / ``L4Filter.attach``; its test
  ``TestL7WithLocalHostWildcard`` in ``pkg/policy/resolve_test.go``);
* ``allow-localhost=policy`` removes both: the host is a peer like any other.
"""

from __future__ import annotations

from platform_helpers import objs, pod, req

from trustmap.analysis.cilium import AllowLocalhost, CiliumEvaluator
from trustmap.analysis.platform import KUBELET

WEB, API = pod("web"), pod("api")

WORLD_L7 = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEntities: [all]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http:
        - {method: GET, path: "/items(\\\\?.*)?"}
"""

HOST_PROBES = """
  - fromEntities: [host]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http:
        - {method: GET, path: "/healthz(\\\\?.*)?"}
"""

ENDPOINTS_L7 = WORLD_L7.replace("fromEntities: [all]", "fromEndpoints: [{matchLabels: {app: web}}]")


def cilium(text: str, allow_localhost: AllowLocalhost = "always") -> CiliumEvaluator:
    return CiliumEvaluator(objs(text), [WEB, API], allow_localhost=allow_localhost)


def probe(text: str, path: str = "/healthz", allow_localhost: AllowLocalhost = "always") -> bool:
    return cilium(text, allow_localhost).decide(req(KUBELET, API, 8080, "GET", path)).allowed


def with_deny(deny: str) -> str:
    return WORLD_L7 + "  ingressDeny:\n" + deny


def test_a_probe_on_a_port_whose_http_rules_admit_everyone_passes_the_proxy_unrestricted() -> None:
    """fromEntities [all] selects the host and has HTTP rules: the host's requests go through the
    proxy, where Cilium gives the host no L7 rules (createL4IngressFilter / L4Filter.attach,
    TestL7WithLocalHostWildcard): an undeclared probe path passes."""
    decision = cilium(WORLD_L7).decide(req(KUBELET, API, 8080, "GET", "/healthz"))
    assert decision.allowed
    assert "no L7 restriction" in decision.why
    assert [ref.name for ref in decision.by] == ["api"]


def test_the_other_peers_of_that_port_are_still_held_to_the_http_rules() -> None:
    """Only the host is wildcarded at L7; the `all` rule's HTTP rules hold for everyone else."""
    assert not cilium(WORLD_L7).decide(req(WEB, API, 8080, "GET", "/healthz")).allowed
    assert cilium(WORLD_L7).decide(req(WEB, API, 8080, "GET", "/items?page=2")).allowed


def test_a_probe_on_a_port_only_other_pods_may_call_is_allowed_by_allow_localhost() -> None:
    """fromEndpoints never selects the host: its L3-only allow decides, default deny or not
    (determineAllowLocalhostIngress)."""
    assert probe(ENDPOINTS_L7)
    assert probe(ENDPOINTS_L7.replace('port: "8080"', 'port: "9090"'))


def test_a_deny_rule_that_selects_the_host_on_the_port_wins() -> None:
    """Deny is preferred to allow in the policy map and the datapath (__policy_can_access):
    fromEntities host/cluster/all, and toPorts without peers, select the host."""
    port = '    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]\n'
    for deny in (
        "  - fromEntities: [host]\n",
        "  - fromEntities: [cluster]\n" + port,
        "  - fromEntities: [all]\n" + port,
        '  - toPorts: [{ports: [{port: "8080", protocol: TCP}]}]\n',
    ):
        decision = cilium(with_deny(deny)).decide(req(KUBELET, API, 8080, "GET", "/healthz"))
        assert not decision.allowed, deny
        assert "ingressDeny" in decision.why


def test_a_deny_that_misses_the_host_or_the_port_leaves_the_probe_alone() -> None:
    """fromEntities [world] is not the host; a deny on another port is another key."""
    assert probe(with_deny("  - fromEntities: [world]\n"))
    other_port = '  - fromEntities: [host]\n    toPorts: [{ports: [{port: "9090"}]}]\n'
    assert probe(with_deny(other_port))


def test_with_allow_localhost_policy_the_http_rules_of_the_port_hold_the_host_too() -> None:
    """allow-localhost=policy: no L3-only host allow and no L7 wildcard; the host is a peer."""
    assert not probe(WORLD_L7, allow_localhost="policy")
    assert probe(WORLD_L7, "/items", allow_localhost="policy")


def test_with_allow_localhost_policy_a_host_rule_admits_exactly_the_probe_routes() -> None:
    """Rules are ORed: the host gets the `all` rule's routes plus its own."""
    both = WORLD_L7 + HOST_PROBES
    assert probe(both, "/healthz?verbose=1", allow_localhost="policy")
    assert not probe(both, "/admin", allow_localhost="policy")


def test_with_allow_localhost_policy_default_deny_holds_the_host() -> None:
    """A port no rule opens to the host is closed to it; an endpoint no rule selects is open."""
    assert not probe(ENDPOINTS_L7, allow_localhost="policy")
    assert probe("", allow_localhost="policy")
