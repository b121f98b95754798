"""Malformed objects never crash verify: hand-written objects can hold anything.

Evaluators read fields as documented; a field of another shape raises inside them, and verify
asks through :class:`~trustmap.analysis.platform.Guarded`, which turns that into an unanswered
question reported as TM414. The admission evaluator skips (and reports) a rule it cannot read.
Object builders (manifest reading, inventory) must not raise at all."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from platform_helpers import pod, req

from trustmap.analysis.admission import AdmissionEvaluator
from trustmap.analysis.cilium import CiliumEvaluator
from trustmap.analysis.inventory import build_inventory, make_obj
from trustmap.analysis.istio import IstioEvaluator
from trustmap.analysis.linkerd import LinkerdEvaluator
from trustmap.analysis.platform import KUBELET, Guarded, Peer

KEYS = st.sampled_from(
    [
        "spec",
        "ingress",
        "egress",
        "ingressDeny",
        "fromEndpoints",
        "toEndpoints",
        "toPorts",
        "ports",
        "port",
        "protocol",
        "rules",
        "http",
        "method",
        "path",
        "matchLabels",
        "matchExpressions",
        "endpointSelector",
        "enableDefaultDeny",
        "toFQDNs",
        "matchName",
        "matchPattern",
        "toCIDRSet",
        "cidr",
        "except",
        "toEntities",
        "action",
        "from",
        "to",
        "source",
        "operation",
        "principals",
        "namespaces",
        "paths",
        "methods",
        "selector",
        "mtls",
        "mode",
        "portLevelMtls",
        "workloadSelector",
        "labels",
        "hosts",
        "outboundTrafficPolicy",
        "when",
        "key",
        "values",
        "podSelector",
        "accessPolicy",
        "parentRefs",
        "kind",
        "name",
        "targetRef",
        "requiredAuthenticationRefs",
        "identityRefs",
        "identities",
        "networks",
        "matches",
        "type",
        "value",
        "validate",
        "pattern",
        "anyPattern",
        "match",
        "any",
        "resources",
        "kinds",
        "template",
        "metadata",
        "containers",
        "readinessProbe",
        "httpGet",
        "grpc",
        "failureAction",
    ]
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 70000),
    st.sampled_from(["*", "", "x", "80", "/a*", "[", "(x)"]),
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=25,
)
KINDS = [
    ("cilium.io/v2", "CiliumNetworkPolicy"),
    ("security.istio.io/v1", "AuthorizationPolicy"),
    ("security.istio.io/v1", "PeerAuthentication"),
    ("networking.istio.io/v1", "Sidecar"),
    ("policy.linkerd.io/v1beta3", "Server"),
    ("policy.linkerd.io/v1beta3", "HTTPRoute"),
    ("policy.linkerd.io/v1alpha1", "AuthorizationPolicy"),
    ("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication"),
    ("kyverno.io/v1", "ClusterPolicy"),
    ("apps/v1", "Deployment"),
]


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    spec=VALUES,
    annotations=st.dictionaries(
        st.sampled_from(["istio.io/dry-run", "config.linkerd.io/default-inbound-policy"]),
        st.sampled_from(["true", "deny", "audit"]),
        max_size=1,
    ),
)
def test_any_spec_is_evaluated_without_an_exception(
    kind: tuple[str, str], spec: Any, annotations: dict[str, str]
) -> None:
    raw = {
        "apiVersion": kind[0],
        "kind": kind[1],
        "metadata": {"name": "x", "namespace": "shop", "annotations": annotations},
        "spec": spec,
    }
    objects = [make_obj(raw, "fuzz.yaml", 0)]
    inventory = build_inventory(objects)
    web, api = pod("web"), pod("api")
    peers = [web, api, *inventory.peers]
    outside = Peer("1.2.3.4", kind="external", address="1.2.3.4", hosts=("a.example.com",))
    requests = (
        req(web, api, 80, "GET", "/a"),
        req(web, api, 80),
        req(KUBELET, api, 80, "GET", "/"),
        req(web, outside, 443),
    )
    for inner in (
        CiliumEvaluator(objects, peers),
        CiliumEvaluator(objects, peers, allow_localhost="policy"),
        IstioEvaluator(objects, peers),
        IstioEvaluator(objects, peers, rewrite_app_probers=False),
        LinkerdEvaluator(objects, peers),
    ):
        evaluator = Guarded(inner)
        for request in requests:
            decision = evaluator.decide(request)
            assert decision is None or isinstance(decision.allowed, bool)
        evaluator.listed("sources", lambda e=inner: e.named_sources(api))
        evaluator.listed("ports", lambda e=inner: e.named_ports(api))
        evaluator.listed("routes", lambda e=inner: e.named_routes(api, 80))
    for obj in objects:
        assert isinstance(AdmissionEvaluator(objects).decide(obj).allowed, bool)
