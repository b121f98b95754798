"""The engine agrees with a naive pod-by-pod evaluation of the Kubernetes rules on random clusters.

The engine groups pods into classes, policies into groups, and peers into regions and rectangles;
this reference does none of that: for every pair of pods (and sample external addresses) it walks
every policy and rule. Any difference is a bug in the grouping machinery.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trustmap.analysis import (
    ALL_CONNS,
    NO_CONNS,
    Cluster,
    Connectivity,
    ConnSet,
    analyze,
    load_manifests,
)
from trustmap.analysis.objects import IPBlockPeer, NetpolPolicy, Pod, PodPeer, Rule

KEYS = ["app", "tier"]
VALUES = ["a", "b"]
NAMESPACES = ["ns1", "ns2"]


def _labels() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=2)


def _selector() -> st.SearchStrategy[dict[str, object]]:
    expression = st.one_of(
        st.builds(
            lambda k, op, v: {"key": k, "operator": op, "values": v},
            st.sampled_from(KEYS),
            st.sampled_from(["In", "NotIn"]),
            st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True),
        ),
        st.builds(
            lambda k, op: {"key": k, "operator": op},
            st.sampled_from(KEYS),
            st.sampled_from(["Exists", "DoesNotExist"]),
        ),
    )
    return st.one_of(
        st.just({}),
        st.builds(lambda m: {"matchLabels": m}, _labels()),
        st.builds(lambda e: {"matchExpressions": e}, st.lists(expression, min_size=1, max_size=2)),
    )


_CIDRS = ["10.0.0.0/8", "10.1.0.0/16", "0.0.0.0/0", "192.168.0.0/16", "0.0.0.0/1"]


def _peer() -> st.SearchStrategy[dict[str, object]]:
    block = st.builds(
        lambda c: (
            {"ipBlock": {"cidr": c, "except": ["10.1.2.0/24"]}}
            if c in ("10.0.0.0/8", "10.1.0.0/16")
            else {"ipBlock": {"cidr": c}}
        ),
        st.sampled_from(_CIDRS),
    )
    selectors = st.fixed_dictionaries(
        {}, optional={"podSelector": _selector(), "namespaceSelector": _selector()}
    ).filter(bool)
    return st.one_of(block, selectors)


def _port() -> st.SearchStrategy[dict[str, object]]:
    protocol = st.sampled_from(["TCP", "UDP", "SCTP"])
    return st.one_of(
        st.builds(
            lambda p, n: {"protocol": p, "port": n}, protocol, st.sampled_from([80, 81, 443])
        ),
        st.builds(lambda p: {"protocol": p, "port": 80, "endPort": 90}, protocol),
        st.builds(lambda p: {"protocol": p}, protocol),
        st.builds(
            lambda p, n: {"protocol": p, "port": n}, protocol, st.sampled_from(["web", "alt"])
        ),
    )


def _rule(direction: str) -> st.SearchStrategy[dict[str, object]]:
    key = "from" if direction == "ingress" else "to"
    return st.fixed_dictionaries(
        {},
        optional={
            key: st.lists(_peer(), min_size=1, max_size=2),
            "ports": st.lists(_port(), max_size=2),
        },
    )


def _policy(i: int) -> st.SearchStrategy[dict[str, object]]:
    spec = st.fixed_dictionaries(
        {"podSelector": _selector()},
        optional={
            "ingress": st.lists(_rule("ingress"), max_size=2),
            "egress": st.lists(_rule("egress"), max_size=2),
            "policyTypes": st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]),
        },
    )
    return st.builds(
        lambda ns, s: {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetpolPolicy",
            "metadata": {"name": f"p{i}", "namespace": ns},
            "spec": s,
        },
        st.sampled_from(NAMESPACES),
        spec,
    )


def _deployment(i: int) -> st.SearchStrategy[dict[str, object]]:
    ports = st.lists(
        st.builds(
            lambda name, port, proto: {"name": name, "containerPort": port, "protocol": proto},
            st.sampled_from(["web", "alt"]),
            st.sampled_from([80, 8080, 9000]),
            st.sampled_from(["TCP", "UDP"]),
        ),
        max_size=2,
        unique_by=lambda p: p["name"],
    )
    return st.builds(
        lambda ns, labels, p: {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"d{i}", "namespace": ns},
            "spec": {
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c", "ports": p}]},
                }
            },
        },
        st.sampled_from(NAMESPACES),
        _labels(),
        ports,
    )


@st.composite
def clusters(draw: st.DrawFn) -> list[dict[str, object]]:
    deployments = [draw(_deployment(i)) for i in range(draw(st.integers(2, 5)))]
    policies = [draw(_policy(i)) for i in range(draw(st.integers(0, 4)))]
    namespace = {
        "apiVersion": "v1",
        "kind": "NetpolNamespace",
        "metadata": {"name": "ns2", "labels": draw(_labels())},
    }
    return [namespace, *deployments, *policies]


def _rule_conns(rule: Rule, dst: Pod | None) -> ConnSet:
    if rule.ports is None:
        return ALL_CONNS
    total = NO_CONNS
    for spec in rule.ports:
        if isinstance(spec.port, str):
            for port in dst.ports if dst is not None else ():
                if port.name == spec.port and port.protocol == spec.protocol:
                    total = total | ConnSet.of(port.protocol, port.port, port.port)
        elif spec.port is None:
            total = total | ConnSet.of(spec.protocol)
        else:
            total = total | ConnSet.of(spec.protocol, spec.port, spec.end_port or spec.port)
    return total


class _Naive:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.ns = {n.name: dict(n.labels) for n in cluster.namespaces}

    def _selects(self, policy: NetpolPolicy, pod: Pod) -> bool:
        return pod.workload.namespace == policy.namespace and policy.pod_selector.matches(
            dict(pod.labels)
        )

    def _peer(self, peer: object, policy: NetpolPolicy, other: Pod | int) -> bool:
        if isinstance(peer, IPBlockPeer):
            return isinstance(other, int) and any(lo <= other <= hi for lo, hi in peer.addresses)
        assert isinstance(peer, PodPeer)
        if isinstance(other, int):
            return False
        ns = other.workload.namespace
        if peer.namespace_selector is None:
            in_ns = ns == policy.namespace
        else:
            in_ns = peer.namespace_selector.matches(self.ns[ns])
        return in_ns and (
            peer.pod_selector is None or peer.pod_selector.matches(dict(other.labels))
        )

    def side(self, direction: str, subject: Pod, other: Pod | int, dst: Pod | None) -> ConnSet:
        total, isolated = NO_CONNS, False
        for policy in self.cluster.policies:
            on = policy.isolates_ingress if direction == "ingress" else policy.isolates_egress
            if not on or not self._selects(policy, subject):
                continue
            isolated = True
            for rule in policy.ingress if direction == "ingress" else policy.egress:
                if rule.peers is None or any(self._peer(p, policy, other) for p in rule.peers):
                    total = total | _rule_conns(rule, dst)
        return total if isolated else ALL_CONNS


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(clusters())
def test_engine_matches_naive_pod_by_pod_evaluation(
    tmp_path: Path, docs: list[dict[str, object]]
) -> None:
    (tmp_path / "c.yaml").write_text(yaml.safe_dump_all(docs))
    cluster, diagnostics = load_manifests([tmp_path / "c.yaml"])
    assume(not [d for d in diagnostics if d.severity.value == "error"])  # e.g. TM603
    conn = analyze(cluster)
    naive = _Naive(cluster)
    expected: dict[tuple[str, str], ConnSet] = {}
    for a in cluster.pods:
        for b in cluster.pods:
            if a.workload.id == b.workload.id:
                continue
            allowed = naive.side("egress", a, b, b) & naive.side("ingress", b, a, b)
            if allowed:
                expected[a.workload.id, b.workload.id] = allowed
    assert {k: f.conns for k, f in conn.flows.items()} == expected
    _check_external(conn, naive, cluster)


def _check_external(conn: Connectivity, naive: _Naive, cluster: Cluster) -> None:
    samples = {0, 2**32 - 1, *conn.ingress_partition.starts, *conn.egress_partition.starts}
    samples |= {s - 1 for s in samples if s > 0}
    for pod in cluster.pods:
        for address in samples:
            got_in = _at(conn, "ingress", pod.workload.id, address)
            got_out = _at(conn, "egress", pod.workload.id, address)
            assert got_in == naive.side("ingress", pod, address, pod), (pod.workload.id, address)
            assert got_out == naive.side("egress", pod, address, None), (pod.workload.id, address)


def _at(conn: Connectivity, direction: str, workload: str, address: int) -> ConnSet:
    for flow in conn.ip_flows:
        if (
            flow.direction == direction
            and flow.workload == workload
            and flow.first <= address <= flow.last
        ):
            return flow.conns
    return NO_CONNS
