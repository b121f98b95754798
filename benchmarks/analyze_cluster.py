"""Seeded synthetic Kubernetes cluster export for the ``trustmap analyze`` benchmark.

Shaped like ``kubectl get pods,ns,netpol,svc,ingress -A -o json|yaml`` of a multi-team cluster:
namespaces with team/env/tier labels; pods owned by ReplicaSets (Deployments), StatefulSets (with
their per-pod ``statefulset.kubernetes.io/pod-name`` label) and DaemonSets, with named container
ports; NetworkPolicies as platform teams write them (default deny per namespace, DNS egress,
same-namespace app-to-app rules on named ports, cross-namespace rules with matchExpressions,
monitoring scrapes, port ranges, ipBlocks with excepts); Services and a few Ingresses.

    python benchmarks/analyze_cluster.py --pods 10000 --policies 2000 --out /tmp/cluster
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import yaml

TEAMS = [f"team{i:02d}" for i in range(40)]
ENVS = ["prod", "staging", "dev"]
COMPONENTS = ["web", "api", "worker", "db", "cache"]
PORTS: dict[str, list[dict[str, Any]]] = {
    "web": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
    "api": [
        {"name": "http", "containerPort": 8081},
        {"name": "grpc", "containerPort": 50051},
        {"name": "metrics", "containerPort": 9090},
    ],
    "worker": [{"name": "metrics", "containerPort": 9091}],
    "db": [{"name": "sql", "containerPort": 5432}],
    "cache": [{"name": "redis", "containerPort": 6379}],
}
EXTERNAL = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "203.0.113.0/24", "198.51.100.0/24"]


def _namespaces(count: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        team, env = TEAMS[i % len(TEAMS)], ENVS[rng.randrange(3)]
        out.append({"name": f"{team}-{env}-{i:03d}", "team": team, "env": env})
    return out


def _apps(namespaces: list[dict[str, Any]], pods: int, rng: random.Random) -> list[dict[str, Any]]:
    apps: list[dict[str, Any]] = []
    total = 0
    while total < pods:
        ns = namespaces[len(apps) % len(namespaces)]
        component = COMPONENTS[rng.randrange(len(COMPONENTS))]
        kind = "StatefulSet" if component in ("db", "cache") else "ReplicaSet"
        replicas = min(rng.randint(1, 7), pods - total)
        name = f"{component}-{len(apps):05d}"
        version = "v2" if rng.random() < 0.2 else "v1"
        apps.append(
            {
                "ns": ns,
                "name": name,
                "component": component,
                "kind": kind,
                "replicas": replicas,
                "version": version,
            }
        )
        total += replicas
    return apps


def _pod(app: dict[str, Any], index: int) -> dict[str, Any]:
    ns, kind, name = app["ns"], app["kind"], app["name"]
    labels = {
        "app": name,
        "component": app["component"],
        "team": ns["team"],
        "version": app["version"],
    }
    owner = f"{name}-7d9f8b6c5" if kind == "ReplicaSet" else name
    if kind == "ReplicaSet":
        labels["pod-template-hash"] = "7d9f8b6c5"
    else:
        labels["statefulset.kubernetes.io/pod-name"] = f"{name}-{index}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{owner}-{index:x}",
            "namespace": ns["name"],
            "labels": labels,
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": kind, "name": owner, "controller": True}
            ],
        },
        "spec": {"containers": [{"name": "main", "image": "x", "ports": PORTS[app["component"]]}]},
        "status": {"phase": "Running", "podIP": f"10.{index % 250}.{index // 250 % 250}.7"},
    }


def _system_pods(nodes: int) -> list[dict[str, Any]]:
    out = []
    for ns, name, labels in (
        ("kube-system", "kube-dns", {"k8s-app": "kube-dns"}),
        ("kube-system", "calico-node", {"k8s-app": "calico-node"}),
        ("monitoring", "node-exporter", {"app": "node-exporter"}),
        ("ingress-nginx", "ingress-nginx-controller", {"app.kubernetes.io/name": "ingress-nginx"}),
    ):
        kind = "ReplicaSet" if name in ("kube-dns", "ingress-nginx-controller") else "DaemonSet"
        for i in range(2 if kind == "ReplicaSet" else nodes):
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{name}-{i}",
                        "namespace": ns,
                        "labels": labels,
                        "ownerReferences": [{"kind": kind, "name": name, "controller": True}],
                    },
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                }
            )
    return out


def _policy(name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def _baseline(ns: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """Default deny (and DNS) for a namespace, as a platform team rolls it out."""
    name = ns["name"]
    out = [_policy("default-deny-ingress", name, {"podSelector": {}, "policyTypes": ["Ingress"]})]
    if rng.random() < 0.6:
        dns = {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        }
        spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]}
        out.append(_policy("default-deny-egress-allow-dns", name, spec))
    return out


def _app_policy(app: dict[str, Any], index: int, rng: random.Random) -> dict[str, Any]:
    ns, component, name = app["ns"], app["component"], app["name"]
    selector = {"matchLabels": {"app": name}}
    rules: list[dict[str, Any]] = []
    egress: list[dict[str, Any]] = []
    if component == "web":
        rules.append(
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                        }
                    }
                ],
                "ports": [{"port": "http"}],
            }
        )
    elif component == "api":
        rules.append(
            {
                "from": [
                    {"podSelector": {"matchLabels": {"component": "web"}}},
                    {
                        "namespaceSelector": {
                            "matchExpressions": [
                                {"key": "team", "operator": "In", "values": rng.sample(TEAMS, 3)},
                                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                            ]
                        },
                        "podSelector": {
                            "matchExpressions": [
                                {"key": "component", "operator": "In", "values": ["web", "api"]}
                            ]
                        },
                    },
                ],
                "ports": [{"port": "http"}, {"port": "grpc"}],
            }
        )
        egress.append(
            {
                "to": [{"podSelector": {"matchLabels": {"component": "db"}}}],
                "ports": [{"port": 5432}],
            }
        )
        if rng.random() < 0.3:
            cidr = rng.choice(EXTERNAL)
            egress.append({"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"port": 443}]})
    elif component in ("db", "cache"):
        rules.append(
            {
                "from": [
                    {
                        "podSelector": {
                            "matchExpressions": [
                                {"key": "component", "operator": "In", "values": ["api", "worker"]},
                                {"key": "version", "operator": "Exists"},
                            ]
                        }
                    }
                ],
                "ports": [{"port": "sql" if component == "db" else "redis"}],
            }
        )
    else:
        rules.append(
            {
                "from": [{"podSelector": {"matchLabels": {"component": "api"}}}],
                "ports": [{"port": 30000, "endPort": 30100}],
            }
        )
    rules.append(
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchExpressions": [{"key": "monitoring", "operator": "Exists"}]
                    },
                    "podSelector": {
                        "matchExpressions": [
                            {
                                "key": "app",
                                "operator": "In",
                                "values": ["prometheus", "node-exporter"],
                            }
                        ]
                    },
                }
            ],
            "ports": [{"port": "metrics"}],
        }
    )
    if rng.random() < 0.15:
        cidr = rng.choice(EXTERNAL)
        block: dict[str, Any] = {"cidr": cidr}
        if cidr == "10.0.0.0/8":
            block["except"] = [f"10.{rng.randrange(256)}.0.0/16"]
        rules.append({"from": [{"ipBlock": block}]})
    spec: dict[str, Any] = {"podSelector": selector, "ingress": rules}
    if egress:
        spec["egress"] = egress
    return _policy(f"{name}-{index}", ns["name"], spec)


def _services(apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for app in apps:
        if app["component"] == "web":
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": app["name"], "namespace": app["ns"]["name"]},
                    "spec": {
                        "selector": {"app": app["name"]},
                        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                    },
                }
            )
    return out


def _ingresses(services: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    out = []
    for svc in services[:count]:
        meta = svc["metadata"]
        backend = {"service": {"name": meta["name"], "port": {"name": "http"}}}
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                "spec": {
                    "rules": [
                        {
                            "http": {
                                "paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]
                            }
                        }
                    ]
                },
            }
        )
    return out


def generate(pods: int, policies: int, out: Path, seed: int = 7) -> dict[str, int]:
    """Write the cluster into ``out``; returns counts of what was written."""
    rng = random.Random(seed)
    namespaces = _namespaces(max(4, pods // 40), rng)
    apps = _apps(namespaces, pods - (2 * 40 + 4), rng)
    pod_objects = [_pod(app, i) for app in apps for i in range(app["replicas"])]
    pod_objects += _system_pods(40)
    ns_objects = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": n["name"], "labels": {"team": n["team"], "env": n["env"]}},
        }
        for n in namespaces
    ]
    ns_objects.append(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "monitoring", "labels": {"monitoring": "true"}},
        }
    )
    protected = [n for n in namespaces if rng.random() < 0.95]
    policy_objects = [p for n in protected for p in _baseline(n, rng)]
    candidates = [a for a in apps if a["ns"] in protected]
    rng.shuffle(candidates)
    for i, app in enumerate(candidates):
        if len(policy_objects) >= policies:
            break
        policy_objects.append(_app_policy(app, i, rng))
    policy_objects = policy_objects[:policies]
    services = _services(apps)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pods.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "PodList", "items": pod_objects})
    )
    (out / "namespaces.yaml").write_text(yaml.safe_dump_all(ns_objects, sort_keys=False))
    (out / "policies.yaml").write_text(yaml.safe_dump_all(policy_objects, sort_keys=False))
    (out / "services.yaml").write_text(
        yaml.safe_dump_all(services + _ingresses(services, 20), sort_keys=False)
    )
    return {
        "pods": len(pod_objects),
        "namespaces": len(ns_objects),
        "policies": len(policy_objects),
        "apps": len(apps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps(generate(args.pods, args.policies, args.out, args.seed)))


if __name__ == "__main__":
    main()
