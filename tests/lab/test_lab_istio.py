"""Istio objects → Envoy RBAC, as istiod builds it.

Source for every rule: istio/istio ``pilot/pkg/security/authz/builder`` and its golden files
``testdata/http/single-policy-{in,out}.yaml``, ``allow-path-out.yaml``, ``allow-nil-rule-out.yaml``,
``dry-run-allow-out.yaml``; evaluation order from
https://istio.io/latest/docs/reference/config/security/authorization-policy/ (CUSTOM, DENY, ALLOW;
no ALLOW policy = allow).
"""

from __future__ import annotations

from typing import Any

import pytest

from trustmap.errors import UsageError
from trustmap.lab.istio import istio_door_config


def _policy(name: str, spec: dict[str, Any], **annotations: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop"}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": meta,
        "spec": spec,
    }


RULE = {
    "from": [{"source": {"principals": ["td/ns/shop/sa/web"]}}],
    "to": [
        {
            "operation": {
                "ports": ["8080"],
                "methods": ["GET"],
                "paths": ["/api/*", "/exact", "*.css"],
            }
        }
    ],
}


def _allow_rules(objects: list[dict[str, Any]]) -> dict[str, Any]:
    config = istio_door_config(objects, "shop", {"app": "api"}, 8080)
    (allow,) = [f for f in config.http_filters if f["name"] == "rbac-allow"]
    return dict(allow["typed_config"])


def test_principals_get_the_spiffe_scheme_and_paths_are_url_path_matches() -> None:
    """single-policy-out.yaml: principal ``p`` → principal_name exact ``spiffe://p``;
    allow-path-out.yaml: ``a*`` prefix, ``*a`` suffix, else exact, on ``url_path``."""
    config = _allow_rules(
        [_policy("api", {"selector": {"matchLabels": {"app": "api"}}, "rules": [RULE]})]
    )
    policy = config["rules"]["policies"]["ns[shop]-policy[api]-rule[0]"]
    principal = policy["principals"][0]["and_ids"]["ids"][0]["or_ids"]["ids"][0]
    assert principal == {
        "authenticated": {"principal_name": {"exact": "spiffe://td/ns/shop/sa/web"}}
    }
    rules = policy["permissions"][0]["and_rules"]["rules"]
    paths = [r["url_path"]["path"] for r in rules[1]["or_rules"]["rules"]]
    assert paths == [{"prefix": "/api/"}, {"exact": "/exact"}, {"suffix": ".css"}]
    assert rules[2] == {"or_rules": {"rules": [{"any": True}]}}  # the port this listener serves


def test_a_rule_for_another_port_can_never_match_this_door() -> None:
    rule = {"to": [{"operation": {"ports": ["9090"]}}]}
    config = _allow_rules([_policy("api", {"rules": [rule]})])
    ports = config["rules"]["policies"]["ns[shop]-policy[api]-rule[0]"]["permissions"][0]
    assert ports["and_rules"]["rules"][0] == {"or_rules": {"rules": [{"not_rule": {"any": True}}]}}


def test_allow_nothing_policy_denies_every_request() -> None:
    """allow-nil-rule-out.yaml: ``spec: {}`` → permission ``not any``, principal ``not any``."""
    config = _allow_rules([_policy("allow-nothing", {})])
    policy = config["rules"]["policies"]["ns[shop]-policy[allow-nothing]-rule[0]"]
    assert policy == {
        "permissions": [{"not_rule": {"any": True}}],
        "principals": [{"not_id": {"any": True}}],
    }


def test_dry_run_policies_go_to_shadow_rules_and_enforce_nothing() -> None:
    """dry-run-allow-out.yaml and https://istio.io/latest/docs/tasks/security/authorization/authz-dry-run/:
    ``istio.io/dry-run: "true"`` → ``shadow_rules`` only."""
    config = _allow_rules([_policy("api", {"rules": [RULE]}, **{"istio.io/dry-run": "true"})])
    assert "rules" not in config
    assert "ns[shop]-policy[api]-rule[0]" in config["shadow_rules"]["policies"]


def test_deny_filter_runs_before_allow_and_no_allow_policy_means_no_allow_filter() -> None:
    deny = _policy(
        "block", {"action": "DENY", "rules": [{"to": [{"operation": {"methods": ["DELETE"]}}]}]}
    )
    config = istio_door_config([deny], "shop", {"app": "api"}, 8080)
    assert [f["name"] for f in config.http_filters] == ["rbac-deny"]
    config = istio_door_config(
        [deny, _policy("api", {"rules": [RULE]})], "shop", {"app": "api"}, 8080
    )
    assert [f["name"] for f in config.http_filters] == ["rbac-deny", "rbac-allow"]


def test_policies_of_other_workloads_and_namespaces_do_not_apply() -> None:
    other = _policy("other", {"selector": {"matchLabels": {"app": "other"}}, "rules": [RULE]})
    elsewhere = {
        **_policy("api", {"rules": [RULE]}),
        "metadata": {"name": "api", "namespace": "pay"},
    }
    config = istio_door_config([other, elsewhere], "shop", {"app": "api"}, 8080)
    assert config.http_filters == ()


def test_peer_authentication_port_level_beats_workload_beats_namespace() -> None:
    """https://istio.io/latest/docs/reference/config/security/peer_authentication/: the most
    specific policy wins; ``portLevelMtls`` overrides the workload's mode for that port."""
    namespace = {
        "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": "shop"},
        "spec": {"mtls": {"mode": "STRICT"}},
    }
    workload = {
        "kind": "PeerAuthentication",
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "api"}},
            "mtls": {"mode": "STRICT"},
            "portLevelMtls": {"8080": {"mode": "PERMISSIVE"}},
        },
    }
    assert istio_door_config([namespace], "shop", {"app": "api"}, 8080).mtls == "STRICT"
    assert (
        istio_door_config([namespace, workload], "shop", {"app": "api"}, 8080).mtls == "PERMISSIVE"
    )
    assert istio_door_config([namespace, workload], "shop", {"app": "api"}, 9090).mtls == "STRICT"


def test_features_the_lab_does_not_model_are_refused_not_ignored() -> None:
    custom = _policy("ext", {"action": "CUSTOM", "provider": {"name": "opa"}, "rules": [{}]})
    with pytest.raises(UsageError, match="CUSTOM"):
        istio_door_config([custom], "shop", {"app": "api"}, 8080)
    jwt = _policy("jwt", {"rules": [{"from": [{"source": {"requestPrincipals": ["*"]}}]}]})
    with pytest.raises(UsageError, match="requestPrincipals"):
        istio_door_config([jwt], "shop", {"app": "api"}, 8080)
