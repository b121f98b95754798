"""Istio: mutual TLS everywhere, ALLOW rules on SPIFFE identities, egress through the registry only.

Per managed namespace: PeerAuthentication ``default`` with mTLS STRICT, and an allow-nothing
AuthorizationPolicy (empty spec), so only what a per-service ALLOW policy names gets through. Per
service: a PeerAuthentication that leaves its ``exposure: world`` ports PERMISSIVE (clients
outside the mesh speak plain text), an AuthorizationPolicy whose rules name callers by principal
(``<trustDomain>/ns/<ns>/sa/<serviceAccount>``), container ports and methods/paths, and a Sidecar
whose egress lists only the hosts the service calls and the DNS resolver's namespace (DNS over TCP
goes through the sidecar), with outbound ``REGISTRY_ONLY``. Declared hosts and CIDRs outside the
cluster become ServiceEntries (see :mod:`trustmap.dialects.istio_egress`).

Audit mode: AuthorizationPolicies carry ``istio.io/dry-run``, mTLS is PERMISSIVE and the Sidecar
lets unknown hosts pass (ALLOW_ANY).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import replace
from typing import cast

from trustmap.dialects.base import Compiler
from trustmap.dialects.emit import block, item
from trustmap.dialects.istio_egress import (
    API_SERVER_HOST,
    CLUSTER_DOMAIN,
    external_host,
    service_entries,
)
from trustmap.dialects.istio_probes import ProbeRules, bypassed, opened, probe_rules, refused
from trustmap.dialects.plan import Grant, Outbound
from trustmap.dialects.provenance import Source, source
from trustmap.dialects.routes import istio_path, parse_route
from trustmap.manifests import (
    IstioAuthorizationPolicy,
    IstioAuthorizationPolicySpec,
    IstioOperation,
    IstioRule,
    IstioTo,
    Manifest,
    PeerAuthentication,
    Sidecar,
)
from trustmap.model import Egress, Endpoint, Graph, Service

__all__ = ["DRY_RUN", "Istio", "normal_path"]

V1_APIS = "1.22"
"""Istio release that serves the ``v1`` security and networking APIs."""
DRY_RUN = "istio.io/dry-run"
"""Annotation that makes Istio evaluate and log an AuthorizationPolicy without enforcing it."""


class Istio(Compiler):
    """``security.istio.io/v1`` and ``networking.istio.io/v1``."""

    TARGET = "istio"
    SUPPORTS_L7 = True
    SUPPORTS_FQDN = True
    SUPPORTS_IDENTITY = True
    SUPPORTS_UDP = False
    AUDIT_NOTE = (
        "audit mode: AuthorizationPolicies carry istio.io/dry-run (evaluated and logged, not "
        "enforced), mTLS is PERMISSIVE (plain text still accepted) and the Sidecar lets unknown "
        "hosts pass (ALLOW_ANY); compile for an enforce environment to enforce"
    )
    ALLOW_NOTHING = "trustmap-allow-nothing"

    def __init__(self, graph: Graph, environment: str | None = None) -> None:
        super().__init__(graph, environment)
        self._external: dict[str, tuple[Egress, ...]] = {}

    def _walk(self, namespaces: Collection[str] | None = None) -> None:
        """Every object, then the API versions an older Istio serves (see dialects/platforms.py:
        the ``v1`` APIs arrived in 1.22; the same kinds are served as ``v1beta1`` before)."""
        super()._walk(namespaces)
        if not self.older_than(V1_APIS):
            return
        self._objects = [(ns, _beta(m)) for ns, m in self._objects]
        self._documents = [(ns, _beta_text(text)) for ns, text in self._documents]

    def namespace_objects(self, namespace: str, services: list[Service]) -> None:
        """mTLS, allow-nothing, and the ServiceEntries for the namespace's external calls."""
        self.emit(namespace, self._peer_authentication(namespace))
        self.emit(namespace, self._allow_nothing(namespace))
        calls = [(s.ref, e) for s in services for e in self.external(s)]
        calls += [(s.ref, e) for s in services if self.dns(s) for e in self._dns_egress()]
        for entry in service_entries(self, namespace, calls):
            self.emit(namespace, entry)

    def service_objects(self, service: Service) -> None:
        """ALLOW policy for its callers, Sidecar for its calls."""
        namespace = service.ref.namespace
        grants = self.grants(service)
        probes = self._probe_rules(service)
        self._uncaptured_interfaces(service)
        plaintext = self._plaintext_ports(service, grants, probes)
        if plaintext is not None:
            self.emit(namespace, plaintext)
        allow = bool(grants) or (probes is not None and bool(probes.rules))
        # DNS over TCP goes through the sidecar: the Sidecar lists the resolver (_egress_hosts).
        if self.text:
            if allow:
                self.emit_text(namespace, self._authorization_text(service, grants, probes))
            self.emit_text(namespace, self._sidecar_text(service, self._sidecar_outbound(service)))
            return
        if allow:
            self.emit(namespace, self._authorization_policy(service, grants, probes))
        self.emit(namespace, self._sidecar(service, self._sidecar_outbound(service)))

    def _sidecar_outbound(self, service: Service) -> Outbound:
        """What the Sidecar lets ``service`` reach: DNS when the resolver takes TCP."""
        outbound = self.outbound(service)
        return outbound if self._dns_hosts() else replace(outbound, dns=False)

    def _dns_hosts(self) -> set[str]:
        """Sidecar hosts of the DNS resolver, when it takes TCP (UDP never meets the sidecar).

        The sidecar captures every outbound TCP connection, DNS over TCP (truncated answers)
        included, and under ``REGISTRY_ONLY`` drops what the Sidecar does not import. A resolver
        of pods is imported with ``<namespace>/*`` on the catch-all listener: the Organization
        names the pods, not their Service, and a listener scoped to port 53 would keep only the
        Service's first port numbered 53 (kube-dns lists UDP first), leaving the TCP listener
        without a cluster (istio/istio pilot/pkg/model/sidecar.go ``serviceMatchingListenerPort``;
        pilot/pkg/networking/core/cluster.go skips UDP ports). A resolver given by CIDR (node-local
        DNS) is put in the registry by a ServiceEntry on its addresses (:meth:`_dns_egress`).
        """
        dns = self.organization.dns if self.organization else None
        if dns is None or not any(p.protocol == "TCP" for p in dns.ports):
            return set()
        if dns.namespace is not None:
            return {f"{dns.namespace}/*"}
        return {f"./{external_host(e)}" for e in self._dns_egress()}

    def _dns_egress(self) -> tuple[Egress, ...]:
        """A resolver given by CIDR as calls out of the cluster on its TCP ports."""
        org = self.organization
        dns = org.dns if org else None
        if org is None or dns is None or dns.namespace is not None:
            return ()
        tcp = tuple(p for p in dns.ports if p.protocol == "TCP")
        reason = "name lookups through the cluster DNS resolver"
        return tuple(Egress(None, c, False, tcp, reason, org.span) for c in dns.cidrs if tcp)

    def external(self, service: Service) -> tuple[Egress, ...]:
        """External calls a ServiceEntry can express: with ports, TCP only (cached per service)."""
        key = str(service.ref)
        if key not in self._external:
            kept = (self._tcp_only(service, e) for e in super().external(service))
            self._external[key] = tuple(e for e in kept if e is not None)
        return self._external[key]

    def _tcp_only(self, service: Service, egress: Egress) -> Egress | None:
        if egress.api_server:
            return egress
        if not egress.ports:
            self.unsupported(
                "TM306",
                egress.span,
                f"istio needs the ports of an external destination: egress of {service.ref} to "
                f"{egress.destination} is left out (denied)",
                "list the ports, e.g. 'ports: [443]'",
            )
            return None
        tcp = tuple(p for p in egress.ports if p.protocol == "TCP")
        if len(tcp) != len(egress.ports):
            self.unsupported(
                "TM304",
                egress.span,
                f"istio does not see UDP or SCTP traffic: those ports of the egress of "
                f"{service.ref} to {egress.destination} are not controlled by this target",
                "enforce them with the kubernetes or cilium target as well",
            )
        return replace(egress, ports=tcp) if tcp else None

    # --- objects -----------------------------------------------------------------------------

    def _peer_authentication(self, namespace: str) -> PeerAuthentication:
        mode = "PERMISSIVE" if self.mode(namespace) == "audit" else "STRICT"
        source = self.organization_source("zero trust: every call is mutually authenticated")
        return {
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": self.metadata("default", namespace, [source]),
            "spec": {"mtls": {"mode": mode}},
        }

    def _allow_nothing(self, namespace: str) -> IstioAuthorizationPolicy:
        source = self.organization_source("zero trust: deny all traffic that is not declared")
        return self._policy(self.ALLOW_NOTHING, namespace, [source], {})

    def _authorization_policy(
        self, service: Service, grants: tuple[Grant, ...], probes: ProbeRules | None
    ) -> IstioAuthorizationPolicy:
        namespace = service.ref.namespace
        rules = [self._rule(service, g) for g in grants]
        spec: IstioAuthorizationPolicySpec = {
            "selector": {"matchLabels": dict(service.workload.pod_labels)},
            "action": "ALLOW",
            "rules": rules + list(probes.rules) if probes else rules,
        }
        sources = self.grant_sources(grants)
        if probes:
            sources += probes.sources
        name = self.name("AuthorizationPolicy", namespace, service.ref.name)
        return self._policy(name, namespace, sources, spec)

    def _policy(
        self, name: str, namespace: str, sources: list[Source], spec: IstioAuthorizationPolicySpec
    ) -> IstioAuthorizationPolicy:
        extra = {DRY_RUN: "true"} if self.mode(namespace) == "audit" else None
        return {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": self.metadata(name, namespace, sources, extra),
            "spec": spec,
        }

    def _sidecar(self, service: Service, outbound: Outbound) -> Sidecar:
        namespace = service.ref.namespace
        hosts = self._egress_hosts(outbound)
        policy = "ALLOW_ANY" if self.mode(namespace) == "audit" else "REGISTRY_ONLY"
        name = self.name("Sidecar", namespace, service.ref.name)
        sources = self.outbound_sources(service, outbound) or [
            source(service.span, f"{service.ref}: calls nothing", "declares no calls")
        ]
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Sidecar",
            "metadata": self.metadata(name, namespace, sources),
            "spec": {
                "workloadSelector": {"labels": dict(service.workload.pod_labels)},
                "egress": [{"hosts": sorted(hosts) or ["~/*"]}],
                "outboundTrafficPolicy": {"mode": policy},
            },
        }

    def _egress_hosts(self, outbound: Outbound) -> set[str]:
        """Declared targets, external hosts, and the DNS resolver (:meth:`_dns_hosts`)."""
        hosts = {_service_host(call.target) for call in outbound.calls}
        hosts |= {
            API_SERVER_HOST if e.api_server else f"./{external_host(e)}" for e in outbound.external
        }
        return hosts | self._dns_hosts() if outbound.dns else hosts

    def _plaintext_ports(
        self, service: Service, grants: tuple[Grant, ...], probes: ProbeRules | None
    ) -> PeerAuthentication | None:
        """Callers outside the mesh: plain text on ``exposure: world`` ports and on the ports of
        probes the rewrite leaves to the kubelet (:mod:`~trustmap.dialects.istio_probes`);
        TM322 elsewhere.

        Under the namespace's STRICT mTLS a caller without a sidecar cannot connect at all. A
        world interface admits anyone (its rule names no principal), so its container port alone
        is made PERMISSIVE, with a selector as ``portLevelMtls`` requires. Ingress controllers and
        platform consumers are admitted by principal, which needs their mesh identity: opening
        the port to plain text would not let them in, so each such interface says so (TM322).
        """
        opened = {g.interface.port for g in grants if g.world}
        for grant in grants:
            if not grant.world:
                self._needs_mesh(service, grant)
        if probes is not None:
            opened.update(probes.ports)
        if not opened or self.mode(service.ref.namespace) == "audit":
            return None  # audit: the whole namespace is PERMISSIVE already
        world = sorted(opened)
        edges = [e for g in grants if g.world for e in g.edges]
        sources = [self.edge_source(e) for e in edges]
        if probes is not None:
            sources += probes.sources
        namespace = service.ref.namespace
        name = self.name("PeerAuthentication", namespace, service.ref.name, "plaintext")
        return {
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": self.metadata(name, namespace, sources),
            "spec": {
                "selector": {"matchLabels": dict(service.workload.pod_labels)},
                "portLevelMtls": {str(port): {"mode": "PERMISSIVE"} for port in world},
            },
        }

    def _probe_rules(self, service: Service) -> ProbeRules | None:
        """What the probes of pods that turn Istio's probe rewrite off need, said as TM326 (probe
        routes open to plain-text callers) and TM327 (HTTPS probes refused); see
        :mod:`~trustmap.dialects.istio_probes`."""
        pods = self.pods(service)
        found = probe_rules(service, pods, normal_path)
        if found is None or pods is None or self.mode(service.ref.namespace) == "audit":
            return found  # audit: dry-run policies and PERMISSIVE mTLS refuse nothing yet
        if found.routes:
            self.unsupported("TM326", pods.span, *opened(service, pods, found))
        for probe in found.https:
            where = probe.span if probe.span.file else pods.span
            self.unsupported("TM327", where, *refused(service, pods, probe))
        return found

    def _uncaptured_interfaces(self, service: Service) -> None:
        """TM328 when the pods keep a declared interface's port from the sidecar: nothing the
        output writes for it is enforced (see :mod:`~trustmap.dialects.istio_probes`)."""
        pods = self.pods(service)
        if pods is None:
            return
        skipped = [i for i in service.interfaces if i.port in pods.uncaptured_ports]
        if skipped:
            self.unsupported("TM328", pods.span, *bypassed(service, pods, skipped))

    def _needs_mesh(self, service: Service, grant: Grant) -> None:
        outside = sorted({str(c) for c in grant.callers if c.kind != "service"})
        if outside:
            self.unsupported(
                "TM322",
                grant.interface.span,
                f"istio admits {', '.join(outside)} on interface '{grant.interface.name}' of "
                f"{service.ref} by mesh identity under STRICT mTLS: without an Istio sidecar "
                "its calls are refused",
                "inject the sidecar into those callers (ingress controllers, scrapers); "
                "Prometheus can instead scrape the merged metrics on port 15020",
            )

    # --- the same objects as text (see Compiler.write) ----------------------------------------

    def _authorization_text(
        self, service: Service, grants: tuple[Grant, ...], probes: ProbeRules | None
    ) -> str:
        namespace = service.ref.namespace
        labels = service.workload.pod_labels
        rules = [self._rule_text(service, g) for g in grants]
        name = self.name("AuthorizationPolicy", namespace, service.ref.name)
        extra = {DRY_RUN: "true"} if self.mode(namespace) == "audit" else None
        notes = self.incoming_notes(service, grants)
        if probes:
            rules += [item(rule, "  ") for rule in probes.rules]
            notes = self.notes([*self.grant_sources(grants), *probes.sources])
        head = (
            f"  selector:\n    matchLabels:\n{self.labels_text(labels, '      ')}  action: ALLOW\n"
            if labels
            else "  selector:\n    matchLabels: {}\n  action: ALLOW\n"
        )
        return "".join(
            [
                _AUTHORIZATION_POLICY,
                self.metadata_text(name, namespace, notes, extra),
                "spec:\n",
                head,
                "  rules:\n",
                *rules,
            ]
        )

    def _rule_text(self, service: Service, grant: Grant) -> str:
        operations = self._operations_text(service, grant)
        if grant.world:
            return f"  - to:\n{operations}"
        fragments = self._fragments
        principals = []
        for principal in sorted({self._principal(c) for c in grant.callers}):
            found = fragments.get(("@principal", principal))
            if found is None:
                found = fragments[("@principal", principal)] = item(principal, "        ")
            principals.append(found)
        return f"{_FROM_PRINCIPALS}{''.join(principals)}    to:\n{operations}"

    def _operations_text(self, service: Service, grant: Grant) -> str:
        key = ("@to", grant.interface.port, grant.methods)
        found = self._fragments.get(key)
        if found is None or grant.methods:  # methods: check the routes again (TM303)
            operations = self._operations(service, grant)
            if found is None:
                found = self._fragments[key] = "".join(item(o, "    ") for o in operations)
        return found

    def _sidecar_text(self, service: Service, outbound: Outbound) -> str:
        namespace = service.ref.namespace
        labels = service.workload.pod_labels
        hosts = self._egress_hosts(outbound)
        policy = "ALLOW_ANY" if self.mode(namespace) == "audit" else "REGISTRY_ONLY"
        name = self.name("Sidecar", namespace, service.ref.name)
        if outbound:
            notes = self.outbound_notes(service, outbound)
        else:
            nothing = source(service.span, f"{service.ref}: calls nothing", "declares no calls")
            notes = self.notes([nothing])
        metadata = self.metadata_text(name, namespace, notes)
        head = (
            f"  workloadSelector:\n    labels:\n{self.labels_text(labels, '      ')}"
            if labels
            else "  workloadSelector:\n    labels: {}\n"
        )
        fragments = self._fragments
        listed = []
        for host in sorted(hosts) or ["~/*"]:
            found = fragments.get(("@host", host))
            if found is None:
                found = fragments[("@host", host)] = item(host, "    ")
            listed.append(found)
        tail = self.entries(
            ("@outbound", policy), {"outboundTrafficPolicy": {"mode": policy}}, "  "
        )
        return "".join(
            [_SIDECAR, metadata, "spec:\n", head, "  egress:\n  - hosts:\n", *listed, tail]
        )

    # --- rules -------------------------------------------------------------------------------

    def _rule(self, service: Service, grant: Grant) -> IstioRule:
        rule: IstioRule = {}
        if not grant.world:
            principals = sorted({self._principal(c) for c in grant.callers})
            rule["from"] = [{"source": {"principals": principals}}]
        rule["to"] = self._operations(service, grant)
        return rule

    def _principal(self, caller: Endpoint) -> str:
        domain = self.organization.trust_domain if self.organization else "cluster.local"
        return f"{domain}/ns/{caller.namespace}/sa/{caller.service_account}"

    def _operations(self, service: Service, grant: Grant) -> list[IstioTo]:
        port = str(grant.interface.port)
        if not grant.methods:
            return [{"operation": {"ports": [port]}}]
        paths: dict[str | None, set[str]] = defaultdict(set)
        for route in {parse_route(m) for m in grant.methods}:
            pattern, exact = istio_path(route.path)
            if not exact:
                self._widened(service, grant, route.path, pattern)
            normal = normal_path(pattern)
            if normal != pattern:
                self._normalised(service, grant, route.path, normal)
            paths[route.method].add(normal)
        found: list[IstioTo] = []
        for method in sorted(paths, key=lambda m: m or ""):
            operation: IstioOperation = {"ports": [port]}
            if method is not None:
                operation["methods"] = [method]
            operation["paths"] = sorted(paths[method])
            found.append({"operation": operation})
        return found

    def _normalised(self, service: Service, grant: Grant, path: str, normal: str) -> None:
        self.unsupported(
            "TM325",
            grant.interface.span,
            f"istio normalises request paths before matching (percent-encoded unreserved "
            f"characters, backslashes, dot segments): route '{path}' of interface "
            f"'{grant.interface.name}' of {service.ref} is allowed as '{normal}', which "
            "requests spelled either way match",
            f"declare the path in its normal form ('{normal}')",
        )

    def _widened(self, service: Service, grant: Grant, path: str, pattern: str) -> None:
        self.unsupported(
            "TM303",
            grant.interface.span,
            f"istio matches paths exactly, by prefix or by suffix: route '{path}' of interface "
            f"'{grant.interface.name}' of {service.ref} is allowed as '{pattern}'",
            "declare routes with '*' only at the start or the end",
        )


_AUTHORIZATION_POLICY = block({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy"})
_SIDECAR = block({"apiVersion": "networking.istio.io/v1", "kind": "Sidecar"})
_FROM_PRINCIPALS = "  - from:\n    - source:\n        principals:\n"


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def normal_path(path: str) -> str:
    """``path`` as Istio's default (``BASE``) normalisation leaves a request path before its
    AuthorizationPolicy sees it: percent-encoded unreserved characters decoded, ``\\`` turned
    into ``/``, ``.`` and ``..`` segments resolved (RFC 3986); a declared path in another
    spelling would never match."""
    decoded = _ESCAPE.sub(
        lambda m: chr(int(m.group(1), 16)) if chr(int(m.group(1), 16)) in _UNRESERVED else m[0],
        path.replace("\\", "/"),
    )
    return _without_dot_segments(decoded)


def _without_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(kept) > 1:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    found = "/".join(kept)
    return found + "/" if path.endswith(("/.", "/..")) else found


_V1 = ("security.istio.io/v1", "networking.istio.io/v1")


def _beta(manifest: Manifest) -> Manifest:
    version = manifest["apiVersion"]
    if version not in _V1:
        return manifest
    return cast(Manifest, {**manifest, "apiVersion": f"{version}beta1"})


def _beta_text(document: str) -> str:
    for version in _V1:
        head = f"apiVersion: {version}\n"
        if document.startswith(head):
            return f"apiVersion: {version}beta1\n{document[len(head) :]}"
    return document


def _service_host(target: Service) -> str:
    ref = target.ref
    return f"{ref.namespace}/{ref.name}.{ref.namespace}.svc.{CLUSTER_DOMAIN}"
