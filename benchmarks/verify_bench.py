"""Benchmark ``trustmap verify`` on every target for the generated organisation (``generate.py``).

The declarations are generated (10,000 services, ~50,000 dependencies by default); the workload
manifests are one Deployment and one Service per declared service (its pod labels, service account, the gRPC and
metrics ports and a gRPC readiness probe) plus the Organization's peers (kube-dns, the ingress
controller, Prometheus), written as one JSON ``List`` (what ``kubectl get deploy,svc -A -o json``
gives: YAML parsing of 20,000 documents would dominate every target's time). Each target is verified from the checked graph with its compiled
objects (what ``trustmap verify --target T`` does without ``--policies``): reading the manifests,
compiling, evaluating and comparing. Load + check of the graph is timed apart.

    .venv/bin/python benchmarks/verify_bench.py --services 10000 --edges 50000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate
from trustmap.graph import load_graph
from trustmap.model import Graph
from trustmap.verify import verify

TARGETS = ("kubernetes", "cilium", "istio", "linkerd", "admission")


def deployment(
    namespace: str, name: str, labels: dict[str, str], account: str | None
) -> dict[str, object]:
    """A Deployment with the generated services' ports and a gRPC readiness probe."""
    container = {
        "name": "main",
        "image": "example/app:1",
        "ports": [
            {"containerPort": 8080, "name": "grpc"},
            {"containerPort": 9090, "name": "metrics"},
        ],
        "readinessProbe": {"grpc": {"port": 8080}},
    }
    spec: dict[str, object] = {"containers": [container]}
    if account:
        spec["serviceAccountName"] = account
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": spec},
        },
    }


def service(namespace: str, name: str, labels: dict[str, str]) -> dict[str, object]:
    """The Kubernetes Service clients dial (meshes route by its host name)."""
    ports = [{"name": "grpc", "port": 8080}, {"name": "metrics", "port": 9090}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": labels, "ports": ports},
    }


def manifests(graph: Graph, out: Path) -> Path:
    """Write the workloads of ``graph`` (and of its Organization's peers) to ``out``."""
    docs = []
    for ref, s in graph.services.items():
        labels = dict(s.workload.pod_labels)
        docs.append(deployment(ref.namespace, ref.name, labels, s.workload.service_account))
        docs.append(service(ref.namespace, ref.name, labels))
    org = graph.organization
    if org is not None and org.dns is not None and org.dns.namespace:
        docs.append(deployment(org.dns.namespace, "coredns", dict(org.dns.pod_labels), "coredns"))
        docs.append(service(org.dns.namespace, "kube-dns", dict(org.dns.pod_labels)))
    for controller in org.ingress_controllers if org else ():
        docs.append(
            deployment(
                controller.namespace,
                "controller",
                dict(controller.pod_labels),
                controller.service_account,
            )
        )
    for consumer in org.platform_consumers if org else ():
        docs.append(
            deployment(
                consumer.namespace,
                consumer.name,
                dict(consumer.pod_labels),
                consumer.service_account,
            )
        )
    out.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--targets", nargs="*", default=list(TARGETS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(args.services, args.edges, root / "org")
        start = time.perf_counter()
        graph = load_graph([root / "org"], dt.date(2026, 11, 23))
        print(f"load + check: {time.perf_counter() - start:.1f} s, {len(graph.edges)} edges")
        workloads = manifests(graph, root / "workloads.json")
        print("| target | verify s | CPU s | findings by code |")
        print("| --- | ---: | ---: | --- |")
        for target in args.targets:
            wall, cpu = time.perf_counter(), time.process_time()
            report = verify(graph, [workloads], target=target)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            counts = Counter(d.code for d in report.findings)
            shown = ", ".join(f"{c} {n}" for c, n in sorted(counts.items()))
            print(f"| {target} | {wall:.1f} | {cpu:.1f} | {shown} |", flush=True)


if __name__ == "__main__":
    main()
