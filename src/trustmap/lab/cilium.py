"""Cilium objects → what Cilium programs for one endpoint's port, as Envoy filters.

Cilium decides in two steps (https://docs.cilium.io/en/stable/security/policy/language/):
L3/L4 in the datapath — who may open a connection to the port — and, when a rule on that port
carries ``rules.http``, L7 in its Envoy proxy, where each HTTP rule's ``method`` and ``path`` are
extended POSIX regular expressions matched against the whole ``:method`` and ``:path`` (query
string included) and a request no rule matches gets 403. The lab expresses the first step as an
Envoy network RBAC filter and the second as an HTTP RBAC filter, with each peer's identity carried
by its own loopback source address. The HTTP connection manager normalises paths as Cilium's
agent does by default (``http-normalize-path: true``: RFC 3986 normalisation, merged slashes,
escaped slashes unescaped and redirected; cilium/cilium ``daemon/cmd/daemon_main.go`` flag help).

Rules relied on (same page, "Ingress", "Layer 7 Examples", "Entities Based"):
- a CiliumNetworkPolicy applies to the endpoints of its namespace that its ``endpointSelector``
  selects; a selector in ``fromEndpoints`` without the namespace label only selects endpoints of
  the policy's namespace;
- once any applying policy has an ``ingress`` (or ``ingressDeny``) section the endpoint's ingress is
  default-deny, unless that policy sets ``enableDefaultDeny.ingress: false``;
- rules are OR'ed; a peer allowed on the port by a rule without L7 rules may send any request;
  a rule with ``toPorts`` and no ``from*`` admits every peer on those ports; an empty rule none;
- ``ingressDeny`` wins over every allow.

The kubelet's probes come from the ``host`` identity. With the agent's default
``--allow-localhost=auto`` (``always`` under Kubernetes) every endpoint's policy map holds an
L3-only allow for the host (cilium/cilium ``pkg/policy/mapstate.go``,
``determineAllowLocalhostIngress``), and on a port whose rules send traffic to the proxy the host
is given a wildcard L7 rule, so its requests pass there too (``pkg/policy/l4.go``, tested by
``TestL7WithLocalHostWildcard`` in ``pkg/policy/resolve_test.go``). Only a deny that selects the
host beats it: deny entries win over allows (``bpf/lib/policy.h``). An agent run with
``--allow-localhost=policy`` (the Organization's ``spec.cilium.allowLocalhost: policy``) adds
neither, so the host is admitted only by rules that select it, under their HTTP rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trustmap.errors import UsageError

__all__ = ["CiliumDoorConfig", "Peer", "cilium_door_config"]

Json = dict[str, Any]
NAMESPACE_LABEL = "io.kubernetes.pod.namespace"


@dataclass(frozen=True, slots=True)
class Peer:
    """A sender as Cilium sees it: its identity's labels, or a reserved entity."""

    address: str
    """Loopback address the lab sends from."""
    namespace: str
    """Pod namespace ('' for an entity)."""
    labels: Mapping[str, str]
    """Pod labels."""
    entity: str | None = None
    """Reserved identity (``host`` for the kubelet), or None for a pod."""


@dataclass(frozen=True, slots=True)
class CiliumDoorConfig:
    """Filters for one door: network (L3/L4) first, then HTTP (L7)."""

    network_filters: tuple[Json, ...]
    """Network RBAC, empty when ingress is not enforced on the endpoint."""
    http_filters: tuple[Json, ...]
    """HTTP RBAC, empty when ingress is not enforced."""
    policies: tuple[str, ...]
    """``namespace/name`` of the policies that apply."""


def cilium_door_config(
    objects: Sequence[Mapping[str, Any]],
    namespace: str,
    pod_labels: Mapping[str, str],
    port: int,
    peers: Sequence[Peer],
    *,
    allow_localhost: bool = True,
) -> CiliumDoorConfig:
    """The filters Cilium's rules give ``port`` of the endpoint, for the lab's ``peers``.

    ``allow_localhost`` is the agent's default (``auto``/``always``); ``False`` is
    ``--allow-localhost=policy``, where the host is a peer like any other.

    Raises:
        UsageError: a policy uses a selector form the lab does not model.
    """
    applying = [o for o in objects if _applies(o, namespace, pod_labels)]
    names = tuple(sorted(f"{_meta(o, 'namespace') or ''}/{_meta(o, 'name')}" for o in applying))
    if not _enforced(applying):
        return CiliumDoorConfig((), (), names)
    grants: dict[str, list[Json] | None] = {}
    for obj in applying:
        for rule in (obj.get("spec") or {}).get("ingress") or []:
            _grant(grants, rule, _meta(obj, "namespace"), port, peers)
    denied = _denied(applying, port, peers)
    if allow_localhost:
        for peer in peers:
            if peer.entity == "host":
                grants[peer.address] = None  # L3-only allow; a wildcard L7 rule on proxied ports
    for address in denied:
        grants.pop(address, None)
    return CiliumDoorConfig((_network(grants),), (_http(grants),), names)


def _meta(obj: Mapping[str, Any], key: str) -> Any:
    return (obj.get("metadata") or {}).get(key)


def _applies(obj: Mapping[str, Any], namespace: str, labels: Mapping[str, str]) -> bool:
    kind = obj.get("kind")
    if kind == "CiliumNetworkPolicy" and _meta(obj, "namespace") != namespace:
        return False
    if kind not in ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"):
        return False
    selector = (obj.get("spec") or {}).get("endpointSelector")
    return selector is not None and _selects(selector, namespace, labels, _meta(obj, "namespace"))


def _enforced(policies: Iterable[Mapping[str, Any]]) -> bool:
    for obj in policies:
        spec = obj.get("spec") or {}
        default_deny = (spec.get("enableDefaultDeny") or {}).get("ingress", True)
        if ("ingress" in spec or "ingressDeny" in spec) and default_deny is not False:
            return True
    return False


def _grant(
    grants: dict[str, list[Json] | None],
    rule: Mapping[str, Any],
    policy_ns: str | None,
    port: int,
    peers: Sequence[Peer],
) -> None:
    covered, matched = _port_rules(rule.get("toPorts"), port)
    if not covered:
        return
    for peer in peers:
        if not _peer_allowed(rule, peer, policy_ns):
            continue
        current = grants.get(peer.address, [])
        if matched is None or current is None:
            grants[peer.address] = None  # some rule allows any request: L7 wildcard
        else:
            grants[peer.address] = [*current, *matched]


def _port_rules(to_ports: Any, port: int) -> tuple[bool, list[Json] | None]:
    """Whether the rule covers ``port``, and its HTTP rules there (None: any request)."""
    if not to_ports:
        return True, None
    http: list[Json] = []
    covered, wildcard = False, False
    for entry in to_ports:
        if not any(_port_matches(p, port) for p in entry.get("ports") or [{}]):
            continue
        covered = True
        rules = (entry.get("rules") or {}).get("http")
        if rules is None:
            wildcard = True
        else:
            http.extend(rules)
    if not covered:
        return False, None
    return True, None if wildcard or not http else http


def _port_matches(entry: Mapping[str, Any], port: int) -> bool:
    protocol = str(entry.get("protocol", "ANY")).upper()
    if protocol not in ("TCP", "ANY"):
        return False
    text = str(entry.get("port", "0"))
    if not text.isdigit():
        raise UsageError(f"the lab does not model named ports in toPorts ({text!r})")
    low = int(text)
    high = int(entry.get("endPort", low) or low)
    return low == 0 or low <= port <= high


_PEER_KEYS = ("fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet", "fromNodes")


def _peer_allowed(rule: Mapping[str, Any], peer: Peer, policy_ns: str | None) -> bool:
    if not any(key in rule for key in _PEER_KEYS):
        return bool(rule.get("toPorts"))  # L4-only: every peer on those ports; `{}`: none
    if peer.entity is not None:
        return _entity_allowed(rule.get("fromEntities") or [], peer.entity)
    if "all" in (rule.get("fromEntities") or []) or "cluster" in (rule.get("fromEntities") or []):
        return True
    return any(
        _selects(s, peer.namespace, peer.labels, policy_ns) for s in rule.get("fromEndpoints") or []
    )


def _entity_allowed(entities: Sequence[str], entity: str) -> bool:
    return entity in entities or "all" in entities or (entity == "host" and "cluster" in entities)


def _selects(
    selector: Mapping[str, Any], namespace: str, labels: Mapping[str, str], policy_ns: str | None
) -> bool:
    wanted = {_key(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}
    if NAMESPACE_LABEL not in wanted and policy_ns is not None and namespace != policy_ns:
        return False
    if NAMESPACE_LABEL in wanted and wanted.pop(NAMESPACE_LABEL) != namespace:
        return False
    if any(labels.get(k) != v for k, v in wanted.items()):
        return False
    return all(_expression(e, labels, namespace) for e in selector.get("matchExpressions") or [])


def _key(key: str) -> str:
    for prefix in ("k8s:", "any:"):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _expression(expr: Mapping[str, Any], labels: Mapping[str, str], namespace: str) -> bool:
    key = _key(str(expr.get("key")))
    value = namespace if key == NAMESPACE_LABEL else labels.get(key)
    values = [str(v) for v in expr.get("values") or []]
    operator = expr.get("operator")
    if operator == "In":
        return value in values
    if operator == "NotIn":
        return value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    raise UsageError(f"unknown matchExpressions operator {operator!r}")


def _denied(policies: Iterable[Mapping[str, Any]], port: int, peers: Sequence[Peer]) -> set[str]:
    denied: set[str] = set()
    for obj in policies:
        for rule in (obj.get("spec") or {}).get("ingressDeny") or []:
            if not _port_rules(rule.get("toPorts"), port)[0]:
                continue
            denied.update(
                p.address for p in peers if _peer_allowed(rule, p, _meta(obj, "namespace"))
            )
    return denied


def _address(address: str) -> Json:
    return {"direct_remote_ip": {"address_prefix": address, "prefix_len": 32}}


def _network(grants: Mapping[str, list[Json] | None]) -> Json:
    principals = [_address(a) for a in sorted(grants)]
    policies = (
        {"l3-l4": {"permissions": [{"any": True}], "principals": principals}} if principals else {}
    )
    return {
        "name": "envoy.filters.network.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
            "stat_prefix": "cilium_l4",
            "rules": {"action": "ALLOW", "policies": policies},
        },
    }


def _http(grants: Mapping[str, list[Json] | None]) -> Json:
    policies: Json = {}
    for address, rules in sorted(grants.items(), key=lambda kv: kv[0]):
        permissions = [{"any": True}] if rules is None else [_http_rule(r) for r in rules]
        policies[f"from-{address}"] = {
            "permissions": permissions,
            "principals": [_address(address)],
        }
    return {
        "name": "rbac-l7",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {"action": "ALLOW", "policies": policies},
        },
    }


def _http_rule(rule: Mapping[str, Any]) -> Json:
    parts: list[Json] = []
    for field, header in (("method", ":method"), ("path", ":path"), ("host", ":authority")):
        if rule.get(field):
            parts.append(
                {
                    "header": {
                        "name": header,
                        "string_match": {"safe_regex": {"regex": str(rule[field])}},
                    }
                }
            )
    if rule.get("headers") or rule.get("headerMatches"):
        raise UsageError("the lab does not model header rules in rules.http")
    return {"and_rules": {"rules": parts or [{"any": True}]}}
