"""Kubernetes NetworkPolicy: L3/L4 allow-lists by namespace and pod labels, default deny per namespace.

Per managed namespace: one default-deny policy for ingress and egress. Per service: an ingress
policy admitting its declared callers (namespaceSelector on ``kubernetes.io/metadata.name`` plus the
callers' pod labels) on container ports, and an egress policy to the DNS resolver the Organization
declares, to each target's container port, to declared CIDRs and to the API server's addresses.
NetworkPolicy cannot name hosts or methods: host egress is left out (TM300) and methods are widened
to the port (TM301).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from trustmap.dialects.base import Compiler
from trustmap.dialects.emit import block, item
from trustmap.dialects.plan import Call, Grant, Outbound
from trustmap.dialects.provenance import Source
from trustmap.manifests import (
    LabelSelector,
    Manifest,
    NetworkPolicy,
    NetworkPolicyEgressRule,
    NetworkPolicyIngressRule,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    NetworkPolicySpec,
)
from trustmap.model import Egress, Endpoint, Labels, PortSpec, Service

__all__ = ["NAMESPACE_LABEL", "Kubernetes", "distinct", "peer", "peer_keys", "port", "selector"]

T = TypeVar("T")

NAMESPACE_LABEL = "kubernetes.io/metadata.name"
"""Label the API server sets on every namespace to its name."""


class Kubernetes(Compiler):
    """``networking.k8s.io/v1`` NetworkPolicy."""

    TARGET = "kubernetes"
    AUDIT_NOTE = (
        "audit mode: NetworkPolicy has no dry run, so the policy trustmap-audit-allow-all beside "
        "these allows all traffic and nothing is blocked; delete it (or compile for an enforce "
        "environment) to enforce, and run trustmap analyze on these objects to see what enforce "
        "would allow"
    )
    DEFAULT_DENY = "trustmap-default-deny"
    ALLOW_ALL = "trustmap-audit-allow-all"

    def namespace_objects(self, namespace: str, services: list[Service]) -> None:
        """Default deny, and in audit mode an allow-all companion that keeps traffic flowing."""
        self.emit(namespace, self.default_deny(namespace))
        companion = self.allow_all(namespace) if self.mode(namespace) == "audit" else None
        if companion is not None:
            self.emit(namespace, companion)

    def service_objects(self, service: Service) -> None:
        """An ingress policy when anyone may call it, an egress policy when it calls anything."""
        namespace = service.ref.namespace
        grants = self.grants(service)
        if grants:
            if self.text:
                self.emit_text(namespace, self.ingress_text(service, grants))
            else:
                self.emit(namespace, self.ingress_policy(service, grants))
        outbound = self.outbound(service)
        if outbound:
            if self.text:
                self.emit_text(namespace, self.egress_text(service, outbound))
            else:
                self.emit(namespace, self.egress_policy(service, outbound))

    # --- objects -----------------------------------------------------------------------------

    def default_deny(self, namespace: str) -> Manifest:
        """Select every pod, allow nothing, both directions."""
        source = self.organization_source("zero trust: deny all traffic that is not declared")
        return self._policy(
            self.DEFAULT_DENY, namespace, [source], {"podSelector": {}, "policyTypes": _BOTH}
        )

    def allow_all(self, namespace: str) -> Manifest | None:
        """Audit mode: allow everything, so the declared policies beside it block nothing."""
        source = self.organization_source(f"environment {self.environment}: audit mode")
        spec: NetworkPolicySpec = {
            "podSelector": {},
            "policyTypes": _BOTH,
            "ingress": [{}],
            "egress": [{}],
        }
        return self._policy(self.ALLOW_ALL, namespace, [source], spec)

    def ingress_policy(self, service: Service, grants: tuple[Grant, ...]) -> Manifest:
        """Declared callers on container ports."""
        namespace = service.ref.namespace
        spec: NetworkPolicySpec = {
            "podSelector": selector(service.workload.pod_labels),
            "policyTypes": ["Ingress"],
            "ingress": [self._ingress_rule(g) for g in grants],
        }
        sources = self.grant_sources(grants)
        name = self.name("NetworkPolicy", namespace, service.ref.name, "ingress")
        return self._policy(name, namespace, sources, spec)

    def egress_policy(self, service: Service, outbound: Outbound) -> Manifest:
        """DNS, declared targets, CIDRs and the API server."""
        namespace = service.ref.namespace
        rules: list[NetworkPolicyEgressRule] = []
        if outbound.dns:
            rules.append(self._dns_rule())
        rules += [self._call_rule(target, calls) for target, calls in outbound.by_target()]
        rules += [r for e in outbound.external if (r := self._external_rule(e)) is not None]
        spec: NetworkPolicySpec = {
            "podSelector": selector(service.workload.pod_labels),
            "policyTypes": ["Egress"],
            "egress": rules,
        }
        name = self.name("NetworkPolicy", namespace, service.ref.name, "egress")
        return self._policy(name, namespace, self.outbound_sources(service, outbound), spec)

    def _policy(
        self, name: str, namespace: str, sources: list[Source], spec: NetworkPolicySpec
    ) -> NetworkPolicy:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": self.metadata(name, namespace, sources),
            "spec": spec,
        }

    # --- the same objects as text (see Compiler.write) ----------------------------------------

    def ingress_text(self, service: Service, grants: tuple[Grant, ...]) -> str:
        """:meth:`ingress_policy` written as a YAML document."""
        namespace = service.ref.namespace
        name = self.name("NetworkPolicy", namespace, service.ref.name, "ingress")
        parts = [
            _NETWORK_POLICY,
            self.metadata_text(name, namespace, self.incoming_notes(service, grants)),
            "spec:\n",
            self._pod_selector(service.workload.pod_labels),
            "  policyTypes:\n  - Ingress\n  ingress:\n",
        ]
        for grant in grants:
            ports = self._ports_text(((grant.interface.port, grant.interface.protocol),))
            if grant.world:
                parts += ("  -", ports[3:])
                continue
            parts.append("  - from:\n")
            parts += [self._peer_text(*k) for k in distinct(peer_keys(grant.callers))]
            parts.append(ports)
        return "".join(parts)

    def egress_text(self, service: Service, outbound: Outbound) -> str:
        """:meth:`egress_policy` written as a YAML document."""
        namespace = service.ref.namespace
        name = self.name("NetworkPolicy", namespace, service.ref.name, "egress")
        parts = [
            _NETWORK_POLICY,
            self.metadata_text(name, namespace, self.outbound_notes(service, outbound)),
            "spec:\n",
            self._pod_selector(service.workload.pod_labels),
            "  policyTypes:\n  - Egress\n  egress:\n",
        ]
        if outbound.dns:
            dns = self._fragments.get(("@dns",))
            if dns is None:
                dns = self._fragments[("@dns",)] = item(self._dns_rule(), "  ")
            parts.append(dns)
        for target, calls in outbound.by_target():
            parts += (
                "  - to:\n",
                self._peer_text(target.ref.namespace, target.workload.pod_labels),
                self._ports_text(distinct((c.interface.port, c.interface.protocol) for c in calls)),
            )
        parts += [
            item(r, "  ") for e in outbound.external if (r := self._external_rule(e)) is not None
        ]
        if len(parts) == 5:  # no rule could be written (e.g. only apiServer, with no CIDRs)
            parts[4] = parts[4].replace("  egress:\n", "  egress: []\n")
        return "".join(parts)

    def _pod_selector(self, labels: Labels) -> str:
        return self.selector_text("podSelector", labels)

    def _peer_text(self, namespace: str, labels: Labels) -> str:
        key = ("@peer", namespace, labels)
        found = self._fragments.get(key)
        if found is None:
            head = self._fragments.get(("@peer-namespace", namespace))
            if head is None:
                selects = {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}}}
                head = self.fragment(("@peer-namespace", namespace), selects, "    ")
            pods = (
                f"      podSelector:\n        matchLabels:\n{self.labels_text(labels, '          ')}"
                if labels
                else "      podSelector: {}\n"
            )
            found = self._fragments[key] = head + pods
        return found

    def _ports_text(self, keys: Iterable[tuple[int, str]]) -> str:
        ports = tuple(keys)
        key = ("@ports", *ports)
        found = self._fragments.get(key)
        if found is None:
            found = self._fragments[key] = block({"ports": [port(*k) for k in ports]}, "    ")
        return found

    # --- rules -------------------------------------------------------------------------------

    def _ingress_rule(self, grant: Grant) -> NetworkPolicyIngressRule:
        ports = [port(grant.interface.port, grant.interface.protocol)]
        if grant.world:
            return {"ports": ports}
        return {
            "from": [
                peer(*k) for k in distinct((c.namespace, c.pod_labels) for c in grant.callers)
            ],
            "ports": ports,
        }

    def _dns_rule(self) -> NetworkPolicyEgressRule:
        dns = self.organization.dns if self.organization else None
        assert dns is not None  # outbound.dns implies a resolver
        if dns.namespace is not None:
            to = [peer(dns.namespace, dns.pod_labels)]
        else:
            to = [{"ipBlock": {"cidr": cidr}} for cidr in dns.cidrs]
        return {"to": to, "ports": [port(p.port, p.protocol) for p in dns.ports]}

    def _call_rule(self, target: Service, calls: tuple[Call, ...]) -> NetworkPolicyEgressRule:
        ports = [
            port(*k) for k in distinct((c.interface.port, c.interface.protocol) for c in calls)
        ]
        return {"to": [peer(target.ref.namespace, target.workload.pod_labels)], "ports": ports}

    def _external_rule(self, egress: Egress) -> NetworkPolicyEgressRule | None:
        if egress.cidr is not None:
            return with_ports({"to": [{"ipBlock": {"cidr": egress.cidr}}]}, egress.ports)
        api = self.organization.api_server if self.organization else None
        if not egress.api_server or api is None:
            return None  # TM225 (graph) already says the API server's address is missing
        rule: NetworkPolicyEgressRule = {"to": [{"ipBlock": {"cidr": c}} for c in api.cidrs]}
        return with_ports(rule, egress.ports or api.ports)


_BOTH = ["Ingress", "Egress"]
_NETWORK_POLICY = block({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy"})


def peer_keys(callers: Iterable[Endpoint]) -> Iterator[tuple[str, Labels]]:
    """``(namespace, pod labels)`` of each caller: what a label-based peer selects."""
    for caller in callers:
        yield caller.namespace, caller.pod_labels


def selector(labels: Labels) -> LabelSelector:
    """``matchLabels`` of the pod labels (``{}`` selects every pod)."""
    return {"matchLabels": dict(labels)} if labels else {}


def peer(namespace: str, labels: Labels) -> NetworkPolicyPeer:
    """Pods with ``labels`` in ``namespace``."""
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}},
        "podSelector": selector(labels),
    }


def port(number: int, protocol: str) -> NetworkPolicyPort:
    """A numeric port and its protocol."""
    return {"protocol": protocol, "port": number}


def with_ports(
    rule: NetworkPolicyEgressRule, ports: tuple[PortSpec, ...]
) -> NetworkPolicyEgressRule:
    """Restrict ``rule`` to ``ports``; no ports declared means every port."""
    if ports:
        rule["ports"] = [port(*k) for k in distinct((p.port, p.protocol) for p in ports)]
    return rule


def distinct(keys: Iterable[T]) -> list[T]:
    """``keys`` (hashable) without repeats, first occurrence kept."""
    return list(dict.fromkeys(keys))
