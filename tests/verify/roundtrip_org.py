"""Random small organisations for the round-trip property: declarations and matching manifests.

An organisation has 2-6 services in 1-3 namespaces, each with 1-2 interfaces (random port,
TCP or UDP, internal or ingress exposure), random dependencies that the providers consent to,
and optionally a DNS resolver (kube-dns in kube-system) and an ingress controller
(ingress-nginx). :func:`declarations` writes it as trustmap YAML, :func:`manifests` as
Namespaces and Deployments (one per service, plus the resolver and the controller).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from hypothesis import strategies as st

NAMESPACES = ("shop", "pay", "data")
DNS = ("kube-system", "kube-dns", {"k8s-app": "kube-dns"})
INGRESS = ("ingress-nginx", "ingress-nginx-controller", {"app.kubernetes.io/name": "ingress-nginx"})


@dataclass(frozen=True)
class Iface:
    name: str
    port: int
    protocol: str
    exposure: str


@dataclass(frozen=True)
class Svc:
    namespace: str
    name: str
    interfaces: tuple[Iface, ...]


@dataclass(frozen=True)
class Org:
    services: tuple[Svc, ...]
    dependencies: tuple[tuple[int, int, int], ...]
    """(caller index, provider index, interface index)."""
    dns: bool
    ingress: bool


@st.composite
def orgs(draw: st.DrawFn) -> Org:
    """A random organisation (see the module docstring)."""
    namespaces = draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=3, unique=True))
    count = draw(st.integers(2, 6))
    ingress = draw(st.booleans())
    exposures = ["internal", "ingress"] if ingress else ["internal"]
    services = []
    for i in range(count):
        ports = draw(st.lists(st.integers(1000, 9999), min_size=1, max_size=2, unique=True))
        interfaces = tuple(
            Iface(
                f"if{j}",
                port,
                draw(st.sampled_from(["TCP", "UDP"])),
                draw(st.sampled_from(exposures)),
            )
            for j, port in enumerate(ports)
        )
        services.append(Svc(draw(st.sampled_from(namespaces)), f"svc{i}", interfaces))
    candidates = [
        (a, b, k)
        for a in range(count)
        for b in range(count)
        if a != b
        for k in range(len(services[b].interfaces))
    ]
    deps = draw(st.lists(st.sampled_from(candidates), unique=True, max_size=8))
    return Org(tuple(services), tuple(sorted(deps)), draw(st.booleans()), ingress)


def declarations(org: Org) -> str:
    """The organisation as trustmap declarations (one YAML stream)."""
    spec: dict[str, object] = {}
    if org.dns:
        spec["dns"] = {
            "selector": {"namespace": DNS[0], "podLabels": DNS[2]},
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        }
    if org.ingress:
        spec["ingressControllers"] = [{"namespace": INGRESS[0], "podLabels": INGRESS[2]}]
    docs: list[dict[str, object]] = [
        _doc("Organization", {"name": "random"}, spec),
        _doc(
            "Team",
            {"name": "team"},
            {"owners": ["owner@example.com"], "namespaces": sorted(NAMESPACES)},
        ),
    ]
    docs += [_service(org, i) for i in range(len(org.services))]
    return yaml.safe_dump_all(docs, sort_keys=False)


def _doc(kind: str, metadata: dict[str, str], spec: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "trustmap.dev/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}


def _ref(svc: Svc) -> str:
    return f"{svc.namespace}/{svc.name}"


def _service(org: Org, index: int) -> dict[str, object]:
    svc = org.services[index]
    interfaces = []
    for k, iface in enumerate(svc.interfaces):
        callers = [_ref(org.services[a]) for a, b, kk in org.dependencies if (b, kk) == (index, k)]
        interfaces.append(
            {
                "name": iface.name,
                "port": iface.port,
                "protocol": iface.protocol,
                "exposure": iface.exposure,
                "consumers": callers,
            }
        )
    depends = [
        {
            "service": _ref(org.services[b]),
            "interface": org.services[b].interfaces[k].name,
            "reason": "generated",
        }
        for a, b, k in org.dependencies
        if a == index
    ]
    spec = {
        "team": "team",
        "workload": {"podLabels": {"app": svc.name}},
        "interfaces": interfaces,
        "dependsOn": depends,
    }
    return _doc("Service", {"name": svc.name, "namespace": svc.namespace}, spec)


def manifests(org: Org) -> str:
    """Namespaces (with their name label) and one Deployment per service and peer."""
    workloads = [(s.namespace, s.name, {"app": s.name}) for s in org.services]
    workloads += [DNS] if org.dns else []
    workloads += [INGRESS] if org.ingress else []
    namespaces = sorted({ns for ns, _, _ in workloads})
    docs: list[dict[str, object]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
        }
        for ns in namespaces
    ]
    docs += [_deployment(ns, name, labels) for ns, name, labels in workloads]
    return yaml.safe_dump_all(docs, sort_keys=True)


def _deployment(namespace: str, name: str, labels: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": "example/app:1"}]},
            },
        },
    }
