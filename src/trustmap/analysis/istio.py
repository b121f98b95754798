"""Istio policy evaluation: AuthorizationPolicy, PeerAuthentication, Sidecar and ServiceEntry.

Semantics (Istio reference and concepts pages):
* AuthorizationPolicy scope: a policy in the root namespace (``istio-system``) applies mesh-wide,
  one elsewhere to its namespace; ``selector`` narrows to matching workloads
  (https://istio.io/latest/docs/reference/config/security/authorization-policy/).
* Order: CUSTOM, then DENY (any match denies), then ALLOW: when any ALLOW policy applies to the
  workload a request must match one, otherwise it is allowed; an ALLOW policy without rules
  matches nothing (allow-nothing); a rule ``{}`` matches everything
  (https://istio.io/latest/docs/concepts/security/#implicit-enablement).
* ``istio.io/dry-run: "true"``: the policy is evaluated and logged, not enforced
  (https://istio.io/latest/docs/tasks/security/authorization/authz-dry-run/). A request that
  passes only because of it is reported as "would deny".
* Within a rule, ``from``/``to`` entries are ORed, fields inside one ANDed, values of one field
  ORed; ``not*`` fields negate; values match exactly, by prefix ``abc*``, suffix ``*abc``, or
  ``*`` for any non-empty value.
* HTTP-only fields (hosts, methods, paths, requestPrincipals) on TCP traffic: an ALLOW rule using
  them never matches, a DENY rule is matched as if they were absent
  (https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/).
* principals and namespaces come from the peer's mTLS certificate
  (``<trust-domain>/ns/<ns>/sa/<sa>``); a plaintext client has none.
* PeerAuthentication: workload selector (with ``portLevelMtls``) over namespace over root
  namespace; ``UNSET`` inherits; the default is PERMISSIVE
  (https://istio.io/latest/docs/reference/config/security/peer_authentication/). STRICT rejects
  plaintext clients.
* Sidecar: a workload's own Sidecar (selector) over its namespace's over the root namespace's;
  ``egress[].hosts`` ``ns/dnsName`` with ``*``, ``.`` (own namespace) and ``~`` (nothing); with
  ``outboundTrafficPolicy: REGISTRY_ONLY`` hosts outside that list or the registry (Services,
  ServiceEntries) are blocked (https://istio.io/latest/docs/reference/config/networking/sidecar/).
  A ServiceEntry with ``addresses`` claims traffic to those addresses on its ports
  (https://istio.io/latest/docs/reference/config/networking/service-entry/, ``addresses``).
  An egress listener with a ``port`` imports its hosts on that port only (istio/istio
  pilot/pkg/model/sidecar.go ``needsPortMatch``, pilot/pkg/networking/core/listener.go).
* Kubelet probes are rewritten by the injector to the agent's status port 15020; the agent calls
  the app from 127.0.0.6, which the sidecar's iptables return before the inbound redirect, so the
  probe never meets AuthorizationPolicy or mTLS
  (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/; istio/istio
  ``pilot/cmd/pilot-agent/status/server.go`` ``UpstreamLocalAddressIPv4``,
  ``tools/istio-iptables/pkg/capture/run.go``, rule ``-o lo -s 127.0.0.6/32 -j RETURN``).
* Unless the rewrite is off: the pod template's ``sidecar.istio.io/rewriteAppHTTPProbers`` as Go's
  ``strconv.ParseBool`` reads it, else the install's ``values.sidecarInjectorWebhook.rewriteAppHTTPProbe``
  (default true; istio/istio ``pkg/kube/inject/app_probe.go`` ``ShouldRewriteAppHTTPProbers``,
  ``manifests/charts/istio-control/istio-discovery/values.yaml``), which the Organization declares
  as ``spec.istio.rewriteAppProbers`` and this evaluator takes as ``rewrite_app_probers``
  (:func:`istio_rewrites`). Then the kubelet's request goes to the app port as written and
  the inbound listener captures it: plain text from the node, no client certificate, so STRICT
  mTLS on that port refuses it, and under PERMISSIVE the AuthorizationPolicies decide with no
  principal or namespace. An HTTPS probe is one-way TLS without an Istio ALPN, which the
  PERMISSIVE listener passes as opaque TCP (``pilot/pkg/networking/core/filterchain_options.go``),
  so it is judged as a TCP connection. A TCP probe only connects, and the kernel completes the
  handshake on the sidecar's listening socket before Envoy reads a byte: it always succeeds (which
  is why the injector rewrites TCP probes too; app-health-check page).
* Inbound capture: istio-iptables sends inbound TCP to the sidecar on every port but the pod's
  ``traffic.sidecar.istio.io/excludeInboundPorts`` when ``includeInboundPorts`` is ``*`` (the
  injection template's default), on the listed ports only otherwise, on none when it is empty
  (istio/istio ``tools/istio-iptables/pkg/capture/run.go`` ``handleInboundPortsInclude``). A
  request to an uncaptured port reaches the app directly: no mTLS, no AuthorizationPolicy, for
  pods and the kubelet alike (the caller's own sidecar still decides its outbound side).
* UDP (DNS) is not intercepted by the sidecar.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from trustmap.analysis.istio_capture import (
    istio_rewrites,
    kubelet_probe,
    probes_rewritten,
    uncaptured,
)
from trustmap.analysis.platform import (
    Decision,
    Obj,
    ObjectRef,
    Peer,
    Request,
    glob_match,
    mappings,
    normalized_path,
    selector_matches,
)

__all__ = [
    "ROOT_NAMESPACE",
    "IstioEvaluator",
    "istio_rewrites",
    "principal",
    "probes_rewritten",
    "uncaptured",
]

ROOT_NAMESPACE = "istio-system"
DRY_RUN = "istio.io/dry-run"
_HTTP_SOURCE = ("requestPrincipals", "notRequestPrincipals")
_HTTP_OPERATION = ("hosts", "notHosts", "methods", "notMethods", "paths", "notPaths")


def principal(peer: Peer, trust_domain: str = "cluster.local") -> str:
    """The SPIFFE principal Istio gives a pod's mTLS identity (without ``spiffe://``)."""
    return f"{trust_domain}/ns/{peer.namespace}/sa/{peer.service_account}"


def _value(pattern: str, value: str) -> bool:
    if pattern == "*":
        return value != ""
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def _path(pattern: str, value: str) -> bool:
    """Path values: ``_value`` forms, or templates where ``{*}`` is one segment, ``{**}`` any."""
    if "{*}" not in pattern and "{**}" not in pattern:
        return _value(pattern, value)
    parts = re.split(r"(\{\*\*\}|\{\*\})", pattern)
    regex = "".join(".*" if p == "{**}" else "[^/]+" if p == "{*}" else re.escape(p) for p in parts)
    return re.fullmatch(regex, value) is not None


class IstioEvaluator:
    """Answers requests with Istio's sidecar-mode semantics for the given objects."""

    def __init__(
        self,
        objects: Sequence[Obj],
        peers: Sequence[Peer],
        *,
        trust_domain: str = "cluster.local",
        root_namespace: str = ROOT_NAMESPACE,
        rewrite_app_probers: bool = True,
    ) -> None:
        self.trust_domain = trust_domain
        self.rewrite_app_probers = rewrite_app_probers
        self.root = root_namespace
        self.peers = tuple(peers)
        self.policies = [o for o in objects if o.kind == "AuthorizationPolicy"]
        self.peer_auth = [o for o in objects if o.kind == "PeerAuthentication"]
        self.sidecars = [o for o in objects if o.kind == "Sidecar"]
        self.entries = [o for o in objects if o.kind == "ServiceEntry"]
        self.problems: list[tuple[ObjectRef, str]] = []
        self._applying: dict[str, tuple[Obj, ...]] = {}
        self._sidecar: dict[str, Obj | None] = {}
        self._mtls: dict[tuple[str, int], tuple[str, ObjectRef | None]] = {}
        self._policies_by_ns: dict[str, list[Obj]] = {}
        for policy in self.policies:
            self._policies_by_ns.setdefault(policy.namespace or "default", []).append(policy)
        self._sidecars_by_ns: dict[str, list[Obj]] = {}
        for sidecar in self.sidecars:
            self._sidecars_by_ns.setdefault(sidecar.namespace or "default", []).append(sidecar)
        self._by_principal: dict[str, list[Peer]] = {}
        self._by_namespace: dict[str, list[Peer]] = {}
        for peer in self.peers:
            self._by_principal.setdefault(principal(peer, trust_domain), []).append(peer)
            self._by_namespace.setdefault(peer.namespace, []).append(peer)
        for policy in self.policies:
            self._check(policy)

    def unsupported(self) -> Sequence[tuple[ObjectRef, str]]:
        return self.problems

    def _check(self, policy: Obj) -> None:
        spec = policy.spec
        if spec.get("targetRef") or spec.get("targetRefs"):
            self.problems.append(
                (policy.ref, "targetRef (waypoint/gateway) policies are not evaluated")
            )
        if spec.get("action") == "CUSTOM":
            self.problems.append(
                (policy.ref, "CUSTOM action delegates to an external authorizer: not evaluated")
            )
        for rule in mappings(spec.get("rules")):
            for cond in mappings(rule.get("when")):
                key = str(cond.get("key", ""))
                if key not in (
                    "source.principal",
                    "source.namespace",
                    "destination.port",
                    "source.ip",
                ):
                    self.problems.append(
                        (policy.ref, f"condition {key} is not evaluated (never matches)")
                    )

    # --- scope -------------------------------------------------------------------------------

    def _scoped(self, obj: Obj, peer: Peer, key: str = "selector") -> bool:
        namespace = obj.namespace or "default"
        if namespace not in (self.root, peer.namespace):
            return False
        selector = obj.spec.get(key)
        if selector is None:
            return True
        labels = selector.get("matchLabels") if key == "selector" else selector.get("labels")
        return selector_matches({"matchLabels": labels or {}}, peer.label_map)

    def applying(self, peer: Peer) -> tuple[Obj, ...]:
        """AuthorizationPolicies that apply to ``peer`` (targetRef ones excluded)."""
        found = self._applying.get(peer.id)
        if found is None:
            candidates = [*self._policies_by_ns.get(self.root, ())]
            if peer.namespace != self.root:
                candidates += self._policies_by_ns.get(peer.namespace, ())
            found = tuple(
                p
                for p in candidates
                if not (p.spec.get("targetRef") or p.spec.get("targetRefs"))
                and self._scoped(p, peer)
            )
            self._applying[peer.id] = found
        return found

    # --- decision ----------------------------------------------------------------------------

    def decide(self, request: Request) -> Decision:
        path = normalized_path(request.path, merge_slashes=False)
        if path != request.path:
            request = replace(request, path=path)
        if request.source.kind == "kubelet":
            probe = kubelet_probe(request, self.rewrite_app_probers)
            if probe is not None:
                return probe
            if request.tls:  # one-way TLS: the listener sees opaque TCP
                request = replace(request, method=None, path=None)
        if request.protocol == "UDP":
            return Decision(True, why="UDP is not intercepted by the sidecar")
        route = self._outbound(request)
        if not route.allowed:
            return route
        if request.target.kind == "external":
            return route
        bypass = uncaptured(request.target, request.port)
        if bypass is not None:
            why = f"the sidecar does not capture inbound port {request.port} ({bypass})"
            return Decision(True, why=why)
        plaintext = not request.source.meshed or route.why == "passthrough"
        mode, ref = self.mtls_mode(request.target, request.port)
        if plaintext and mode == "STRICT":
            return Decision(False, (ref,) if ref else (), why="STRICT mTLS rejects plaintext")
        enforced = self._authorize(request, plaintext, dry_run=False)
        if not enforced.allowed:
            return enforced
        shadow = self._authorize(request, plaintext, dry_run=True)
        if not shadow.allowed:
            return Decision(True, shadow.by, audit=True, why="a dry-run policy would deny it")
        return enforced

    def _authorize(self, request: Request, plaintext: bool, *, dry_run: bool) -> Decision:
        policies = [
            p
            for p in self.applying(request.target)
            if dry_run or p.annotations.get(DRY_RUN, "false").lower() != "true"
        ]
        for policy in policies:
            if policy.spec.get("action") == "DENY" and self._matches(
                policy, request, plaintext, deny=True
            ):
                return Decision(False, (policy.ref,), why="DENY policy matches")
        allows = [p for p in policies if p.spec.get("action", "ALLOW") == "ALLOW"]
        if not allows:
            return Decision(True, why="no ALLOW policy applies")
        for policy in allows:
            if self._matches(policy, request, plaintext, deny=False):
                return Decision(True, (policy.ref,))
        return Decision(False, tuple(p.ref for p in allows), why="no ALLOW policy matches")

    def _matches(self, policy: Obj, request: Request, plaintext: bool, *, deny: bool) -> bool:
        for rule in policy.spec.get("rules") or ():
            if isinstance(rule, Mapping) and self._rule(rule, request, plaintext, deny):
                return True
        return False

    def _rule(self, rule: Mapping[str, Any], request: Request, plaintext: bool, deny: bool) -> bool:
        froms = [f.get("source") or {} for f in rule.get("from") or () if isinstance(f, Mapping)]
        tos = [t.get("operation") or {} for t in rule.get("to") or () if isinstance(t, Mapping)]
        if "from" in rule and not any(self._source(s, request, plaintext, deny) for s in froms):
            return False
        if "to" in rule and not any(self._operation(o, request, deny) for o in tos):
            return False
        return all(self._when(c, request, plaintext) for c in rule.get("when") or ())

    def _source(
        self, source: Mapping[str, Any], request: Request, plaintext: bool, deny: bool
    ) -> bool:
        tcp = request.method is None
        who = "" if plaintext else principal(request.source, self.trust_domain)
        namespace = "" if plaintext else request.source.namespace
        values = {"principals": who, "namespaces": namespace, "requestPrincipals": ""}
        for field, value in values.items():
            if tcp and field in _HTTP_SOURCE:
                if not deny and source.get(field) is not None:
                    return False
                continue
            if not _field(source, field, value):
                return False
        return _blocks(source, request.source)

    def _operation(self, operation: Mapping[str, Any], request: Request, deny: bool) -> bool:
        if request.method is None and any(operation.get(f) is not None for f in _HTTP_OPERATION):
            if not deny:
                return False
            operation = {k: v for k, v in operation.items() if k not in _HTTP_OPERATION}
        path = (request.path or "").split("?", 1)[0]
        host = request.target.hosts[0] if request.target.hosts else ""
        checks = (
            ("ports", str(request.port), _value),
            ("methods", request.method or "", _value),
            ("paths", path, _path),
            ("hosts", host, _value),
        )
        for field, value, match in checks:
            wanted = operation.get(field)
            if wanted is not None and not any(match(str(p), value) for p in wanted):
                return False
            negated = operation.get("not" + field[0].upper() + field[1:])
            if negated is not None and any(match(str(p), value) for p in negated):
                return False
        return True

    def _when(self, cond: Any, request: Request, plaintext: bool) -> bool:
        if not isinstance(cond, Mapping):
            return False
        key = str(cond.get("key", ""))
        actual = {
            "source.principal": "" if plaintext else principal(request.source, self.trust_domain),
            "source.namespace": "" if plaintext else request.source.namespace,
            "destination.port": str(request.port),
        }.get(key)
        if actual is None:
            return False
        values, nots = cond.get("values"), cond.get("notValues")
        if values is not None and not any(_value(str(v), actual) for v in values):
            return False
        return not (nots is not None and any(_value(str(v), actual) for v in nots))

    # --- mTLS ----------------------------------------------------------------------------------

    def mtls_mode(self, target: Peer, port: int) -> tuple[str, ObjectRef | None]:
        """The effective PeerAuthentication mode on ``target``'s ``port``, and who set it."""
        key = (target.id, port)
        found = self._mtls.get(key)
        if found is None:
            found = self._mtls[key] = self._mtls_uncached(target, port)
        return found

    def _mtls_uncached(self, target: Peer, port: int) -> tuple[str, ObjectRef | None]:
        layers = (
            [
                p
                for p in self.peer_auth
                if (p.namespace or "default") == target.namespace
                and p.spec.get("selector")
                and self._scoped(p, target)
            ],
            [
                p
                for p in self.peer_auth
                if (p.namespace or "default") == target.namespace and not p.spec.get("selector")
            ],
            [
                p
                for p in self.peer_auth
                if (p.namespace or "default") == self.root and not p.spec.get("selector")
            ],
        )
        for index, layer in enumerate(layers):
            for obj in layer:
                mode = _port_mode(obj, port) if index == 0 else None
                mode = mode or str((obj.spec.get("mtls") or {}).get("mode") or "UNSET")
                if mode != "UNSET":
                    return mode, obj.ref
        return "PERMISSIVE", None

    # --- outbound (Sidecar, registry) ------------------------------------------------------

    def sidecar_of(self, peer: Peer) -> Obj | None:
        """The Sidecar that configures ``peer``'s proxy, if any."""
        if peer.id not in self._sidecar:
            self._sidecar[peer.id] = self._sidecar_uncached(peer)
        return self._sidecar[peer.id]

    def _sidecar_uncached(self, peer: Peer) -> Obj | None:
        own = self._sidecars_by_ns.get(peer.namespace, [])
        for sidecar in own:
            if sidecar.spec.get("workloadSelector") and self._scoped(
                sidecar, peer, "workloadSelector"
            ):
                return sidecar
        for sidecar in own:
            if not sidecar.spec.get("workloadSelector"):
                return sidecar
        for sidecar in self.sidecars:
            if (sidecar.namespace or "default") == self.root and not sidecar.spec.get(
                "workloadSelector"
            ):
                return sidecar
        return None

    def _outbound(self, request: Request) -> Decision:
        source = request.source
        if source.kind != "pod" or not source.meshed:
            return Decision(True)
        sidecar = self.sidecar_of(source)
        if sidecar is None:
            return Decision(True, why="no Sidecar: every host visible")
        target = request.target
        hosts = target.hosts or self._address_hosts(target, request.port)
        namespace = target.namespace if target.kind == "pod" else ""
        registered = target.kind == "pod" or self._registered(target)
        if (
            hosts
            and registered
            and any(
                _host(h, sidecar, namespace, hh)
                for h in _hosts(sidecar, request.port)
                for hh in hosts
            )
        ):
            return Decision(True, (sidecar.ref,))
        mode = str((sidecar.spec.get("outboundTrafficPolicy") or {}).get("mode") or "ALLOW_ANY")
        if mode == "REGISTRY_ONLY":
            return Decision(
                False, (sidecar.ref,), why="host not in the Sidecar's egress (REGISTRY_ONLY)"
            )
        return Decision(True, (sidecar.ref,), why="passthrough")

    def _address_hosts(self, target: Peer, port: int) -> tuple[str, ...]:
        """Hosts of the ServiceEntries whose ``addresses`` hold ``target``'s address on ``port``:
        Istio tells opaque TCP destinations apart by address, and a Sidecar imports a
        ServiceEntry by its host."""
        if target.address is None:
            return ()
        found: list[str] = []
        for entry in self.entries:
            spec = entry.spec
            if not _in_addresses(target.address, spec.get("addresses") or ()):
                continue
            numbers = {str(p.get("number")) for p in mappings(spec.get("ports"))}
            if not numbers or str(port) in numbers:
                found += [str(h) for h in spec.get("hosts") or ()]
        return tuple(found)

    def _registered(self, target: Peer) -> bool:
        for entry in self.entries:
            spec = entry.spec
            if target.hosts and any(
                glob_match(str(h), target.hosts[0]) for h in spec.get("hosts") or ()
            ):
                return True
            if target.address and _in_addresses(target.address, spec.get("addresses") or ()):
                return True
        return False

    def enforces_egress(self, source: Peer) -> bool:
        """Whether ``source``'s calls out of the cluster are limited (REGISTRY_ONLY)."""
        sidecar = self.sidecar_of(source)
        policy = (sidecar.spec.get("outboundTrafficPolicy") or {}) if sidecar else {}
        return policy.get("mode") == "REGISTRY_ONLY"

    # --- candidates --------------------------------------------------------------------------

    def named_sources(self, target: Peer) -> Iterable[Peer]:
        for policy in self.applying(target):
            for rule in policy.spec.get("rules") or ():
                for entry in (rule or {}).get("from") or ():
                    source = (entry or {}).get("source") or {}
                    for peer in self._named(source):
                        if peer.id != target.id:
                            yield peer

    def _named(self, source: Mapping[str, Any]) -> Iterable[Peer]:
        """Peers a source's principals or namespaces name (exact values through the indexes)."""
        for value in source.get("principals") or ():
            text = str(value)
            if "*" in text:
                yield from (p for p in self.peers if _value(text, principal(p, self.trust_domain)))
            else:
                yield from self._by_principal.get(text, ())
        for value in source.get("namespaces") or ():
            text = str(value)
            if "*" in text:
                yield from (p for p in self.peers if _value(text, p.namespace))
            else:
                yield from self._by_namespace.get(text, ())

    def named_ports(self, target: Peer) -> Iterable[int]:
        for operation in self._operations(target):
            for port in operation.get("ports") or ():
                if str(port).isdigit():
                    yield int(port)

    def named_routes(self, target: Peer, port: int) -> Iterable[tuple[str | None, str | None]]:
        for operation in self._operations(target):
            ports = operation.get("ports")
            if ports is not None and str(port) not in [str(p) for p in ports]:
                continue
            for method in operation.get("methods") or [None]:
                for path in operation.get("paths") or [None]:
                    yield (None if method in (None, "*") else str(method)), _sample_path(path)

    def _operations(self, target: Peer) -> Iterable[Mapping[str, Any]]:
        for policy in self.applying(target):
            for rule in policy.spec.get("rules") or ():
                for entry in (rule or {}).get("to") or ():
                    operation = (entry or {}).get("operation")
                    if isinstance(operation, Mapping):
                        yield operation


def _field(source: Mapping[str, Any], field: str, value: str) -> bool:
    wanted = source.get(field)
    if wanted is not None and not any(_value(str(p), value) for p in wanted):
        return False
    negated = source.get("not" + field[0].upper() + field[1:])
    return not (negated is not None and any(_value(str(p), value) for p in negated))


def _blocks(source: Mapping[str, Any], peer: Peer) -> bool:
    blocks = source.get("ipBlocks") or source.get("remoteIpBlocks")
    if blocks is None:
        return True
    return peer.address is not None and _in_addresses(peer.address, blocks)


def _in_addresses(address: str, blocks: Iterable[Any]) -> bool:
    ip = ipaddress.ip_address(address)
    for block in blocks:
        try:
            if ip in ipaddress.ip_network(str(block), strict=False):
                return True
        except ValueError:
            continue
    return False


def _port_mode(obj: Obj, port: int) -> str | None:
    levels = obj.spec.get("portLevelMtls")
    if not isinstance(levels, Mapping):
        return None
    entry = levels.get(port) or levels.get(str(port))
    mode = (entry or {}).get("mode") if isinstance(entry, Mapping) else None
    return str(mode) if mode and mode != "UNSET" else None


def _hosts(sidecar: Obj, port: int) -> list[str]:
    """Hosts the Sidecar imports on ``port``: those of listeners without a port, and of
    listeners whose ``port.number`` is ``port`` (a listener with a port is built on that port
    only)."""
    found: list[str] = []
    for listener in sidecar.spec.get("egress") or ():
        scope = (listener or {}).get("port")
        if scope is not None and str((scope or {}).get("number")) != str(port):
            continue
        found += [str(h) for h in (listener or {}).get("hosts") or ()]
    return found


def _host(entry: str, sidecar: Obj, namespace: str, host: str) -> bool:
    ns_part, _, dns = entry.partition("/")
    if ns_part == "~":
        return False
    own = sidecar.namespace or "default"
    if namespace == "":  # outside the cluster: a ServiceEntry of the Sidecar's namespace
        if ns_part not in ("*", own, "."):
            return False
    elif ns_part not in ("*", namespace) and not (ns_part == "." and namespace == own):
        return False
    return glob_match(dns, host) if "*" in dns else dns == host


def _sample_path(path: Any) -> str | None:
    if path is None or path == "*":
        return None
    text = str(path).replace("{**}", "a/b").replace("{*}", "a")
    if text.startswith("*"):
        return "/sample" + text[1:]
    return text.replace("*", "sample")
