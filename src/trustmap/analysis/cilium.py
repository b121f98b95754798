"""Cilium policy evaluation: would CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy allow a request?

Semantics (Cilium docs, https://docs.cilium.io/en/stable/security/policy/):
* A rule selects endpoints with ``endpointSelector``; a namespaced policy only selects pods of its
  namespace, and its ``fromEndpoints``/``toEndpoints`` only match pods of its namespace unless the
  selector names ``k8s:io.kubernetes.pod.namespace`` (language/#namespaces, kubernetes/policy/).
* Per direction, an endpoint is in default deny once a rule selecting it has a non-empty
  ``ingress``/``ingressDeny`` (``egress``/``egressDeny``) section, unless every such rule sets
  ``enableDefaultDeny.<direction>: false`` (intro/#default-deny, the Rule API reference).
* Deny rules win over allow rules (deny/). A request crossing two endpoints must pass the
  source's egress and the target's ingress.
* A rule with peers matches those peers; a rule with only ``toPorts`` matches any peer; an empty
  rule ``{}`` matches nothing (the documented way to enter default deny without allowing).
* ``toPorts[].rules.http`` entries are regular expressions matched against the whole method and
  path (language/#layer-7-examples); a port with HTTP rules admits only matching requests, a rule
  for the same peer and port without HTTP rules admits every request.
* Entities: ``all``, ``world``, ``cluster``, ``host`` (language/#entities-based). ``toFQDNs``
  ``matchName``/``matchPattern`` (``*`` wildcard) and ``toCIDR``/``toCIDRSet`` (with ``except``).

The local host: kubelet probes come from it, with the reserved identity ``host``. What the agent's
``--allow-localhost`` does (https://docs.cilium.io/en/stable/cmdref/cilium-agent/), read in
cilium/cilium releases up to 1.18 and in its newest (tiered) policy code (docs/verify.md, limits):
* ``auto``, the default, turns into ``always`` when the agent runs on Kubernetes
  (``daemon/cmd/daemon_main.go``, later the daemon's config cell); every endpoint's policy map then
  gets an L3-only allow for ``host`` (``pkg/policy/mapstate.go`` ``determineAllowLocalhostIngress``,
  ``localHostKey``), inserted so that a deny of the host stays a deny. Default deny does not
  remove it.
* The datapath prefers an L3/L4 or an L4-only (any identity) entry on the port to that L3-only
  allow, and a deny to an allow (``bpf/lib/policy.h`` ``__policy_can_access``; the order is listed
  on ``AddVisibilityKeys`` in ``pkg/policy/mapstate.go``): an ``ingressDeny`` that selects the
  host on the port (entities ``host``/``cluster``/``all``, or ``toPorts`` without peers) wins.
* An allow rule on the port that selects the host and carries L7 rules (``fromEntities: [all]``
  with ``rules.http``, a rule with only ``toPorts``) sends the host's requests to the proxy, but
  Cilium then adds the host with no L7 rules to that port (``pkg/policy/l4.go``
  ``createL4IngressFilter``, in the newest code ``L4Filter.attach``; Cilium's own test
  ``TestL7WithLocalHostWildcard``, ``pkg/policy/resolve_test.go``): the proxy lets every request
  of the host through, whatever the HTTP rules say.
* ``policy`` (``allow_localhost="policy"`` here) has neither: the host is a peer like any other,
  allowed only by rules that select it (entities ``host``/``cluster``/``all``, rules with only
  ``toPorts``), their HTTP rules included, and held by default deny.

Which of the two a cluster runs is the Organization's ``spec.cilium.allowLocalhost``
(:func:`cilium_localhost`): verify and the lab build this evaluator with it.

Audit: Cilium has no per-policy audit switch; a policy with ``enableDefaultDeny`` off allows
everything not denied. :attr:`Decision.audit` marks requests that pass only because of that: the
same policies with default deny on would drop them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from trustmap.analysis.platform import (
    Decision,
    Obj,
    ObjectRef,
    Peer,
    Request,
    normalized_path,
    selector_matches,
    submap,
)
from trustmap.model import Graph

__all__ = ["AllowLocalhost", "CiliumEvaluator", "cilium_localhost"]

AllowLocalhost = Literal["always", "policy"]
"""The agent's ``--allow-localhost``: ``always`` (what the default ``auto`` is on Kubernetes) or
``policy`` (module docstring, "The local host")."""

_NS_KEYS = ("io.kubernetes.pod.namespace",)
_SA_KEY = "io.cilium.k8s.policy.serviceaccount"
_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")


@dataclass(frozen=True, slots=True)
class _Rule:
    """One ``spec``/``specs[i]`` of a policy."""

    namespace: str | None
    selector: Any
    sections: Mapping[str, tuple[Mapping[str, Any], ...]]
    default_deny: Mapping[str, bool]
    ref: ObjectRef
    peers: Mapping[tuple[str, int], tuple[tuple[Any, bool], ...]] = field(default_factory=dict)
    """(section, item index) → its endpoint selectors, normalised, and whether each names a namespace."""


def _strip(key: str) -> str:
    for prefix in ("k8s:", "any:"):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _normal(selector: Any) -> Any:
    """A selector with Cilium's label sources (``k8s:``, ``any:``) removed from its keys."""
    if not isinstance(selector, Mapping):
        return selector
    labels = {_strip(str(k)): v for k, v in (selector.get("matchLabels") or {}).items()}
    exprs = [
        {**e, "key": _strip(str(e.get("key", "")))} if isinstance(e, Mapping) else e
        for e in selector.get("matchExpressions") or ()
    ]
    return {"matchLabels": labels, "matchExpressions": exprs}


@lru_cache(maxsize=65536)
def _identity(peer: Peer) -> dict[str, str]:
    """The labels Cilium derives for a pod: its own plus namespace and service account (cached:
    callers only read it)."""
    labels = peer.label_map
    labels["io.kubernetes.pod.namespace"] = peer.namespace
    labels[_SA_KEY] = peer.service_account
    return labels


def cilium_localhost(graph: Graph) -> AllowLocalhost:
    """What the cluster's agent does with the host, as the Organization declares it
    (``spec.cilium.allowLocalhost``; ``auto`` is ``always`` on Kubernetes)."""
    org = graph.organization
    return "policy" if org is not None and org.cilium.host_is_peer else "always"


class CiliumEvaluator:
    """Answers requests with Cilium's semantics for the given policies."""

    def __init__(
        self,
        objects: Sequence[Obj],
        peers: Sequence[Peer],
        *,
        allow_localhost: AllowLocalhost = "always",
    ) -> None:
        self.allow_localhost = allow_localhost
        self.rules: list[_Rule] = []
        self.problems: list[tuple[ObjectRef, str]] = []
        self.peers = tuple(peers)
        for obj in objects:
            if obj.kind in _KINDS:
                self._read(obj)
        self._selecting: dict[str, tuple[_Rule, ...]] = {}
        self._l4_cache: dict[Any, Decision | list[tuple[_Rule, Mapping[str, Any]]]] = {}
        self._rules_by_ns: dict[str | None, list[_Rule]] = {}
        for rule in self.rules:
            self._rules_by_ns.setdefault(rule.namespace, []).append(rule)
        self._by_label: dict[tuple[str, str], set[int]] = {}
        for index, peer in enumerate(self.peers):
            for pair in _identity(peer).items():
                self._by_label.setdefault(pair, set()).add(index)

    def unsupported(self) -> Sequence[tuple[ObjectRef, str]]:
        return self.problems

    def _read(self, obj: Obj) -> None:
        namespace = (obj.namespace or "default") if obj.kind == "CiliumNetworkPolicy" else None
        specs: list[Any] = []
        if isinstance(obj.raw.get("spec"), Mapping):
            specs.append(("spec", obj.raw["spec"]))
        specs += [(("specs", i), s) for i, s in enumerate(obj.raw.get("specs") or ())]
        for where, spec in specs:
            if not isinstance(spec, Mapping) or "endpointSelector" not in spec:
                self.problems.append(
                    (obj.ref, f"{where}: no endpointSelector (node policies are not evaluated)")
                )
                continue
            self.rules.append(_rule(obj, namespace, spec))
            self._check_fields(obj.ref, spec)

    def _check_fields(self, ref: ObjectRef, spec: Mapping[str, Any]) -> None:
        for section in ("ingress", "egress", "ingressDeny", "egressDeny"):
            for rule in spec.get(section) or ():
                for key in ("fromRequires", "toRequires", "toServices", "fromGroups", "toGroups"):
                    if isinstance(rule, Mapping) and key in rule:
                        self.problems.append((ref, f"{section}.{key} is not evaluated"))
                for name in _named_ports(rule):
                    self.problems.append(
                        (ref, f"{section}: named port {name!r} is not resolved (never matches)")
                    )

    def selecting(self, peer: Peer) -> tuple[_Rule, ...]:
        """Rules whose endpointSelector selects ``peer``."""
        found = self._selecting.get(peer.id)
        if found is None:
            labels = _identity(peer)
            candidates = [
                *self._rules_by_ns.get(None, ()),
                *self._rules_by_ns.get(peer.namespace, ()),
            ]
            found = tuple(r for r in candidates if selector_matches(r.selector, labels))
            self._selecting[peer.id] = found
        return found

    def decide(self, request: Request) -> Decision:
        path = normalized_path(request.path, merge_slashes=True)
        if path != request.path:
            request = replace(request, path=path)
        if request.source.kind == "kubelet":
            return self._from_host(request)
        out = self._direction(request, "egress", request.source, request.target)
        if not out.allowed:
            return out
        inbound = self._direction(request, "ingress", request.target, request.source)
        if not inbound.allowed:
            return inbound
        return Decision(True, out.by + inbound.by, out.audit or inbound.audit)

    def _from_host(self, request: Request) -> Decision:
        """A request of the kubelet, Cilium's ``host`` identity (module docstring)."""
        if self.allow_localhost == "policy" or request.target.kind != "pod":
            return self._direction(request, "ingress", request.target, request.source)
        verdict = self._l4(request, "ingress", request.target, request.source)
        if isinstance(verdict, Decision) and not verdict.allowed:
            return replace(verdict, why=_HOST_DENIED)
        items = verdict if isinstance(verdict, list) else []
        proxied = tuple(dict.fromkeys(r.ref for r, item in items if _http_on_port(item, request)))
        if proxied:
            return Decision(True, proxied, why=_HOST_PROXIED)
        return Decision(True, why=_HOST_ALLOWED)

    def _direction(self, request: Request, direction: str, subject: Peer, other: Peer) -> Decision:
        if subject.kind != "pod":
            return Decision(True)
        verdict = self._l4(request, direction, subject, other)
        if isinstance(verdict, Decision):
            return verdict
        allowing = tuple(
            dict.fromkeys(r.ref for r, item in verdict if _ports_match(item, request, l7=True))
        )
        if allowing:
            return Decision(True, allowing)
        sectioned = self._sectioned(subject, direction)
        if not any(r.default_deny.get(direction, True) for r in sectioned):
            refs = tuple(r.ref for r in sectioned)
            return Decision(True, refs, audit=True, why="enableDefaultDeny is off")
        return Decision(False, tuple(r.ref for r in sectioned), why=f"default deny at {direction}")

    def _l4(
        self, request: Request, direction: str, subject: Peer, other: Peer
    ) -> Decision | list[tuple[_Rule, Mapping[str, Any]]]:
        """The L3/L4 part of a direction's verdict, shared by every request on one port: a final
        decision, or the allow items whose peers and ports match (their L7 rules decide)."""
        key = (direction, subject.id, other, request.port, request.protocol)
        found = self._l4_cache.get(key)
        if found is None:
            found = self._l4_uncached(request, direction, subject, other)
            self._l4_cache[key] = found
        return found

    def _l4_uncached(
        self, request: Request, direction: str, subject: Peer, other: Peer
    ) -> Decision | list[tuple[_Rule, Mapping[str, Any]]]:
        rules = self.selecting(subject)
        deny = direction + "Deny"
        for rule in rules:
            for index, item in enumerate(rule.sections.get(deny, ())):
                where = (deny, index)
                if _peer_matches(item, direction, rule, other, where) and _ports_match(
                    item, request, l7=False
                ):
                    return Decision(False, (rule.ref,), why=f"{direction} denied")
        if not self._sectioned(subject, direction):
            return Decision(True, why=f"no policy selects it for {direction}")
        return [
            (rule, item)
            for rule in rules
            for index, item in enumerate(rule.sections.get(direction, ()))
            if _peer_matches(item, direction, rule, other, (direction, index))
            and _ports_match(item, request, l7=False)
        ]

    def _sectioned(self, subject: Peer, direction: str) -> list[_Rule]:
        deny = direction + "Deny"
        return [
            r for r in self.selecting(subject) if r.sections.get(direction) or r.sections.get(deny)
        ]

    def named_sources(self, target: Peer) -> Iterable[Peer]:
        for rule in self.selecting(target):
            for index, _item in enumerate(rule.sections.get("ingress", ())):
                for selector, names_ns in rule.peers.get(("ingress", index), ()):
                    for peer in self._selected(selector, names_ns, rule.namespace):
                        if peer.id != target.id:
                            yield peer

    def _selected(self, selector: Any, names_ns: bool, namespace: str | None) -> Iterable[Peer]:
        """Peers an endpoint selector matches, found through the label index."""
        required = dict(selector.get("matchLabels", {})) if isinstance(selector, Mapping) else {}
        if namespace is not None and not names_ns:
            required[_NS_KEYS[0]] = namespace
        if required:
            sets = [self._by_label.get((k, str(v)), set()) for k, v in required.items()]
            indexes: Iterable[int] = sorted(set.intersection(*sets))
        else:
            indexes = range(len(self.peers))
        for index in indexes:
            peer = self.peers[index]
            if selector_matches(selector, _identity(peer)):
                yield peer

    def named_ports(self, target: Peer) -> Iterable[int]:
        for rule in self.selecting(target):
            for item in rule.sections.get("ingress", ()):
                for entry in item.get("toPorts") or ():
                    for port in (entry or {}).get("ports") or ():
                        number = str((port or {}).get("port", ""))
                        if number.isdigit() and number != "0":
                            yield int(number)

    def named_routes(self, target: Peer, port: int) -> Iterable[tuple[str | None, str | None]]:
        for rule in self.selecting(target):
            for item in rule.sections.get("ingress", ()):
                for entry in item.get("toPorts") or ():
                    if not _port_listed(entry, port, "TCP"):
                        continue
                    for http in ((entry or {}).get("rules") or {}).get("http") or ():
                        yield _sample(http.get("method")), _sample(http.get("path"))

    def external_named(self, source: Peer) -> Iterable[tuple[str | None, str | None, int]]:
        """(host, address, port) samples the egress rules of ``source`` allow outside the cluster."""
        for rule in self.selecting(source):
            for item in rule.sections.get("egress", ()):
                ports = _listed_ports(item) or [443]
                for fqdn in item.get("toFQDNs") or ():
                    host = (fqdn or {}).get("matchName") or _sample(
                        (fqdn or {}).get("matchPattern"), glob=True
                    )
                    for port in ports:
                        yield host, None, port
                for cidr in _cidrs(item, "to"):
                    for port in ports:
                        yield (
                            None,
                            str(ipaddress.ip_network(cidr, strict=False).network_address),
                            port,
                        )


_HOST_ALLOWED = "Cilium allows the local host (allow-localhost=always, the default on Kubernetes)"
_HOST_PROXIED = (
    "Cilium allows the local host (allow-localhost=always): its requests on this port pass "
    "through the proxy, which gives the host no L7 restriction"
)
_HOST_DENIED = (
    "an ingressDeny rule selects the local host on this port (deny wins over allow-localhost)"
)


def _http_on_port(item: Mapping[str, Any], request: Request) -> bool:
    """Whether an allow item carries HTTP rules on the request's port (the proxy sees it)."""
    for entry in item.get("toPorts") or ():
        if isinstance(entry, Mapping) and _port_listed(entry, request.port, request.protocol):
            rules = entry.get("rules")
            if isinstance(rules, Mapping) and rules.get("http"):
                return True
    return False


def _rule(obj: Obj, namespace: str | None, spec: Mapping[str, Any]) -> _Rule:
    sections = {
        key: tuple(r for r in spec.get(key) or () if isinstance(r, Mapping))
        for key in ("ingress", "egress", "ingressDeny", "egressDeny")
        if spec.get(key)
    }
    flags = submap(spec, "enableDefaultDeny")
    default_deny = {d: bool(flags.get(d, True)) for d in ("ingress", "egress")}
    peers = {
        (section, index): tuple(_prepared(sel) for sel in item.get(_endpoint_key(section)) or ())
        for section, items in sections.items()
        for index, item in enumerate(items)
    }
    selector = _normal(spec.get("endpointSelector"))
    return _Rule(namespace, selector, sections, default_deny, obj.ref, peers)


def _endpoint_key(section: str) -> str:
    return "fromEndpoints" if section.startswith("ingress") else "toEndpoints"


def _prepared(selector: Any) -> tuple[Any, bool]:
    normal = _normal(selector)
    if not isinstance(normal, Mapping):
        return normal, False
    names_ns = any(k in _NS_KEYS for k in normal.get("matchLabels", {})) or any(
        isinstance(e, Mapping) and e.get("key") in _NS_KEYS
        for e in normal.get("matchExpressions", ())
    )
    return normal, names_ns


_PEER_KEYS = ("Endpoints", "Entities", "CIDR", "CIDRSet", "FQDNs", "Nodes")


def _peer_matches(
    item: Mapping[str, Any], direction: str, rule: _Rule, other: Peer, where: tuple[str, int]
) -> bool:
    prefix = "from" if direction == "ingress" else "to"
    keys = [prefix + k for k in _PEER_KEYS if prefix + k in item]
    if not keys:
        return bool(item.get("toPorts") or item.get("icmps"))  # L4-only rules match any peer
    if other.kind == "kubelet":
        return _entities(item.get(prefix + "Entities"), other)
    if other.kind == "external":
        return _external(item, prefix, other)
    return _endpoints(rule.peers.get(where, ()), rule, other) or _entities(
        item.get(prefix + "Entities"), other
    )


def _endpoints(selectors: Iterable[tuple[Any, bool]], rule: _Rule, other: Peer) -> bool:
    labels = _identity(other)
    for normal, names_ns in selectors:
        if rule.namespace is not None and not names_ns and other.namespace != rule.namespace:
            continue
        if selector_matches(normal, labels):
            return True
    return False


def _entities(entities: Any, other: Peer) -> bool:
    names = {str(e) for e in entities or ()}
    if "all" in names:
        return True
    if other.kind == "kubelet":
        return "host" in names or "cluster" in names
    if other.kind == "external":
        return "world" in names or "world-ipv4" in names
    return "cluster" in names


def _external(item: Mapping[str, Any], prefix: str, other: Peer) -> bool:
    if _entities(item.get(prefix + "Entities"), other):
        return True
    if other.address is not None:
        address = ipaddress.ip_address(other.address)
        for cidr, excepts in _cidr_sets(item, prefix):
            if address in cidr and not any(address in e for e in excepts):
                return True
    if prefix == "to" and other.hosts:
        return any(_fqdn(f, other.hosts[0]) for f in item.get("toFQDNs") or ())
    return False


def _cidr_sets(
    item: Mapping[str, Any], prefix: str
) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, list[Any]]]:
    out: list[tuple[Any, list[Any]]] = []
    for cidr in item.get(prefix + "CIDR") or ():
        out.append((ipaddress.ip_network(str(cidr), strict=False), []))
    for entry in item.get(prefix + "CIDRSet") or ():
        if isinstance(entry, Mapping) and entry.get("cidr"):
            excepts = [
                ipaddress.ip_network(str(e), strict=False) for e in entry.get("except") or ()
            ]
            out.append((ipaddress.ip_network(str(entry["cidr"]), strict=False), excepts))
    return out


def _cidrs(item: Mapping[str, Any], prefix: str) -> list[str]:
    return [str(c) for c, _ in _cidr_sets(item, prefix)]


def _fqdn(entry: Any, host: str) -> bool:
    if not isinstance(entry, Mapping):
        return False
    if entry.get("matchName"):
        return str(entry["matchName"]).rstrip(".").lower() == host.lower()
    pattern = str(entry.get("matchPattern") or "")
    regex = "".join("[-a-zA-Z0-9_.]*" if c == "*" else re.escape(c) for c in pattern.rstrip("."))
    return re.fullmatch(regex, host, re.IGNORECASE) is not None


def _ports_match(item: Mapping[str, Any], request: Request, *, l7: bool) -> bool:
    entries = item.get("toPorts")
    if not entries:
        return True
    for entry in entries:
        if not isinstance(entry, Mapping) or not _port_listed(
            entry, request.port, request.protocol
        ):
            continue
        if not l7 or _l7_matches(entry.get("rules"), request):
            return True
    return False


def _port_listed(entry: Any, port: int, protocol: str) -> bool:
    ports = (entry or {}).get("ports") if isinstance(entry, Mapping) else None
    if not ports:
        return True
    for spec in ports:
        if not isinstance(spec, Mapping):
            continue
        proto = str(spec.get("protocol") or "ANY").upper()
        if proto not in ("ANY", protocol):
            continue
        number = str(spec.get("port") or "0")
        if not number.isdigit():
            continue
        low = int(number)
        high = int(spec.get("endPort") or low)
        if low == 0 or low <= port <= high:
            return True
    return False


def _named_ports(rule: Any) -> list[str]:
    if not isinstance(rule, Mapping):
        return []
    return [
        str(spec["port"])
        for entry in rule.get("toPorts") or ()
        for spec in (entry or {}).get("ports") or ()
        if isinstance(spec, Mapping)
        and spec.get("port") is not None
        and not str(spec["port"]).isdigit()
    ]


def _listed_ports(item: Mapping[str, Any]) -> list[int]:
    out: list[int] = []
    for entry in item.get("toPorts") or ():
        for spec in (entry or {}).get("ports") or ():
            number = str((spec or {}).get("port") or "")
            if number.isdigit() and number != "0":
                out.append(int(number))
    return out


def _l7_matches(rules: Any, request: Request) -> bool:
    http = rules.get("http") if isinstance(rules, Mapping) else None
    if not http:
        return True  # no HTTP rules (or DNS/Kafka rules on a plain connection): L4 decides
    if request.method is None and request.path is None:
        return False
    return any(_http_rule(rule, request) for rule in http if isinstance(rule, Mapping))


def _http_rule(rule: Mapping[str, Any], request: Request) -> bool:
    if rule.get("headers") or rule.get("headerMatches") or rule.get("host"):
        return False  # request headers are not modelled: such a rule is not assumed to match
    method, path = rule.get("method"), rule.get("path")
    if method and not _full(str(method), request.method or ""):
        return False
    return not (path and not _full(str(path), request.path or ""))


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _full(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is not None and compiled.fullmatch(value) is not None


def _sample(pattern: Any, *, glob: bool = False) -> str | None:
    """A string the regular expression (or ``*`` glob) matches, good enough for probing."""
    if not pattern:
        return None
    text = str(pattern)
    if glob:
        return text.replace("*", "sample").rstrip(".")
    text = text.replace(".*", "sample").replace(".+", "sample").replace("\\", "")
    text = re.sub(r"\[[^\]]*\]", "a", text)
    return re.sub(r"[\^$()?+*|]", "", text)
