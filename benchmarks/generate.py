"""Seeded synthetic organisations for benchmarks: N services, M dependencies, teams and namespaces.

One file per team (``services/<team>.yaml``), like real repositories, plus ``organization.yaml`` and
``teams.yaml``. A small share of declarations is deliberately invalid (unknown services, missing
reasons, expired grants, unconsented calls) so the checks have work to do.

    python benchmarks/generate.py --services 10000 --edges 50000 --out /tmp/org
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

ORG = """apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: synthetic}
spec:
  trustDomain: cluster.local
  dns:
    selector: {namespace: kube-system, podLabels: {k8s-app: kube-dns}}
  ingressControllers:
    - {namespace: ingress-nginx, podLabels: {app.kubernetes.io/name: ingress-nginx}, serviceAccount: ingress-nginx}
  platformConsumers:
    - {name: prometheus, namespace: monitoring, podLabels: {app: prometheus}, serviceAccount: prometheus, interfaces: [metrics]}
  apiServer: {cidrs: [10.0.0.1/32]}
  rules: {requireReason: true, requireProviderConsent: true, maxExpiryDays: 365}
  environments:
    - {name: prod, mode: enforce, namespaces: ["*"]}
    - {name: staging, mode: audit, namespaces: ["*"]}
"""


def plan(
    services: int, edges: int, seed: int
) -> tuple[list[tuple[str, str, str]], dict[int, list[int]]]:
    """Services as (team, namespace, name) and each service's dependency targets."""
    rng = random.Random(seed)
    teams = max(1, services // 100)
    names = []
    for n in range(services):
        team = n % teams
        names.append((f"team-{team}", f"ns-{team}-{n % 3}", f"svc-{n}"))
    deps: dict[int, list[int]] = {n: [] for n in range(services)}
    for _ in range(edges):
        source = rng.randrange(services)
        # Mostly calls within the team's neighbourhood, sometimes across the organisation.
        target = (
            (source + rng.randrange(1, 200)) % services
            if rng.random() < 0.8
            else rng.randrange(services)
        )
        if target != source and target not in deps[source]:
            deps[source].append(target)
    return names, deps


def service_yaml(
    n: int,
    names: list[tuple[str, str, str]],
    deps: dict[int, list[int]],
    consumers: dict[int, list[int]],
    rng: random.Random,
) -> str:
    team, namespace, name = names[n]
    callers = sorted(consumers.get(n, []))
    consumer_list = ", ".join(f"{names[c][1]}/{names[c][2]}" for c in callers) or ""
    lines = [
        "apiVersion: trustmap.dev/v1alpha1",
        "kind: Service",
        f"metadata: {{name: {name}, namespace: {namespace}}}",
        "spec:",
        f"  team: {team}",
        f"  workload: {{serviceAccount: {name}, podLabels: {{app: {name}}}}}",
        "  interfaces:",
        "    - name: grpc",
        "      port: 8080",
        "      appProtocol: grpc",
        f"      exposure: {'ingress' if n % 50 == 0 else 'internal'}",
        f"      consumers: [{consumer_list}]",
        f"      methods: [pkg{n}.Api/Get, pkg{n}.Api/List, pkg{n}.Api/Update]",
        "    - {name: metrics, port: 9090, appProtocol: http}",
    ]
    if deps[n]:
        lines.append("  dependsOn:")
    for target in deps[n]:
        t_namespace, t_name = names[target][1], names[target][2]
        roll = rng.random()
        service = f"{t_namespace}/{t_name}" if roll > 0.002 else f"{t_namespace}/{t_name}x"
        lines += [f"    - service: {service}", "      interface: grpc"]
        if roll > 0.004:
            lines.append(f"      reason: {name} reads data it needs from {t_name}")
        lines.append(f"      methods: [pkg{target}.Api/Get]")
        if 0.004 < roll < 0.01:
            lines.append("      expires: 2025-01-31")
        elif roll > 0.95:
            lines.append("      expires: 2027-06-30")
    if n % 40 == 0:
        lines += ["  egress:", "    - {host: api.example.com, ports: [443], reason: partner API}"]
    return "\n".join(lines) + "\n"


def generate(services: int, edges: int, out: Path, seed: int = 42) -> None:
    """Write the organisation under ``out``."""
    rng = random.Random(seed + 1)
    names, deps = plan(services, edges, seed)
    consumers: dict[int, list[int]] = {}
    for source, targets in deps.items():
        for target in targets:
            if rng.random() > 0.003:  # a few calls the provider never consented to
                consumers.setdefault(target, []).append(source)
    (out / "services").mkdir(parents=True, exist_ok=True)
    (out / "organization.yaml").write_text(ORG)
    teams = sorted({t for t, _, _ in names})
    team_docs = []
    for team in teams:
        spaces = sorted({ns for t, ns, _ in names if t == team})
        team_docs.append(
            "apiVersion: trustmap.dev/v1alpha1\nkind: Team\n"
            f"metadata: {{name: {team}}}\nspec:\n  owners: [{team}-lead@example.com]\n"
            f"  namespaces: [{', '.join(spaces)}]\n"
        )
    (out / "teams.yaml").write_text("---\n".join(team_docs))
    by_team: dict[str, list[int]] = {}
    for n, (team, _, _) in enumerate(names):
        by_team.setdefault(team, []).append(n)
    for team, members in by_team.items():
        docs = [service_yaml(n, names, deps, consumers, rng) for n in members]
        (out / "services" / f"{team}.yaml").write_text("---\n".join(docs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    generate(args.services, args.edges, args.out, args.seed)
    print(f"wrote {args.services} services, ~{args.edges} dependencies under {args.out}")


if __name__ == "__main__":
    main()
