"""network-config-analyzer (``nca``, IBM np-guard) as an outside oracle for compiled NetworkPolicies.

``nca`` pins old dependencies, so it lives in its own virtualenv (``.venv-nca`` at the repository
root), which the project's setup installs (``make nca``; ``make test`` runs it), never a test. The oracle compares what ``nca`` says the compiled policies
allow — on real manifests, or on one Deployment per declared service — with what the graph
declares: effective edges plus DNS, plus the Organization's peers (ingress controllers, platform
consumers, the DNS resolver), which are given Deployments in their own namespaces.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from trustmap.model import Graph, Labels

ROOT = Path(__file__).resolve().parents[2]
NCA_VENV = ROOT / ".venv-nca"
ALL = "*"

Flows = dict[tuple[str, str], frozenset[str]]
"""``(source, destination) -> connections`` (``TCP/80``, ``UDP/*``, or ``*`` for everything)."""


def nca_binary() -> tuple[Path | None, str]:
    """The ``nca`` executable ``make nca`` installed, or ``None`` and why not."""
    binary = NCA_VENV / "bin" / "nca"
    if binary.exists():
        return binary, ""
    return None, f"{binary} is missing: run `make nca` (part of `make test`)"


def in_ci() -> bool:
    """Whether this runs in CI, where the oracle must never be skipped."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Workload:
    """A Deployment: where it runs and the labels of its pods."""

    namespace: str
    name: str
    labels: dict[str, str]

    @property
    def key(self) -> str:
        """How nca names it in ``txt_no_fw_rules`` output."""
        return f"{self.namespace}/{self.name}[Deployment]"

    def matches(self, namespace: str, labels: Labels) -> bool:
        """Whether a pod selector (namespace + labels) selects this workload's pods."""
        return self.namespace == namespace and all(self.labels.get(k) == v for k, v in labels)


def workloads_of(text: str) -> list[Workload]:
    """Deployments (and their pod template labels) in a manifest stream."""
    found = []
    for doc in yaml.safe_load_all(text):
        if doc and doc.get("kind") == "Deployment":
            meta = doc["metadata"]
            labels = doc["spec"]["template"]["metadata"].get("labels", {})
            found.append(Workload(meta.get("namespace", "default"), meta["name"], labels))
    return found


def _deployment(namespace: str, name: str, labels: Labels, ports: Iterable[tuple[int, str]]) -> Any:
    container: dict[str, Any] = {"name": "main", "image": "example"}
    if ports:
        container["ports"] = [{"containerPort": p, "protocol": proto} for p, proto in ports]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container]}},
        },
    }


def infrastructure(graph: Graph, namespaces: Iterable[str]) -> str:
    """Namespaces (with their name label) and a Deployment for each peer the Organization names."""
    org = graph.organization
    docs: list[Any] = []
    if org is not None and org.dns is not None and org.dns.namespace is not None:
        ports = [(p.port, p.protocol) for p in org.dns.ports]
        docs.append(_deployment(org.dns.namespace, "dns-resolver", org.dns.pod_labels, ports))
    for n, controller in enumerate(org.ingress_controllers if org else ()):
        docs.append(_deployment(controller.namespace, f"ingress-{n}", controller.pod_labels, []))
    for consumer in org.platform_consumers if org else ():
        docs.append(_deployment(consumer.namespace, consumer.name, consumer.pod_labels, []))
    spaces = set(namespaces) | {d["metadata"]["namespace"] for d in docs}
    docs[:0] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
        }
        for ns in sorted(spaces)
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def service_workloads(graph: Graph) -> str:
    """One Deployment per declared service, with its pod labels and container ports."""
    docs = [
        _deployment(
            ref.namespace,
            ref.name,
            s.workload.pod_labels,
            sorted({(i.port, i.protocol) for i in s.interfaces}),
        )
        for ref, s in graph.services.items()
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def run_nca(binary: Path, policies: Path, manifests: list[Path], namespaces: Path) -> str:
    """``nca --connectivity`` as one line per workload pair."""
    args = [str(binary), "--connectivity", str(policies), "--ns_list", str(namespaces)]
    for manifest in manifests:
        args += ["--pod_list", str(manifest)]
    args += ["-o", "txt_no_fw_rules", "--output_endpoints", "deployments"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 or "=>" in done.stdout, done.stderr[-2000:]
    return done.stdout


_LINE = re.compile(r"^(\S+) => (\S+) : (.+)$")
_BLOCK = re.compile(r"\{protocols:([A-Z, ]+?)(?:,dst_ports:([0-9,\- ]+))?\}")


def parse_connlist(text: str, managed: set[str]) -> Flows:
    """Pairs with at least one end in a managed namespace; IP endpoints merged into CIDR lists."""
    flows: dict[tuple[str, str], set[str]] = defaultdict(set)
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match and (_namespace(match[1]) in managed or _namespace(match[2]) in managed):
            flows[(match[1], match[2])] |= _connections(match[3])
    return merge_ips(flows)


def _namespace(endpoint: str) -> str:
    return endpoint.split("/", 1)[0] if "[" in endpoint else ""


def _connections(text: str) -> set[str]:
    if text.strip() == "All connections":
        return {ALL}
    found = set()
    for protocols, ports in _BLOCK.findall(text):
        for protocol in (p.strip() for p in protocols.split(",")):
            found |= (
                {f"{protocol}/{port}" for port in _ports(ports)} if ports else {f"{protocol}/*"}
            )
    return found


def _ports(text: str) -> list[str]:
    found: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        low, _, high = part.partition("-")
        found += [str(n) for n in range(int(low), int(high or low) + 1)]
    return found


def merge_ips(flows: dict[tuple[str, str], set[str]]) -> Flows:
    """Join IP-range endpoints that share the other end and the connections into CIDR lists."""
    merged: dict[tuple[str, str], set[str]] = defaultdict(set)
    ranges: dict[tuple[str, str, frozenset[str]], list[Any]] = defaultdict(list)
    for (src, dst), conns in flows.items():
        frozen = frozenset(conns)
        if "[" not in src:
            ranges[("src", dst, frozen)] += _networks(src)
        elif "[" not in dst:
            ranges[("dst", src, frozen)] += _networks(dst)
        else:
            merged[(src, dst)] |= conns
    for (side, other, conns), networks in ranges.items():
        cidrs = ",".join(str(n) for n in ipaddress.collapse_addresses(networks))
        merged[(cidrs, other) if side == "src" else (other, cidrs)] |= conns
    return {key: frozenset(value) for key, value in merged.items()}


def _networks(text: str) -> list[Any]:
    if "/" in text:
        return [ipaddress.ip_network(text)]
    low, _, high = text.partition("-")
    first, last = ipaddress.ip_address(low), ipaddress.ip_address(high or low)
    return list(ipaddress.summarize_address_range(first, last))  # type: ignore[arg-type]


def expected_flows(graph: Graph, workloads: list[Workload]) -> Flows:
    """What the compiled NetworkPolicies should allow: edges, DNS, CIDR and API server egress."""
    flows: dict[tuple[str, str], set[str]] = defaultdict(set)
    managed = set(graph.namespaces())
    outside = [w for w in workloads if w.namespace not in managed]

    def pods(namespace: str, labels: Labels) -> list[str]:
        return [w.key for w in workloads if w.matches(namespace, labels)]

    for edge in graph.edges:
        target = graph.services[edge.target].workload.pod_labels
        conn = f"{edge.protocol}/{edge.port}"
        if edge.source.kind == "world":
            sources = ["0.0.0.0/0", *(w.key for w in outside)]
        else:
            sources = pods(edge.source.namespace, edge.source.pod_labels)
        for src in sources:
            for dst in pods(edge.target.namespace, target):
                flows[(src, dst)].add(conn)
    _dns_and_egress(graph, pods, flows)
    return merge_ips(flows)


def _dns_and_egress(graph: Graph, pods: Any, flows: dict[tuple[str, str], set[str]]) -> None:
    org = graph.organization
    for ref in graph.dns_clients:
        assert org is not None
        assert org.dns is not None
        dns = org.dns
        targets = pods(dns.namespace, dns.pod_labels) if dns.namespace else list(dns.cidrs)
        for src in pods(ref.namespace, graph.services[ref].workload.pod_labels):
            for dst in targets:
                flows[(src, dst)] |= {f"{p.protocol}/{p.port}" for p in dns.ports}
    for external in graph.external:
        egress = external.egress
        api = org.api_server if org else None
        cidrs = (
            [egress.cidr] if egress.cidr else list(api.cidrs) if egress.api_server and api else []
        )
        ports = egress.ports or (api.ports if egress.api_server and api else ())
        conns = {f"{p.protocol}/{p.port}" for p in ports} or {ALL}
        labels = graph.services[external.source].workload.pod_labels
        for src in pods(external.source.namespace, labels):
            for cidr in cidrs:
                flows[(src, cidr)] |= conns
