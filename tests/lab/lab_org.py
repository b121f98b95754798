"""A seeded organisation for the lab: HTTP and gRPC interfaces, routes of every declared shape.

Thirty services in three namespaces of three teams. HTTP interfaces offer exact routes, ``/*``
prefixes, a route without a method and a route for a non-standard method; gRPC interfaces offer
three methods. Each dependency asks for a random non-empty subset of what its provider offers, and
the provider consents, so every dependency is an effective edge.

:func:`write_lab_manifests` writes a Deployment per service with kubelet probes: HTTP services are
probed with ``GET /healthz`` (a declared route) and ``GET /ready?full=1`` (undeclared, with a query)
on their port and ``GET /livez`` on a health port of their own; gRPC services with a gRPC probe.
Every third HTTP service is public (``exposure: world``), so on Cilium the host falls under its L7
rules, and every fifth service turns Istio's probe rewrite off.
"""

from __future__ import annotations

import random
from pathlib import Path

NAMESPACES = ("shop", "pay", "ops")
HTTP_ROUTES = (
    "GET /api/items",
    "GET /api/items/*",
    "POST /api/items",
    "DELETE /api/items/*",
    "/static/*",
    "GET /healthz",
)
GRPC_METHODS = ("Get", "List", "Update")

_ORG = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: lab}
spec:
  trustDomain: lab.local
  dns:
    selector: {namespace: kube-system, podLabels: {k8s-app: kube-dns}}
    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
  rules: {requireReason: true, requireProviderConsent: true}
  environments:
    - {name: prod, mode: enforce, namespaces: ["*"]}
    - {name: staging, mode: audit, namespaces: ["*"]}
"""


def write_lab_org(root: Path, services: int = 30, seed: int = 7) -> Path:
    """Write the organisation under ``root`` and return it."""
    rng = random.Random(seed)
    names = [(NAMESPACES[n % 3], f"svc{n:02d}") for n in range(services)]
    http = {n: n % 2 == 0 for n in range(services)}
    deps = {
        n: sorted(rng.sample([m for m in range(services) if m != n], 2)) for n in range(services)
    }
    callers: dict[int, list[int]] = {n: [] for n in range(services)}
    for source, targets in deps.items():
        for target in targets:
            callers[target].append(source)
    (root / "organization.yaml").write_text(_ORG, encoding="utf-8")
    (root / "teams.yaml").write_text(_teams(), encoding="utf-8")
    body = [_service(n, names, http, deps[n], callers[n], rng) for n in range(services)]
    (root / "services.yaml").write_text("---\n".join(body), encoding="utf-8")
    return root


WORLD = 6
"""Every WORLD-th service (an HTTP one: even numbers) has ``exposure: world``."""
REWRITE_OFF = 5
"""Every REWRITE_OFF-th service's pods turn Istio's probe rewrite off."""
HEALTH_PORT = 8081


def write_lab_manifests(root: Path, services: int = 30) -> Path:
    """Write the Deployments of :func:`write_lab_org`'s services under ``root`` and return it."""
    names = [(NAMESPACES[n % 3], f"svc{n:02d}") for n in range(services)]
    docs = [_deployment(n, *names[n]) for n in range(services)]
    (root / "deployments.yaml").write_text("---\n".join(docs), encoding="utf-8")
    return root


def _deployment(n: int, namespace: str, name: str) -> str:
    http = n % 2 == 0
    annotations = (
        '      annotations: {sidecar.istio.io/rewriteAppHTTPProbers: "false"}\n'
        if n % REWRITE_OFF == 0
        else ""
    )
    if http:
        ports = f"[{{containerPort: 8080}}, {{containerPort: {HEALTH_PORT}}}]"
        probes = (
            "          readinessProbe: {httpGet: {path: /healthz, port: 8080}}\n"
            "          startupProbe: {httpGet: {path: /ready?full=1, port: 8080}}\n"
            f"          livenessProbe: {{httpGet: {{path: /livez, port: {HEALTH_PORT}}}}}\n"
        )
    else:
        ports = "[{containerPort: 9090}]"
        probes = "          readinessProbe: {grpc: {port: 9090}}\n"
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\n"
        "spec:\n"
        f"  selector: {{matchLabels: {{app: {name}}}}}\n"
        "  template:\n"
        "    metadata:\n"
        f"      labels: {{app: {name}}}\n"
        f"{annotations}"
        "    spec:\n"
        f"      serviceAccountName: {name}\n"
        "      containers:\n"
        f"        - name: {name}\n"
        f"          image: example.com/{name}:1\n"
        f"          ports: {ports}\n"
        f"{probes}"
    )


def _teams() -> str:
    return "---\n".join(
        "apiVersion: trustmap.dev/v1alpha1\nkind: Team\n"
        f"metadata: {{name: team-{ns}}}\nspec:\n  owners: [lead-{ns}@example.com]\n  namespaces: [{ns}]\n"
        for ns in NAMESPACES
    )


def _offered(n: int, http: bool) -> list[str]:
    return list(HTTP_ROUTES) if http else [f"lab{n}.Api/{m}" for m in GRPC_METHODS]


def _service(
    n: int,
    names: list[tuple[str, str]],
    http: dict[int, bool],
    targets: list[int],
    callers: list[int],
    rng: random.Random,
) -> str:
    namespace, name = names[n]
    consumers = ", ".join(f"{names[c][0]}/{names[c][1]}" for c in sorted(callers))
    offered = ", ".join(f'"{m}"' for m in _offered(n, http[n]))
    lines = [
        "apiVersion: trustmap.dev/v1alpha1",
        "kind: Service",
        f"metadata: {{name: {name}, namespace: {namespace}}}",
        "spec:",
        f"  team: team-{namespace}",
        f"  workload: {{serviceAccount: {name}, podLabels: {{app: {name}}}}}",
        "  interfaces:",
        f"    - name: {'http' if http[n] else 'grpc'}",
        f"      port: {8080 if http[n] else 9090}",
        f"      appProtocol: {'http' if http[n] else 'grpc'}",
        *(["      exposure: world"] if n % WORLD == 0 else []),
        f"      consumers: [{consumers}]",
        f"      methods: [{offered}]",
        "  dependsOn:",
    ]
    for target in targets:
        wanted = rng.sample(_offered(target, http[target]), rng.randint(1, 3))
        lines += [
            f"    - service: {names[target][0]}/{names[target][1]}",
            f"      interface: {'http' if http[target] else 'grpc'}",
            f"      methods: [{', '.join(repr(m).replace(chr(39), chr(34)) for m in sorted(wanted))}]",
            f"      reason: {name} uses {names[target][1]}",
        ]
    return "\n".join(lines) + "\n"
