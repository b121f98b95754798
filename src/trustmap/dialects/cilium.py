r"""CiliumNetworkPolicy: the Kubernetes policies' L3/L4 meaning, plus what only Cilium can say.

Same objects as :class:`~trustmap.dialects.kubernetes.Kubernetes` (default deny per namespace,
ingress and egress per service), written as ``cilium.io/v2`` with: L7 ``http`` rules for routes and
gRPC methods (``POST /pkg.Service/Method``), ``toFQDNs`` with the DNS-proxy rule that makes them work
(the pod's lookups must pass through Cilium's DNS proxy for it to learn the addresses), and
``toEntities: [kube-apiserver]`` instead of API server addresses.

HTTP paths mean what docs/format.md says on every target: Cilium matches its path regular
expression against the whole ``:path``, query string included, so each path is compiled to allow
any query string (``/cart`` → ``/cart(\?.*)?``) and ``*`` never runs into the query. Host wildcards
``*.example.com`` mean one or more labels, which Cilium writes ``**.example.com``.

Platform traffic: the kubelet probes from the node, Cilium's ``host`` identity, which the agent's
``allow-localhost`` (``always`` on Kubernetes) lets into every pod; on a port the world reaches
under HTTP rules (``fromEntities: [all]``, the host among them) its requests go through Cilium's
proxy, which gives the host no L7 rules (docs/verify.md, "Cilium", has the sources). No rule is
written for probes. An HTTPS probe of such a port fails, though: the proxy reads HTTP, not TLS
(TM314, with ``--manifests``).

A cluster whose agent runs ``--allow-localhost=policy`` (the Organization's
``spec.cilium.allowLocalhost: policy``) gives the host no such pass: it is a peer like any other,
held by default deny and by the HTTP rules of the rules that select it. There, with the workloads'
manifests, each service's ingress policy allows the host on every port a probe checks
(``fromEntities: [host]``, one rule per port, traced to the probes' manifest lines): on a port
whose rules carry HTTP rules (Cilium proxies it) the host gets HTTP rules for exactly its probe
requests (``GET`` of each ``httpGet`` path, any query string; ``POST`` of the gRPC health check),
unless a TCP or HTTPS probe checks the port too (a connect or a TLS handshake has no request to
match: the rule is L4 only, and lets the host send any request there); on any other port the rule
is L4 only, so no port is pushed through the proxy for the probes. Without manifests that is TM307:
the output blocks every probe. Audit namespaces get no objects at all (below), so nothing holds
the host there.

Audit mode: Cilium has no dry run per policy. Its audit mode (``policy-audit-mode``) is an agent or
endpoint setting, and a policy with ``enableDefaultDeny: false`` gives no AUDIT verdict at all (it
only stops that policy from turning default deny on), so nothing is written for an audit
namespace; a TM312 finding says so and how to get would-be drops (docs/cli.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from trustmap.dialects.emit import block, item
from trustmap.dialects.kubernetes import Kubernetes, distinct, peer_keys
from trustmap.dialects.plan import Call, Grant, Outbound
from trustmap.dialects.pods import Probe, probe_route
from trustmap.dialects.provenance import Source, source
from trustmap.dialects.routes import Route, parse_route
from trustmap.manifests import (
    CiliumEgressRule,
    CiliumFQDN,
    CiliumHTTPRule,
    CiliumIngressRule,
    CiliumNetworkPolicy,
    CiliumNetworkPolicySpec,
    CiliumPort,
    CiliumPortRule,
    LabelSelector,
    Manifest,
)
from trustmap.model import Egress, Labels, PortSpec, Service

__all__ = ["NAMESPACE_KEY", "Cilium"]

NAMESPACE_KEY = "k8s:io.kubernetes.pod.namespace"
"""The label Cilium gives every endpoint: its namespace."""

_ALL_PORTS: tuple[PortSpec, ...] = ()


class Cilium(Kubernetes):
    """``cilium.io/v2`` CiliumNetworkPolicy."""

    TARGET = "cilium"
    SUPPORTS_L7 = True
    SUPPORTS_FQDN = True
    AUDIT_NOTE = "audit mode: not written for cilium (TM312)"

    def namespace_objects(self, namespace: str, services: list[Service]) -> None:
        """Default deny; nothing for an audit namespace (TM312: Cilium has no dry-run policy)."""
        if self.mode(namespace) == "audit":
            self._no_dry_run(namespace)
            return
        super().namespace_objects(namespace, services)

    def service_objects(self, service: Service) -> None:
        """As for NetworkPolicy, outside audit namespaces; under ``allow-localhost=policy`` an
        ingress policy also for a service nobody calls but the kubelet probes."""
        if self.mode(service.ref.namespace) == "audit":
            return
        if not self._host_rules(service) or self.grants(service):
            super().service_objects(service)
            return
        if self.text:
            self.emit_text(service.ref.namespace, self.ingress_text(service, ()))
        else:
            self.emit(service.ref.namespace, self.ingress_policy(service, ()))
        outbound = self.outbound(service)
        if outbound:
            super().service_objects(service)  # no grants: writes the egress policy alone

    def needs_probes(self) -> bool:
        """Under ``allow-localhost=policy`` (``spec.cilium``) the output must allow the probes."""
        org = self.organization
        return org is not None and org.cilium.host_is_peer

    def _no_dry_run(self, namespace: str) -> None:
        org = self.organization
        self.unsupported(
            "TM312",
            org.span if org else None,
            f"cilium has no dry run per policy: no CiliumNetworkPolicy is written for namespace "
            f"{namespace} (audit in environment {self.environment}); a policy with "
            "enableDefaultDeny off would allow everything and report nothing",
            "to see would-be drops, turn on Cilium policy audit mode (Helm policyAuditMode=true, "
            "or per endpoint: cilium-dbg endpoint config <id> PolicyAuditMode=Enabled), compile "
            "this namespace with an enforce environment, apply it and read hubble observe "
            "--verdict AUDIT; see docs/cli.md",
        )

    def default_deny(self, namespace: str) -> Manifest:
        """Select every endpoint with empty rules: default deny, nothing allowed."""
        source = self.organization_source("zero trust: deny all traffic that is not declared")
        spec: CiliumNetworkPolicySpec = {"endpointSelector": {}, "ingress": [{}], "egress": [{}]}
        return self._cnp(self.DEFAULT_DENY, namespace, [source], spec)

    def allow_all(self, namespace: str) -> Manifest | None:
        """None: audit namespaces get no Cilium objects at all (TM312)."""
        return None

    def ingress_policy(self, service: Service, grants: tuple[Grant, ...]) -> Manifest:
        """Declared callers on container ports, with their methods as HTTP rules."""
        namespace = service.ref.namespace
        self._tls_probes(service, grants)
        host = self._host_rules(service, grants)
        spec: CiliumNetworkPolicySpec = {
            "endpointSelector": _selector(service.workload.pod_labels),
            "ingress": [*(self._cnp_ingress_rule(g) for g in grants), *(r for r, _ in host)],
        }
        sources = self.grant_sources(grants) + [s for _, found in host for s in found]
        name = self.name("CiliumNetworkPolicy", namespace, service.ref.name, "ingress")
        return self._cnp(name, namespace, sources, spec)

    def egress_policy(self, service: Service, outbound: Outbound) -> Manifest:
        """DNS (through the DNS proxy when host names are allowed), targets, outside."""
        namespace = service.ref.namespace
        proxy = any(e.host is not None for e in outbound.external)
        rules: list[CiliumEgressRule] = self._cnp_dns_rules(proxy) if outbound.dns else []
        rules += [self._cnp_call_rule(target, calls) for target, calls in outbound.by_target()]
        rules += [self._cnp_external_rule(e) for e in outbound.external]
        spec: CiliumNetworkPolicySpec = {
            "endpointSelector": _selector(service.workload.pod_labels),
            "egress": rules,
        }
        name = self.name("CiliumNetworkPolicy", namespace, service.ref.name, "egress")
        return self._cnp(name, namespace, self.outbound_sources(service, outbound), spec)

    def _cnp(
        self, name: str, namespace: str, sources: list[Source], spec: CiliumNetworkPolicySpec
    ) -> CiliumNetworkPolicy:
        return {
            "apiVersion": "cilium.io/v2",
            "kind": "CiliumNetworkPolicy",
            "metadata": self.metadata(name, namespace, sources),
            "spec": spec,
        }

    # --- the same objects as text (see Compiler.write) ----------------------------------------

    def ingress_text(self, service: Service, grants: tuple[Grant, ...]) -> str:
        """:meth:`ingress_policy` written as a YAML document."""
        namespace = service.ref.namespace
        self._tls_probes(service, grants)
        name = self.name("CiliumNetworkPolicy", namespace, service.ref.name, "ingress")
        host = self._host_rules(service, grants)
        notes = (
            self.notes(self.grant_sources(grants) + [s for _, found in host for s in found])
            if host
            else self.incoming_notes(service, grants)
        )
        parts = [
            _CILIUM_POLICY,
            self.metadata_text(name, namespace, notes),
            "spec:\n",
            self._endpoint_selector(service.workload.pod_labels),
            "  ingress:\n",
        ]
        for grant in grants:
            interface = grant.interface
            methods = grant.methods
            key = ("@to-ports", interface.port, interface.protocol, methods)
            to_ports = self._fragments.get(key)
            if to_ports is None:
                port_rule: CiliumPortRule = {"ports": [_port(interface.port, interface.protocol)]}
                if methods:
                    port_rule["rules"] = {"http": _http_rules(methods)}
                to_ports = self.entries(key, {"toPorts": [port_rule]}, "    ")
            if grant.world:
                parts += (_FROM_ALL, to_ports)
                continue
            parts.append("  - fromEndpoints:\n")
            parts += [self._endpoint_text(*k) for k in distinct(peer_keys(grant.callers))]
            parts.append(to_ports)
        parts += [item(rule, "  ") for rule, _ in host]
        return "".join(parts)

    def egress_text(self, service: Service, outbound: Outbound) -> str:
        """:meth:`egress_policy` written as a YAML document."""
        namespace = service.ref.namespace
        name = self.name("CiliumNetworkPolicy", namespace, service.ref.name, "egress")
        parts = [
            _CILIUM_POLICY,
            self.metadata_text(name, namespace, self.outbound_notes(service, outbound)),
            "spec:\n",
            self._endpoint_selector(service.workload.pod_labels),
            "  egress:\n",
        ]
        if outbound.dns:
            proxy = any(e.host is not None for e in outbound.external)
            dns = self._fragments.get(("@dns", proxy))
            if dns is None:
                rules = self._cnp_dns_rules(proxy)
                dns = self._fragments[("@dns", proxy)] = "".join(item(r, "  ") for r in rules)
            parts.append(dns)
        for target, calls in outbound.by_target():
            ports = tuple(distinct((c.interface.port, c.interface.protocol) for c in calls))
            key = ("@call-ports", *ports)
            to_ports = self._fragments.get(key)
            if to_ports is None:
                to_ports = self.entries(
                    key, {"toPorts": [{"ports": [_port(*k) for k in ports]}]}, "    "
                )
            parts += (
                "  - toEndpoints:\n",
                self._endpoint_text(target.ref.namespace, target.workload.pod_labels),
                to_ports,
            )
        parts += [item(self._cnp_external_rule(e), "  ") for e in outbound.external]
        return "".join(parts)

    def _endpoint_selector(self, labels: Labels) -> str:
        return self.selector_text("endpointSelector", labels)

    def _endpoint_text(self, namespace: str, labels: Labels) -> str:
        key = ("@endpoint", namespace, labels)
        found = self._fragments.get(key)
        if found is None:
            if any(k == NAMESPACE_KEY for k, _ in labels):  # the labels override it: as dicts do
                found = self.fragment(key, _endpoint(namespace, labels), "    ")
            else:
                head = self.fragment(("@endpoint", namespace), _endpoint(namespace, ()), "    ")
                found = self._fragments[key] = head + self.labels_text(labels, "        ")
        return found

    def _tls_probes(self, service: Service, grants: tuple[Grant, ...]) -> None:
        """TM314 for each HTTPS probe of a port whose HTTP rules also select the host."""
        pods = self.pods(service)
        proxied = _proxied(grants, everyone=True)
        for probe in pods.probes if pods is not None and proxied else ():
            if probe.port in proxied and probe.action == "httpGet" and probe.scheme != "HTTP":
                self.unsupported(
                    "TM314",
                    probe.span,
                    f"cilium sends every connection to port {probe.port} of {service.ref} through "
                    "its HTTP proxy (exposure: world with methods is fromEntities all with HTTP "
                    f"rules), the kubelet's included, and the {probe.kind} probe speaks HTTPS: "
                    "the proxy cannot read TLS, so the probe fails",
                    "probe over plain HTTP (scheme: HTTP), gRPC or TCP; or, if the port serves "
                    "TLS, declare the interface without methods (Cilium cannot match HTTP inside "
                    "TLS without TLS interception)",
                )

    def _host_rules(
        self, service: Service, grants: tuple[Grant, ...] = ()
    ) -> list[tuple[CiliumIngressRule, list[Source]]]:
        """Under ``allow-localhost=policy``: per probed port, the rule that lets the kubelet (the
        ``host`` entity) in, with the probes it is for (module docstring)."""
        pods = self.pods(service) if self.needs_probes() else None
        if pods is None or not pods.probes:
            return []
        by_port: dict[int, list[Probe]] = {}
        for probe in pods.probes:
            by_port.setdefault(probe.port, []).append(probe)
        proxied = _proxied(grants, everyone=False)
        return [
            (_host_rule(port, probes, port in proxied), [_probe_source(service, p) for p in probes])
            for port, probes in sorted(by_port.items())
        ]

    # --- rules -------------------------------------------------------------------------------

    def _cnp_ingress_rule(self, grant: Grant) -> CiliumIngressRule:
        interface = grant.interface
        port_rule: CiliumPortRule = {"ports": [_port(interface.port, interface.protocol)]}
        if grant.methods:
            port_rule["rules"] = {"http": _http_rules(grant.methods)}
        if grant.world:
            return {"fromEntities": ["all"], "toPorts": [port_rule]}
        peers = [
            _endpoint(*k) for k in distinct((c.namespace, c.pod_labels) for c in grant.callers)
        ]
        return {"fromEndpoints": peers, "toPorts": [port_rule]}

    def _cnp_dns_rules(self, proxy: bool) -> list[CiliumEgressRule]:
        dns = self.organization.dns if self.organization else None
        assert dns is not None  # outbound.dns implies a resolver
        port_rule: CiliumPortRule = {"ports": [_port(p.port, p.protocol) for p in dns.ports]}
        if proxy:
            port_rule["rules"] = {"dns": [{"matchPattern": "*"}]}
        if dns.namespace is not None:
            return [
                {"toEndpoints": [_endpoint(dns.namespace, dns.pod_labels)], "toPorts": [port_rule]}
            ]
        # A node-local resolver (169.254.20.10 and the like) listens in the node's host network:
        # Cilium gives that traffic the identity `host`, which CIDR rules never match.
        return [
            {"toCIDR": list(dns.cidrs), "toPorts": [port_rule]},
            {"toEntities": ["host"], "toPorts": [port_rule]},
        ]

    def _cnp_call_rule(self, target: Service, calls: tuple[Call, ...]) -> CiliumEgressRule:
        ports = [
            _port(*k) for k in distinct((c.interface.port, c.interface.protocol) for c in calls)
        ]
        return {
            "toEndpoints": [_endpoint(target.ref.namespace, target.workload.pod_labels)],
            "toPorts": [{"ports": ports}],
        }

    def _cnp_external_rule(self, egress: Egress) -> CiliumEgressRule:
        rule: CiliumEgressRule
        ports = egress.ports
        if egress.host is not None:
            fqdn: CiliumFQDN = (
                {"matchPattern": fqdn_pattern(egress.host, self.older_than(MULTI_LABEL_WILDCARD))}
                if "*" in egress.host
                else {"matchName": egress.host}
            )
            rule = {"toFQDNs": [fqdn]}
        elif egress.cidr is not None:
            rule = {"toCIDR": [egress.cidr]}
        else:
            rule = {"toEntities": ["kube-apiserver"]}
            api = self.organization.api_server if self.organization else None
            ports = ports or (api.ports if api else _ALL_PORTS)
        if ports:
            rule["toPorts"] = [
                {"ports": [_port(*k) for k in distinct((p.port, p.protocol) for p in ports)]}
            ]
        return rule


_CILIUM_POLICY = block({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy"})
_FROM_ALL = item({"fromEntities": ["all"]}, "  ")


def _proxied(grants: tuple[Grant, ...], *, everyone: bool) -> set[int]:
    """Ports whose rules carry HTTP rules; with ``everyone``, only rules that also select the
    host (``fromEntities: [all]``), which send its connections through the proxy."""
    return {
        g.interface.port
        for g in grants
        if g.methods and g.interface.protocol == "TCP" and (g.world or not everyone)
    }


def _host_rule(port: int, probes: list[Probe], proxied: bool) -> CiliumIngressRule:
    """The kubelet on ``port``: HTTP rules for its probe requests on a proxied port (unless a
    TCP probe needs the bare connection), L4 only elsewhere (never an L7 rule of its own)."""
    port_rule: CiliumPortRule = {"ports": [_port(port, "TCP")]}
    routes = [probe_route(p) for p in probes]
    if proxied and all(r is not None for r in routes):
        port_rule["rules"] = {"http": _route_rules(r for r in routes if r is not None)}
    return {"fromEntities": ["host"], "toPorts": [port_rule]}


def _probe_source(service: Service, probe: Probe) -> Source:
    what = probe.path if probe.action == "httpGet" else probe.action
    text = f"kubelet {probe.kind} probe of {service.ref}: {what} on port {probe.port}"
    return source(probe.span, text, "kubelet probe")


def _selector(labels: Labels) -> LabelSelector:
    return {"matchLabels": dict(labels)} if labels else {}


def _endpoint(namespace: str, labels: Labels) -> LabelSelector:
    return {"matchLabels": {NAMESPACE_KEY: namespace, **dict(labels)}}


def _port(number: int, protocol: str) -> CiliumPort:
    return {"port": str(number), "protocol": protocol}


def _http_rules(methods: tuple[str, ...]) -> list[CiliumHTTPRule]:
    rules: list[CiliumHTTPRule] = []
    for route in sorted({parse_route(m) for m in methods}, key=_route_key):
        rule: CiliumHTTPRule = {}
        if route.method is not None:
            rule["method"] = route.method
        rule["path"] = path_regex(route.path)
        rules.append(rule)
    return rules


def _route_rules(routes: Iterable[Route]) -> list[CiliumHTTPRule]:
    """HTTP rules for exactly ``routes`` (probe requests: a ``*`` in their path is literal)."""
    rules: list[CiliumHTTPRule] = []
    for route in sorted(set(routes), key=_route_key):
        literal = "".join(f"\\{c}" if c in _LITERAL_SPECIAL else c for c in route.path)
        rules.append({"method": route.method or "GET", "path": literal + _ANY_QUERY})
    return rules


_REGEX_SPECIAL = frozenset("\\.^$+?()[]{}|")
_LITERAL_SPECIAL = _REGEX_SPECIAL | {"*"}


def path_regex(path: str) -> str:
    """A declared path (``*`` = any run of characters) as Cilium's path regex.

    Cilium matches the regex against the whole ``:path``, query string included, while a
    declared path matches the path alone (docs/format.md): ``*`` stops at ``?`` and any query
    string is allowed after the path.
    """
    body = "".join("[^?]*" if c == "*" else f"\\{c}" if c in _REGEX_SPECIAL else c for c in path)
    return body + _ANY_QUERY


_ANY_QUERY = "(\\?.*)?"


MULTI_LABEL_WILDCARD = "1.19"
"""Cilium release whose ``matchPattern`` knows ``**.`` (see dialects/platforms.py)."""


def fqdn_pattern(host: str, one_label_only: bool = False) -> str:
    """A declared host wildcard as a ``toFQDNs`` ``matchPattern``.

    A declared ``*.example.com`` means one or more labels before ``example.com`` (as Istio's
    ServiceEntry hosts do); Cilium's ``*`` matches within one label, ``**.`` (Cilium 1.19 and
    later) one or more labels. For an older Cilium (``one_label_only``) the pattern stays
    ``*.``: narrower than declared, never wider (TM324 says so).
    """
    return "*" + host if host.startswith("*.") and not one_label_only else host


def _route_key(route: Route) -> tuple[str, str]:
    return (route.path, route.method or "")
