"""Random organisations that reach every branch of the compilers, as declaration text.

``benchmarks/generate.py`` writes large organisations of one shape (plain TCP interfaces, one kind
of egress); these are small and varied instead, so that every part of a hot object is drawn: DNS
by selector or by CIDR, ingress controllers, platform consumers, the API server; interfaces with
a service port, UDP, gRPC methods or HTTP routes, every exposure; dependencies with methods and
expiry dates; egress to hosts, CIDRs and the API server; enforce and audit environments; and,
as ``--manifests`` gives them, workloads' probes (HTTP, HTTPS, gRPC, TCP) and container ports
(:func:`workloads_of`). Some draws are invalid on purpose (an unknown interface, an unconsented
call): what a target compiles from a graph with findings must match too.
"""

from __future__ import annotations

import yaml
from hypothesis import strategies as st

from trustmap.dialects.pods import Pods, Probe, Workloads
from trustmap.model import Graph, PortSpec, ServiceRef

NAMESPACES = ("shop", "pay", "data-1")
NOW = "2026-11-23"

_methods = st.lists(
    st.sampled_from(["pkg.Svc/Get", "pkg.Svc/Put", "GET /api/*", "POST /orders", "GET /"]),
    max_size=2,
    unique=True,
)


@st.composite
def _interface(draw: st.DrawFn, index: int, callers: list[str]) -> dict[str, object]:
    port = draw(st.integers(1000, 9999))
    spec: dict[str, object] = {"name": f"if{index}", "port": port}
    if draw(st.booleans()):
        spec["servicePort"] = draw(st.sampled_from([80, 443, port]))
    protocol = draw(st.sampled_from(["TCP", "TCP", "UDP"]))
    if protocol != "TCP":
        spec["protocol"] = protocol
    elif draw(st.booleans()):
        spec["appProtocol"] = draw(st.sampled_from(["grpc", "http", "http2", "tcp"]))
        if spec["appProtocol"] in ("grpc", "http") and (methods := draw(_methods)):
            spec["methods"] = methods
    spec["exposure"] = draw(st.sampled_from(["internal", "internal", "ingress", "world"]))
    consent = draw(st.sampled_from(["callers", "namespace", "star", "none"]))
    spec["consumers"] = {
        "callers": callers,
        "namespace": [f"namespace:{ns}" for ns in NAMESPACES[:2]],
        "star": ["*"],
        "none": [],
    }[consent]
    return spec


_egress = st.sampled_from(
    [
        {"host": "api.stripe.com", "ports": [443], "reason": "cards"},
        {"host": "*.example.com", "ports": [443, 8443], "reason": "partners"},
        {"cidr": "203.0.113.0/24", "ports": [{"port": 443, "protocol": "TCP"}], "reason": "bank"},
        {"cidr": "198.51.100.7/32", "ports": [{"port": 53, "protocol": "UDP"}], "reason": "dns"},
        {"apiServer": True, "reason": "reads its ConfigMap"},
    ]
)


@st.composite
def _dependency(draw: st.DrawFn, target: str, interfaces: int) -> dict[str, object]:
    spec: dict[str, object] = {"service": target, "reason": "generated"}
    if interfaces > 1 or draw(st.booleans()):
        spec["interface"] = f"if{draw(st.integers(0, interfaces))}"  # one past the end: unknown
    if methods := draw(_methods):
        spec["methods"] = methods
    if draw(st.integers(0, 4)) == 0:
        spec["expires"] = draw(st.sampled_from(["2026-12-31", "2026-01-01"]))
    return spec


def _organization(draw: st.DrawFn) -> dict[str, object]:
    spec: dict[str, object] = {"trustDomain": "cluster.local"}
    dns = draw(st.sampled_from(["selector", "cidr", "none"]))
    if dns == "selector":
        spec["dns"] = {"selector": {"namespace": "kube-system", "podLabels": {"k8s-app": "dns"}}}
    elif dns == "cidr":
        spec["dns"] = {"cidrs": ["169.254.20.10/32"], "ports": [{"port": 5353, "protocol": "UDP"}]}
    if draw(st.booleans()):
        spec["ingressControllers"] = [
            {"namespace": "ingress", "podLabels": {"app": "nginx"}, "serviceAccount": "nginx"}
        ]
    if draw(st.booleans()):
        spec["platformConsumers"] = [
            {
                "name": "prometheus",
                "namespace": "monitoring",
                "podLabels": {"app": "prometheus"},
                "serviceAccount": "prometheus",
                "interfaces": ["if0"],
            }
        ]
    if draw(st.booleans()):
        spec["apiServer"] = {"cidrs": ["10.0.0.1/32"]}
    spec["environments"] = [
        {"name": "prod", "mode": "enforce", "namespaces": [draw(st.sampled_from(NAMESPACES))]},
        {"name": "prod", "mode": "audit", "namespaces": ["*"]},
        {"name": "staging", "mode": "audit", "namespaces": ["*"]},
    ]
    return spec


@st.composite
def organisations(draw: st.DrawFn) -> str:
    """Declarations of 1-6 services in up to three namespaces, as one YAML stream."""
    count = draw(st.integers(1, 6))
    refs = [f"{draw(st.sampled_from(NAMESPACES))}/svc{i}" for i in range(count)]
    calls = draw(st.lists(st.tuples(st.integers(0, count - 1), st.integers(0, count - 1))))
    calls = sorted({(a, b) for a, b in calls if a != b})
    sizes = [draw(st.integers(1, 2)) for _ in refs]
    docs = [_doc("Organization", {"name": "random"}, _organization(draw))]
    docs.append(
        _doc(
            "Team", {"name": "team"}, {"owners": ["o@example.com"], "namespaces": list(NAMESPACES)}
        )
    )
    for i, ref in enumerate(refs):
        callers = [refs[a] for a, b in calls if b == i]
        namespace, name = ref.split("/")
        workload: dict[str, object] = {"podLabels": {"app": name}}
        if draw(st.booleans()):
            workload["serviceAccount"] = name
        spec: dict[str, object] = {
            "team": "team",
            "workload": workload,
            "interfaces": [draw(_interface(k, callers)) for k in range(sizes[i])],
            "dependsOn": [draw(_dependency(refs[b], sizes[b])) for a, b in calls if a == i],
        }
        if egress := draw(st.lists(_egress, max_size=2, unique_by=str)):
            spec["egress"] = egress
        docs.append(_doc("Service", {"name": name, "namespace": namespace}, spec))
    return yaml.safe_dump_all(docs, sort_keys=False)


def _doc(kind: str, metadata: dict[str, str], spec: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "trustmap.dev/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}


@st.composite
def _probe(draw: st.DrawFn, ports: list[int]) -> Probe:
    """A probe as the manifest reader types it: a path and scheme for HTTP GETs only, a service
    name for gRPC only; often on a declared port."""
    port = draw(st.sampled_from(ports) | st.integers(1000, 9999))
    action = draw(st.sampled_from(["httpGet", "grpc", "tcpSocket"]))
    kind = draw(st.sampled_from(["liveness", "readiness", "startup"]))
    if action == "httpGet":
        path = draw(st.sampled_from(["/healthz", "/ready?full=1", "live", "/"]))
        scheme = draw(st.sampled_from(["HTTP", "HTTP", "HTTPS"]))
        return Probe(port, "httpGet", path, scheme, kind=kind)
    if action == "grpc":
        return Probe(port, "grpc", grpc_service=draw(st.sampled_from([None, "pkg.Svc"])), kind=kind)
    return Probe(port, "tcpSocket", kind=kind)


@st.composite
def workloads_of(draw: st.DrawFn, graph: Graph) -> Workloads | None:
    """Probes and container ports for some of ``graph``'s services (what ``--manifests`` gives
    the compilers), or ``None`` (no manifests). A probe is often on a declared interface's
    port, so the targets that authorise probes have rules to write."""
    if draw(st.booleans()):
        return None
    found: dict[ServiceRef, Pods] = {}
    for ref, service in sorted(graph.services.items()):
        if not draw(st.booleans()):
            continue
        ports = [i.port for i in service.interfaces] or [8080]
        probes = set(draw(st.lists(_probe(ports), max_size=3)))
        container = {PortSpec(p) for p in ports} | {PortSpec(p.port) for p in probes}
        title = f"Deployment {ref.namespace}/{ref.name}"
        found[ref] = Pods(
            (title,),
            tuple(sorted(probes, key=lambda p: (p.port, p.action, p.path or "", p.kind))),
            tuple(sorted(container, key=lambda p: (p.port, p.protocol))),
            probe_rewrite_off=(title,) if draw(st.booleans()) else (),  # Istio probe rules
            mesh_rewrites=draw(st.booleans()),  # why the rewrite is off, in TM326/TM327
            uncaptured_ports=tuple(sorted(draw(st.sets(st.sampled_from(ports), max_size=1)))),
        )
    return found
