"""The Istio evaluator follows Istio's documented authorization, mTLS and Sidecar semantics."""

from __future__ import annotations

from dataclasses import replace

import pytest
from platform_helpers import objs, pod, req

from trustmap.analysis.istio import IstioEvaluator
from trustmap.analysis.platform import KUBELET, Peer, Request, normalized_path

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
    """By default the injector rewrites httpGet, gRPC and TCP probes to the agent's status port
    15020; the agent calls the app from 127.0.0.6, which the sidecar's iptables return before the
    inbound redirect (istio/istio ``tools/istio-iptables/pkg/capture/run.go``,
    ``-o lo -s 127.0.0.6/32 -j RETURN``; ``pilot/cmd/pilot-agent/status/server.go``
    ``UpstreamLocalAddressIPv4``), so neither STRICT mTLS nor the allow-nothing policy sees it
    (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/). An annotation Go's
    ``strconv.ParseBool`` cannot read keeps the default (``pkg/kube/inject/app_probe.go``)."""
    ev = istio(ALLOW_WEB + "---\n" + STRICT + "---\n" + NOTHING)
    assert ev.decide(req(KUBELET, API, 8080, "GET", "/healthz")).allowed
    unreadable = rewrite_off(API, "no")
    assert (
        IstioEvaluator(ev.policies + ev.peer_auth, [unreadable])
        .decide(req(KUBELET, unreadable, 8080, "GET", "/healthz"))
        .allowed
    )


NOTHING = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: shop}
spec: {}
"""
PROBE_PORT = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: api-plaintext, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  portLevelMtls: {"9090": {mode: PERMISSIVE}}
"""
PROBE_RULE = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-probes, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  rules:
  - to: [{operation: {ports: ["9090"], methods: [GET], paths: [/ready]}}]
"""


def rewrite_off(peer: Peer, value: str = "false") -> Peer:
    """``peer`` with ``sidecar.istio.io/rewriteAppHTTPProbers: value`` on its pod template."""
    return replace(peer, annotations=(("sidecar.istio.io/rewriteAppHTTPProbers", value),))


def probes_off(text: str) -> tuple[IstioEvaluator, Peer]:
    api = rewrite_off(API)
    return IstioEvaluator(objs(text), [WEB, api]), api


def test_strict_mtls_refuses_the_probes_of_a_workload_that_turns_the_rewrite_off() -> None:
    """With the rewrite off (``"false"``, or ``"0"``/``"F"`` as ``strconv.ParseBool`` reads them)
    the kubelet's probe goes to the app port in plain text from the node, without a client
    certificate, and the inbound listener captures it: STRICT mTLS has no filter chain for plain
    text (istio/istio ``pilot/pkg/networking/core/filterchain_options.go``,
    ``inboundStrictFilterChainMatchOptions``; https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/),
    and the refusal names the PeerAuthentication."""
    for value in ("false", "0", "F"):
        api = rewrite_off(API, value)
        ev = IstioEvaluator(objs(STRICT), [WEB, api])
        decision = ev.decide(req(KUBELET, api, 9090, "GET", "/ready"))
        assert not decision.allowed
        assert [r.name for r in decision.by] == ["default"]


def test_a_permissive_probe_port_and_a_probe_rule_admit_only_the_probe_route() -> None:
    """``portLevelMtls`` of a workload-selector PeerAuthentication overrides the namespace's mode
    on that port (https://istio.io/latest/docs/reference/config/security/peer_authentication/);
    PERMISSIVE admits the plain-text probe without a principal, and the AuthorizationPolicies then
    decide: the allow-nothing policy alone refuses it, a rule without ``from`` on the probe's port,
    method and path admits it and nothing else."""
    ev, api = probes_off(STRICT + "---\n" + NOTHING + "---\n" + PROBE_PORT + "---\n" + PROBE_RULE)
    assert ev.decide(req(KUBELET, api, 9090, "GET", "/ready")).allowed
    assert not ev.decide(req(KUBELET, api, 9090, "GET", "/admin")).allowed
    assert not ev.decide(req(KUBELET, api, 9090, "POST", "/ready")).allowed
    assert not ev.decide(req(KUBELET, api, 8080, "GET", "/ready")).allowed
    closed, api = probes_off(STRICT + "---\n" + NOTHING + "---\n" + PROBE_PORT)
    assert not closed.decide(req(KUBELET, api, 9090, "GET", "/ready")).allowed


def test_a_probe_rule_naming_principals_never_matches_the_kubelet() -> None:
    """A plain-text request carries no principal or namespace, so a rule with ``from``
    principals never matches it (https://istio.io/latest/docs/reference/config/security/authorization-policy/,
    ``Source.principals`` needs mTLS)."""
    named = PROBE_RULE.replace("  - to:", "  - from: [{source: {principals: ['*']}}]\n    to:")
    ev, api = probes_off(PROBE_PORT + "---\n" + named)
    assert not ev.decide(req(KUBELET, api, 9090, "GET", "/ready")).allowed


def test_a_tcp_probe_succeeds_whatever_the_policies_say() -> None:
    """A TCP probe only connects; the kernel completes the handshake on the sidecar's listening
    socket before Envoy reads a byte, so under sidecar capture every port looks open (which is
    why the injector rewrites TCP probes too: "all TCP ports appear open", app-health-check
    page; istio/istio ``pkg/kube/inject/app_probe.go`` ``convertAppProberTCPSocket``)."""
    ev, api = probes_off(STRICT + "---\n" + NOTHING)
    decision = ev.decide(req(KUBELET, api, 9090))
    assert decision.allowed
    assert "TCP probe" in decision.why


def test_an_https_probe_with_the_rewrite_off_is_judged_as_opaque_tcp() -> None:
    """One-way TLS without an Istio ALPN: STRICT refuses it, and under PERMISSIVE the inbound
    listener's TLS chain without ALPN proxies it as TCP (``filterchain_options.go``), where an
    ALLOW rule with methods or paths never matches
    (https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/): only a rule on the
    port alone admits it."""
    https = Request(KUBELET, rewrite_off(API), 9090, "TCP", "GET", "/ready", tls=True)
    ev, _ = probes_off(STRICT + "---\n" + PROBE_PORT + "---\n" + PROBE_RULE)
    assert not ev.decide(https).allowed
    port_only = PROBE_RULE.replace(", methods: [GET], paths: [/ready]", "")
    opened, _ = probes_off(STRICT + "---\n" + PROBE_PORT + "---\n" + port_only)
    assert opened.decide(https).allowed
    strict, _ = probes_off(STRICT + "---\n" + port_only)
    assert not strict.decide(https).allowed


def test_dry_run_policies_make_a_refused_probe_would_deny() -> None:
    """Audit: PERMISSIVE mTLS and dry-run policies (istio.io/dry-run): the probe passes, and the
    allow-nothing policy alone says it would be denied; a dry-run probe rule clears it."""
    dry = (
        "metadata: {name: allow-nothing, namespace: shop, annotations: {istio.io/dry-run: 'true'}}"
    )
    nothing = NOTHING.replace("metadata: {name: allow-nothing, namespace: shop}", dry)
    ev, api = probes_off(nothing)
    decision = ev.decide(req(KUBELET, api, 9090, "GET", "/ready"))
    assert decision.allowed
    assert decision.audit
    rule = PROBE_RULE.replace(
        "metadata: {name: api-probes, namespace: shop}",
        "metadata: {name: api-probes, namespace: shop, annotations: {istio.io/dry-run: 'true'}}",
    )
    cleared, api = probes_off(nothing + "---\n" + rule)
    decision = cleared.decide(req(KUBELET, api, 9090, "GET", "/ready"))
    assert decision.allowed
    assert not decision.audit


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


def test_a_service_entry_with_addresses_claims_traffic_to_them_on_its_ports() -> None:
    """Opaque TCP is told apart by destination address: a ServiceEntry whose ``addresses``
    hold the address claims the connection on its ports
    (https://istio.io/latest/docs/reference/config/networking/service-entry/, ``addresses``),
    and a REGISTRY_ONLY Sidecar lets it through when it imports the entry's host
    (https://istio.io/latest/docs/reference/config/networking/sidecar/). Found by asking the
    evaluator about the compiled ``cidr-egress`` case: declared CIDR egress was denied."""
    objects = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: bank, namespace: shop}
spec:
  hosts: [bank.cidr.invalid]
  addresses: [203.0.113.0/24]
  ports: [{number: 443, name: tcp-443, protocol: TCP}]
  location: MESH_EXTERNAL
  resolution: NONE
  exportTo: ["."]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: web, namespace: shop}
spec:
  workloadSelector: {labels: {app: web}}
  egress: [{hosts: [./bank.cidr.invalid]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""
    ev = istio(objects)
    bank = Peer("203.0.113.5", kind="external", meshed=False, address="203.0.113.5")
    other = Peer("198.51.100.5", kind="external", meshed=False, address="198.51.100.5")
    assert ev.decide(req(WEB, bank, 443)).allowed
    assert not ev.decide(req(WEB, bank, 8443)).allowed
    assert not ev.decide(req(WEB, other, 443)).allowed
