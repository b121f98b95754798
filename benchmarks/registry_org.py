"""A seeded synthetic organisation that is valid by construction, split by team, for the registry.

Unlike ``generate.py`` (which plants errors for the checkers), every dependency here has a
reason and the provider's consent, so each team's push is accepted. Teams push in two rounds:
first their services without dependencies (so every target exists), then with them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ORG = """apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: synthetic}
spec:
  dns:
    selector: {namespace: kube-system, podLabels: {k8s-app: kube-dns}}
  ingressControllers:
    - {namespace: ingress-nginx, podLabels: {app.kubernetes.io/name: ingress-nginx}, serviceAccount: ingress-nginx}
  rules: {requireReason: true, requireProviderConsent: true, maxExpiryDays: 365}
  environments:
    - {name: prod, mode: enforce, namespaces: ["*"]}
"""


@dataclass(frozen=True, slots=True)
class Org:
    """Platform files and each team's services, with and without dependencies."""

    platform: dict[str, str]
    """path -> content of the platform scope (Organization, Teams)."""
    bare: dict[str, str]
    """team -> its services without dependencies."""
    full: dict[str, str]
    """team -> its services with dependencies."""
    refs: list[tuple[str, str, str]]
    """(team, namespace, name) of every service."""
    edges: int
    """Dependencies declared."""


def plan(
    services: int, edges: int, team_size: int, seed: int
) -> tuple[list[tuple[str, str, str]], dict[int, list[int]]]:
    """Services as (team, namespace, name) and each service's targets (mostly nearby)."""
    rng = random.Random(seed)
    refs = [(f"team-{n // team_size}", f"ns-{n // team_size}", f"svc-{n}") for n in range(services)]
    deps: dict[int, list[int]] = {n: [] for n in range(services)}
    for _ in range(edges):
        source = rng.randrange(services)
        near = (source + rng.randrange(1, 3 * team_size)) % services
        target = near if rng.random() < 0.8 else rng.randrange(services)
        if target != source and target not in deps[source]:
            deps[source].append(target)
    return refs, deps


def _service(n: int, refs: list[tuple[str, str, str]], deps: list[int], callers: list[int]) -> str:
    team, namespace, name = refs[n]
    consumers = ", ".join(f"{refs[c][1]}/{refs[c][2]}" for c in sorted(callers))
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
        f"      consumers: [{consumers}]",
        f"      methods: [pkg{n}.Api/Get, pkg{n}.Api/List]",
    ]
    if deps:
        lines.append("  dependsOn:")
    for target in deps:
        lines += [
            f"    - service: {refs[target][1]}/{refs[target][2]}",
            "      interface: grpc",
            f"      methods: [pkg{target}.Api/Get]",
            f"      reason: {name} reads what it needs from {refs[target][2]}",
        ]
    return "\n".join(lines) + "\n"


def build(services: int, edges: int, team_size: int = 100, seed: int = 42) -> Org:
    """The organisation: ``services`` services in teams of ``team_size``, about ``edges`` deps."""
    refs, deps = plan(services, edges, team_size, seed)
    callers: dict[int, list[int]] = {n: [] for n in range(services)}
    for source, targets in deps.items():
        for target in targets:
            callers[target].append(source)
    teams = sorted({t for t, _, _ in refs}, key=lambda t: int(t.split("-")[1]))
    team_docs = [
        f"apiVersion: trustmap.dev/v1alpha1\nkind: Team\nmetadata: {{name: {t}}}\nspec:\n"
        f"  owners: [{t}-lead@example.com]\n  namespaces: [ns-{t.split('-')[1]}]\n"
        for t in teams
    ]
    bare: dict[str, list[str]] = {t: [] for t in teams}
    full: dict[str, list[str]] = {t: [] for t in teams}
    for n, (team, _, _) in enumerate(refs):
        bare[team].append(_service(n, refs, [], callers[n]))
        full[team].append(_service(n, refs, deps[n], callers[n]))
    return Org(
        {"organization.yaml": ORG, "teams.yaml": "---\n".join(team_docs)},
        {t: "---\n".join(d) for t, d in bare.items()},
        {t: "---\n".join(d) for t, d in full.items()},
        refs,
        sum(len(d) for d in deps.values()),
    )
