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
PODS = [WEB, OPS]


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
    assert cilium_door_config([], "shop", {"app": "api"}, 8080, PODS).network_filters == ()


def test_from_endpoints_without_namespace_selects_only_the_policys_namespace() -> None:
    rule = {
        "fromEndpoints": [{"matchLabels": {"app": "web"}}],
        "toPorts": [{"ports": [{"port": "8080"}]}],
    }
    config = cilium_door_config([_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PODS)
    assert _allowed(config) == [WEB.address]


def test_namespace_label_selects_another_namespace() -> None:
    rule = {
        "fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "ops", "app": "web"}}]
    }
    config = cilium_door_config([_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PODS)
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
    config = cilium_door_config([_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PODS)
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
    config = cilium_door_config([_cnp({"ingress": [l7, l4]})], "shop", {"app": "api"}, 8080, PODS)
    policy = config.http_filters[0]["typed_config"]["rules"]["policies"][f"from-{WEB.address}"]
    assert policy["permissions"] == [{"any": True}]


def test_host_entity_admits_kubelet_probes_and_enable_default_deny_false_keeps_ingress_open() -> (
    None
):
    rule = {"fromEntities": ["host"]}
    config = cilium_door_config(
        [_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PEERS, allow_localhost=False
    )
    assert _allowed(config) == [HOST.address]
    open_policy = _cnp({"ingress": [rule], "enableDefaultDeny": {"ingress": False}})
    assert (
        cilium_door_config([open_policy], "shop", {"app": "api"}, 8080, PEERS).network_filters == ()
    )


def test_ingress_deny_wins_over_allow() -> None:
    allow = {"fromEndpoints": [{}]}
    deny = {"fromEndpoints": [{"matchLabels": {"app": "web"}}]}
    config = cilium_door_config(
        [_cnp({"ingress": [allow], "ingressDeny": [deny]})], "shop", {"app": "api"}, 8080, PODS
    )
    assert WEB.address not in _allowed(config)


def _l7_of(config: Any, peer: Peer) -> list[dict[str, Any]] | None:
    policies = config.http_filters[0]["typed_config"]["rules"]["policies"]
    policy = policies.get(f"from-{peer.address}")
    return None if policy is None else policy["permissions"]


_HEALTHZ = {"method": "GET", "path": "/healthz"}
_ITEMS = {"method": "GET", "path": "/items"}


def test_the_host_is_allowed_by_allow_localhost_where_the_rules_name_only_pods() -> None:
    """``--allow-localhost=auto`` (``always`` under Kubernetes) gives every endpoint an L3-only allow
    for the host identity (cilium/cilium pkg/policy/mapstate.go ``localHostKey``,
    ``determineAllowLocalhostIngress``; daemon/cmd ``auto`` → ``always``): a port whose rules name
    only pods leaves the kubelet free, L7 rules or not, even on a default-deny endpoint."""
    rule = {
        "fromEndpoints": [{"matchLabels": {"app": "web"}}],
        "toPorts": [{"ports": [{"port": "8080"}], "rules": {"http": [_ITEMS]}}],
    }
    config = cilium_door_config([_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PEERS)
    assert sorted(_allowed(config)) == sorted([WEB.address, HOST.address])
    assert _l7_of(config, HOST) == [{"any": True}]


def test_on_a_port_under_l7_rules_for_all_entities_the_host_gets_a_wildcard_l7_rule() -> None:
    """With ``allow-localhost`` at ``always`` Cilium adds the host to every proxied port without
    L7 rules, so the kubelet may send any request there even when ``fromEntities: [all]`` holds
    everyone else to HTTP rules (cilium/cilium pkg/policy/l4.go; ``TestL7WithLocalHostWildcard``
    in pkg/policy/resolve_test.go). With ``allow-localhost=policy`` the host is one of ``all`` and
    gets the rules' HTTP rules like everyone else."""
    rule = {
        "fromEntities": ["all"],
        "toPorts": [{"ports": [{"port": "8080"}], "rules": {"http": [_ITEMS]}}],
    }
    policy = _cnp({"ingress": [rule]})
    config = cilium_door_config([policy], "shop", {"app": "api"}, 8080, PEERS)
    assert _l7_of(config, HOST) == [{"any": True}]
    assert "/items" in str(_l7_of(config, WEB))
    strict = cilium_door_config(
        [policy], "shop", {"app": "api"}, 8080, PEERS, allow_localhost=False
    )
    held = _l7_of(strict, HOST)
    assert held is not None
    assert len(held) == 1
    assert "/items" in str(held)


def test_under_allow_localhost_policy_a_host_rule_adds_its_routes_to_what_all_entities_allow() -> (
    None
):
    """Rules are ORed per peer and port (docs.cilium.io policy language, "Layer 7 Examples")."""
    everyone = {
        "fromEntities": ["all"],
        "toPorts": [{"ports": [{"port": "8080"}], "rules": {"http": [_ITEMS]}}],
    }
    host = {
        "fromEntities": ["host"],
        "toPorts": [{"ports": [{"port": "8080"}], "rules": {"http": [_HEALTHZ]}}],
    }
    policy = _cnp({"ingress": [everyone, host]})
    config = cilium_door_config(
        [policy], "shop", {"app": "api"}, 8080, PEERS, allow_localhost=False
    )
    permissions = _l7_of(config, HOST)
    assert permissions is not None
    assert len(permissions) == 2


def test_a_rule_with_ports_and_no_peers_admits_every_peer_and_an_empty_rule_none() -> None:
    """An ingress rule with ``toPorts`` and no ``from*`` selects every identity on those ports; the
    empty rule ``{}`` selects none (docs.cilium.io policy language, "Layer 4 Examples"; intro,
    "Default deny")."""
    l4 = {"toPorts": [{"ports": [{"port": "8080"}]}]}
    config = cilium_door_config([_cnp({"ingress": [l4]})], "shop", {"app": "api"}, 8080, PODS)
    assert sorted(_allowed(config)) == sorted([WEB.address, OPS.address])
    empty = cilium_door_config([_cnp({"ingress": [{}]})], "shop", {"app": "api"}, 8080, PODS)
    assert _allowed(empty) == []


def test_allow_localhost_policy_makes_the_host_a_peer_like_any_other() -> None:
    """``--allow-localhost=policy`` drops the host's L3-only allow (cilium-agent flag reference)."""
    rule = {"fromEndpoints": [{"matchLabels": {"app": "web"}}]}
    config = cilium_door_config(
        [_cnp({"ingress": [rule]})], "shop", {"app": "api"}, 8080, PEERS, allow_localhost=False
    )
    assert _allowed(config) == [WEB.address]


def test_a_deny_rule_for_the_host_beats_allow_localhost() -> None:
    """Deny entries win over allows (docs.cilium.io policy, "Deny Policies")."""
    allow = {"fromEndpoints": [{"matchLabels": {"app": "web"}}]}
    deny = {"fromEntities": ["host"]}
    policy = _cnp({"ingress": [allow], "ingressDeny": [deny]})
    config = cilium_door_config([policy], "shop", {"app": "api"}, 8080, PEERS)
    assert _allowed(config) == [WEB.address]
