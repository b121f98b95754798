"""Istio objects → the Envoy configuration istiod would give the provider's sidecar.

Only what decides a request on the inbound side is translated, the way istiod builds it
(istio/istio ``pilot/pkg/security/authz/builder``, golden files under its ``testdata/http``):

- AuthorizationPolicies selecting the workload (same namespace; no selector = every workload of
  the namespace) become RBAC HTTP filters: CUSTOM is not modelled (refused), DENY policies form one
  filter that runs first, ALLOW policies one filter after it; a workload with no ALLOW policy gets
  no ALLOW filter (allow by default). An ALLOW policy without rules (``spec: {}``) is the
  allow-nothing policy: a policy whose permission and principal are ``not any``.
- ``istio.io/dry-run: "true"`` puts the policy in ``shadow_rules`` (logged as would-deny, enforced
  never), https://istio.io/latest/docs/tasks/security/authorization/authz-dry-run/.
- principals ``p`` → ``authenticated.principal_name`` exact ``spiffe://p`` (``*`` prefix/suffix
  forms as prefix/suffix matches); namespaces ``n`` → principal regex ``.*/ns/n/.*``; methods →
  ``:method`` header exact; paths → ``url_path`` (the path without its query string) exact,
  prefix ``a*``, suffix ``*a`` or presence ``*``; ports → ``destination_port`` (decided per
  listener here: each lab listener serves one declared port).
- PeerAuthentication: workload selector beats namespace ``default``; ``portLevelMtls`` beats both;
  STRICT requires a client certificate, PERMISSIVE accepts TLS and plaintext.
- The inbound HTTP connection manager normalises paths as Istio's default ``BASE`` normalisation
  does (RFC 3986 normalisation, ``normalize_path``), https://istio.io/latest/docs/reference/config/security/normalization/.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trustmap.errors import UsageError

__all__ = ["IstioDoorConfig", "istio_door_config"]

Json = dict[str, Any]

_SOURCE_FIELDS = {"principals", "notPrincipals", "namespaces", "notNamespaces"}
_OPERATION_FIELDS = {"methods", "notMethods", "paths", "notPaths", "ports", "notPorts"}


@dataclass(frozen=True, slots=True)
class IstioDoorConfig:
    """What one inbound door of a sidecar is programmed with."""

    mtls: str
    """STRICT, PERMISSIVE or DISABLE."""
    http_filters: tuple[Json, ...]
    """RBAC HTTP filters in order (DENY first, then ALLOW); the router is added by the caller."""
    policies: tuple[str, ...]
    """``namespace/name`` of every AuthorizationPolicy that applies."""


def istio_door_config(
    objects: Sequence[Mapping[str, Any]],
    namespace: str,
    pod_labels: Mapping[str, str],
    port: int,
) -> IstioDoorConfig:
    """The inbound configuration for ``port`` of a workload with ``pod_labels`` in ``namespace``.

    Each lab listener is one door, i.e. one destination port, so a rule's ``ports`` are decided
    when the listener is configured: naming ``port`` always matches this listener, naming another
    never does (istiod writes ``destination_port``; the lab's listener is on a port the kernel picks).

    Raises:
        UsageError: a policy uses a feature the lab does not model (CUSTOM, ``when``, JWT sources).
    """
    applying = [o for o in objects if _applies(o, "AuthorizationPolicy", namespace, pod_labels)]
    ports = _PortMap(port)
    filters = [f for action in ("DENY", "ALLOW") if (f := _rbac(applying, action, ports))]
    names = tuple(sorted(f"{namespace}/{_meta(o, 'name')}" for o in applying))
    return IstioDoorConfig(_mtls(objects, namespace, pod_labels, port), tuple(filters), names)


@dataclass(frozen=True, slots=True)
class _PortMap:
    declared: int

    def __call__(self, text: str) -> Json:
        """The permission a rule's port becomes on this door's listener."""
        return {"any": True} if int(text) == self.declared else {"not_rule": {"any": True}}


def _applies(obj: Mapping[str, Any], kind: str, namespace: str, labels: Mapping[str, str]) -> bool:
    if obj.get("kind") != kind or _meta(obj, "namespace") != namespace:
        return False
    spec = obj.get("spec") or {}
    selector = spec.get("selector") or spec.get("workloadSelector") or {}
    wanted = selector.get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def _meta(obj: Mapping[str, Any], key: str) -> Any:
    return (obj.get("metadata") or {}).get(key)


def _dry_run(obj: Mapping[str, Any]) -> bool:
    annotations = _meta(obj, "annotations") or {}
    return str(annotations.get("istio.io/dry-run", "")).lower() == "true"


def _rbac(policies: Iterable[Mapping[str, Any]], action: str, ports: _PortMap) -> Json | None:
    enforced: Json = {}
    shadow: Json = {}
    for obj in sorted(policies, key=lambda o: str(_meta(o, "name"))):
        spec = obj.get("spec") or {}
        if spec.get("action", "ALLOW") == "CUSTOM":
            raise UsageError(
                f"the lab does not model CUSTOM AuthorizationPolicy {_meta(obj, 'name')}"
            )
        if spec.get("action", "ALLOW") != action:
            continue
        target = shadow if _dry_run(obj) else enforced
        target.update(_policies(obj, action, ports))
    if not enforced and not shadow:
        return None
    return _filter(action, enforced, shadow, has_enforced=_has(policies, action, dry=False))


def _has(policies: Iterable[Mapping[str, Any]], action: str, *, dry: bool) -> bool:
    return any(
        (o.get("spec") or {}).get("action", "ALLOW") == action and _dry_run(o) == dry
        for o in policies
    )


def _filter(action: str, enforced: Json, shadow: Json, *, has_enforced: bool) -> Json:
    config: Json = {"@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"}
    if has_enforced:
        config["rules"] = {"action": action, "policies": enforced}
    if shadow:
        config["shadow_rules"] = {"action": action, "policies": shadow}
        config["shadow_rules_stat_prefix"] = "istio_dry_run_"
    return {"name": f"rbac-{action.lower()}", "typed_config": config}


def _policies(obj: Mapping[str, Any], action: str, ports: _PortMap) -> Json:
    namespace, name = _meta(obj, "namespace"), _meta(obj, "name")
    rules = (obj.get("spec") or {}).get("rules")
    if not rules:
        if action == "ALLOW":
            nothing = {
                "permissions": [{"not_rule": {"any": True}}],
                "principals": [{"not_id": {"any": True}}],
            }
            return {f"ns[{namespace}]-policy[{name}]-rule[0]": nothing}
        return {}
    return {
        f"ns[{namespace}]-policy[{name}]-rule[{i}]": _rule(rule, ports, f"{namespace}/{name}")
        for i, rule in enumerate(rules)
    }


def _rule(rule: Mapping[str, Any], ports: _PortMap, where: str) -> Json:
    if rule.get("when"):
        raise UsageError(f"the lab does not model `when` conditions ({where})")
    sources = [s.get("source") or {} for s in rule.get("from") or []]
    operations = [t.get("operation") or {} for t in rule.get("to") or []]
    principals = [_source(s, where) for s in sources] or [{"any": True}]
    permissions = [_operation(o, ports, where) for o in operations] or [{"any": True}]
    return {"permissions": permissions, "principals": principals}


def _source(source: Mapping[str, Any], where: str) -> Json:
    _only(source, _SOURCE_FIELDS, where)
    ids: list[Json] = []
    if "principals" in source:
        ids.append(_or_ids([_principal(p) for p in source["principals"]]))
    if "namespaces" in source:
        ids.append(_or_ids([_namespace(n) for n in source["namespaces"]]))
    if "notPrincipals" in source:
        ids.append({"not_id": _or_ids([_principal(p) for p in source["notPrincipals"]])})
    if "notNamespaces" in source:
        ids.append({"not_id": _or_ids([_namespace(n) for n in source["notNamespaces"]])})
    return {"and_ids": {"ids": ids or [{"any": True}]}}


def _operation(operation: Mapping[str, Any], ports: _PortMap, where: str) -> Json:
    _only(operation, _OPERATION_FIELDS, where)
    rules: list[Json] = []
    if "methods" in operation:
        rules.append(_or_rules([_method(m) for m in operation["methods"]]))
    if "paths" in operation:
        rules.append(_or_rules([_path(p) for p in operation["paths"]]))
    if "ports" in operation:
        rules.append(_or_rules([ports(p) for p in operation["ports"]]))
    if "notMethods" in operation:
        rules.append({"not_rule": _or_rules([_method(m) for m in operation["notMethods"]])})
    if "notPaths" in operation:
        rules.append({"not_rule": _or_rules([_path(p) for p in operation["notPaths"]])})
    if "notPorts" in operation:
        rules.append({"not_rule": _or_rules([ports(p) for p in operation["notPorts"]])})
    return {"and_rules": {"rules": rules or [{"any": True}]}}


def _only(fields: Mapping[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(fields) - known)
    if extra:
        raise UsageError(f"the lab does not model {', '.join(extra)} ({where})")


def _or_ids(ids: list[Json]) -> Json:
    return {"or_ids": {"ids": ids}}


def _or_rules(rules: list[Json]) -> Json:
    return {"or_rules": {"rules": rules}}


def _string_match(pattern: str, prefix: str = "") -> Json:
    if pattern == "*":
        return {"safe_regex": {"regex": ".+"}}
    if pattern.endswith("*"):
        return {"prefix": prefix + pattern[:-1]}
    if pattern.startswith("*"):
        return {"suffix": pattern[1:]}
    return {"exact": prefix + pattern}


def _principal(pattern: str) -> Json:
    match = _string_match(pattern, "spiffe://" if not pattern.startswith("*") else "")
    return {"authenticated": {"principal_name": match}}


def _namespace(pattern: str) -> Json:
    escaped = pattern.replace(".", "\\.").replace("*", ".*")
    return {"authenticated": {"principal_name": {"safe_regex": {"regex": f".*/ns/{escaped}/.*"}}}}


def _method(method: str) -> Json:
    return {"header": {"name": ":method", "string_match": _string_match(method)}}


def _path(path: str) -> Json:
    return {"url_path": {"path": _string_match(path)}}


def _mtls(
    objects: Sequence[Mapping[str, Any]], namespace: str, labels: Mapping[str, str], port: int
) -> str:
    chosen = _peer_authentication(objects, namespace, labels)
    if chosen is None:
        return "PERMISSIVE"
    spec = chosen.get("spec") or {}
    level = (spec.get("portLevelMtls") or {}).get(str(port)) or (
        spec.get("portLevelMtls") or {}
    ).get(port)
    mode = (level or {}).get("mode") or (spec.get("mtls") or {}).get("mode") or "PERMISSIVE"
    return "PERMISSIVE" if mode == "UNSET" else str(mode)


def _peer_authentication(
    objects: Sequence[Mapping[str, Any]], namespace: str, labels: Mapping[str, str]
) -> Mapping[str, Any] | None:
    candidates = [o for o in objects if _applies(o, "PeerAuthentication", namespace, labels)]
    with_selector = [o for o in candidates if (o.get("spec") or {}).get("selector")]
    pool = with_selector or candidates
    return min(pool, key=lambda o: str(_meta(o, "name"))) if pool else None
