"""Cilium objects → the L3/L4 and L7 decisions of one endpoint port.

Source: https://docs.cilium.io/en/stable/security/policy/language/ ("Ingress", "Layer 7
Examples": HTTP ``method``/``path`` are extended POSIX regexes on the whole value; "Entities
Based": ``host`` is the local node, where kubelet probes come from) and
https://docs.cilium.io/en/stable/security/policy/intro/ (an endpoint selected by a policy with an
ingress section is default-deny for ingress; ``enableDefaultDeny.ingress: false`` keeps it open).
"""

from __future__ import annotations

from typing import Any

from trustmap.lab.cilium import Peer, cilium_door_config

WEB = Peer("127.0.10.1", "shop", {"app": "web"})
OPS = Peer("127.0.10.2", "ops", {"app": "web"})
HOST = Peer("127.0.10.3", "", {}, entity="host")
PEERS = [WEB, OPS, HOST]


def _cnp(spec: dict[str, Any], namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": {"name": "api", "namespace": namespace},
        "spec": {"endpointSelector": {"matchLabels": {"app": "api"}}, **spec},
    }


def _allowed(config: Any) -> list[str]:
    policies = config.network_filters[0]["typed_config"]["rules"]["policies"]
    return [
        p["direct_remote_ip"]["address_prefix"]
        for pol in policies.values()
        for p in pol["principals"]
    ]


def test_no_policy_leaves_ingress_open() -> None:
    assert cilium_door_config([], "shop", {"app": "api"}, 8080, PEERS).network_filters == ()


def test_from_endpoints_without_namespace_selects_only_the_policys_namespace() -> None:
    rule = {
        "fromEndpoints": [{"matchLabels": {"app": "web"}}],
        "toPorts": [{"ports": [{"port": "8080"}]}],
    }
    config = cilium_door_config([_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PEERS)
    assert _allowed(config) == [WEB.address]


def test_namespace_label_selects_another_namespace() -> None:
    rule = {
        "fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "ops", "app": "web"}}]
    }
    config = cilium_door_config([_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PEERS)
    assert _allowed(config) == [OPS.address]


def test_http_rules_become_full_match_regexes_on_method_and_path() -> None:
    rule = {
        "fromEndpoints": [{"matchLabels": {"app": "web"}}],
        "toPorts": [
            {
                "ports": [{"port": "8080", "protocol": "TCP"}],
                "rules": {"http": [{"method": "GET", "path": "/api/.*"}]},
            }
        ],
    }
    config = cilium_door_config([_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PEERS)
    policy = config.http_filters[0]["typed_config"]["rules"]["policies"][f"from-{WEB.address}"]
    (matcher,) = policy["permissions"]
    headers = [r["header"] for r in matcher["and_rules"]["rules"]]
    assert headers == [
        {"name": ":method", "string_match": {"safe_regex": {"regex": "GET"}}},
        {"name": ":path", "string_match": {"safe_regex": {"regex": "/api/.*"}}},
    ]


def test_an_l4_only_rule_for_the_same_peer_allows_every_request() -> None:
    l7 = {
        "fromEndpoints": [{"matchLabels": {"app": "web"}}],
        "toPorts": [{"ports": [{"port": "8080"}], "rules": {"http": [{"method": "GET"}]}}],
    }
    l4 = {
        "fromEndpoints": [{"matchLabels": {"app": "web"}}],
        "toPorts": [{"ports": [{"port": "8080"}]}],
    }
    config = cilium_door_config([_cnp({"ingress": [l7, l4]})], "shop", {"app": "api"}, 8080, PEERS)
    policy = config.http_filters[0]["typed_config"]["rules"]["policies"][f"from-{WEB.address}"]
    assert policy["permissions"] == [{"any": True}]


def test_host_entity_admits_kubelet_probes_and_enable_default_deny_false_keeps_ingress_open() -> (
    None
):
    rule = {"fromEntities": ["host"]}
    config = cilium_door_config([_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PEERS)
    assert _allowed(config) == [HOST.address]
    open_policy = _cnp({"ingress": [rule], "enableDefaultDeny": {"ingress": False}})
    assert (
        cilium_door_config([open_policy], "shop", {"app": "api"}, 8080, PEERS).network_filters == ()
    )


def test_ingress_deny_wins_over_allow() -> None:
    allow = {"fromEndpoints": [{}]}
    deny = {"fromEndpoints": [{"matchLabels": {"app": "web"}}]}
    config = cilium_door_config(
        [_cnp({"ingress": [allow], "ingressDeny": [deny]})], "shop", {"app": "api"}, 8080, PEERS
    )
    assert WEB.address not in _allowed(config)
