"""Workload manifests → what each declared service's pods need from the compiled output.

``trustmap compile --manifests DIR`` reads the workloads (Deployments, StatefulSets, DaemonSets,
Jobs, CronJobs, Pods, Lists of them) through :mod:`trustmap.kube`, the one reader of Kubernetes
manifests, and maps each to the declared services it runs: a workload runs a service when it is in
the service's namespace and its pod template carries every label of the service's
``workload.podLabels``, as the compiled selectors would select its pods. What the compilers get is
one :class:`~trustmap.dialects.pods.Pods` per declared service: its network probes and container
ports. Mismatches a mesh would trip over are findings: a declared service no workload runs
(TM309), a workload running as another service account than declared (TM310).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from trustmap.diagnostics import Diagnostic, Severity, Span, diagnostic, sort_diagnostics
from trustmap.dialects.pods import Pods, Probe, captured_inbound, rewrites_probes
from trustmap.kube import KubeContainer, KubeWorkload, load_kube
from trustmap.model import Graph, PortSpec, Service, ServiceRef

__all__ = ["map_workloads", "read_workloads"]


def read_workloads(
    graph: Graph, paths: Sequence[str | os.PathLike[str]]
) -> tuple[dict[ServiceRef, Pods], list[Diagnostic]]:
    """Read the manifests under ``paths`` and map their workloads to ``graph``'s services.

    Returns:
        Pods per declared service that some workload runs, and every problem: the manifests'
        own (located, from :func:`trustmap.kube.load_kube`), TM308 when they hold no workload,
        TM309 and TM310 (see :func:`map_workloads`); TM308 and TM309 only when every file was
        read (an unreadable one may hold the missing workloads). Never raises for bad input.
    """
    kset, problems = load_kube(paths)
    unreadable = any(d.severity is Severity.ERROR for d in problems)
    if not kset.workloads and not unreadable:
        where = Span(str(paths[0])) if paths else None
        problems.append(
            diagnostic(
                "TM308",
                where,
                f"no workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod) in "
                f"{', '.join(map(str, paths)) or 'the manifests'}",
                "point --manifests at the folder or file of the workloads' YAML",
            )
        )
    pods, found = map_workloads(graph, kset.workloads)
    if unreadable:
        found = [d for d in found if d.code != "TM309"]
    return pods, sort_diagnostics([*problems, *found])


def map_workloads(
    graph: Graph, workloads: Iterable[KubeWorkload]
) -> tuple[dict[ServiceRef, Pods], list[Diagnostic]]:
    """The pods of each declared service, from the workloads that run it.

    Returns:
        :class:`Pods` per service some workload runs; TM309 for each declared service no
        workload runs, TM310 for each workload running as another service account than its
        service declares.
    """
    by_namespace: dict[str, list[KubeWorkload]] = {}
    for workload in workloads:
        by_namespace.setdefault(workload.namespace, []).append(workload)
    found: dict[ServiceRef, Pods] = {}
    problems: list[Diagnostic] = []
    mesh = graph.organization.istio.rewrite_app_probers if graph.organization else True
    for ref, service in graph.services.items():
        mine = [w for w in by_namespace.get(ref.namespace, ()) if runs(w, service)]
        if not mine:
            problems.append(_not_run(service))
            continue
        problems += [_other_account(service, w) for w in mine if _account_differs(service, w)]
        found[ref] = pods_of(mine, mesh)
    return found, problems


def runs(workload: KubeWorkload, service: Service) -> bool:
    """Whether ``workload``'s pods carry every label the service selects its pods by."""
    labels = dict(workload.pod_labels)
    return all(labels.get(key) == value for key, value in service.workload.pod_labels)


def pods_of(workloads: Sequence[KubeWorkload], mesh_rewrites: bool = True) -> Pods:
    """Probes and container ports of ``workloads`` together; ``mesh_rewrites`` is the mesh's
    default probe rewrite (``spec.istio.rewriteAppProbers``)."""
    probes: set[Probe] = set()
    ports: set[PortSpec] = set()
    for workload in workloads:
        for container in workload.containers:
            probes.update(_probes(container))
            ports.update(PortSpec(p.port, p.protocol) for p in container.ports)
    ordered = sorted(workloads, key=lambda w: (w.span.file, w.span.line, w.kind, w.name))
    return Pods(
        tuple(sorted(w.title for w in ordered)),
        tuple(sorted(probes)),
        tuple(sorted(ports, key=lambda p: (p.port, p.protocol))),
        ordered[0].span,
        tuple(
            sorted(
                w.title
                for w in ordered
                if not rewrites_probes(dict(w.pod_annotations), mesh_rewrites)
            )
        ),
        mesh_rewrites,
        _uncaptured(workloads, {p.port for p in ports} | {p.port for p in probes}),
    )


def _uncaptured(workloads: Sequence[KubeWorkload], ports: set[int]) -> tuple[int, ...]:
    """Ports of ``ports`` that no workload's sidecar captures inbound (one capture is enough
    for the output to need the port's rules)."""
    notes = [dict(w.pod_annotations) for w in workloads]
    return tuple(sorted(p for p in ports if not any(captured_inbound(n, p) for n in notes)))


def _probes(container: KubeContainer) -> list[Probe]:
    found = []
    for probe in container.probes:
        if probe.action == "exec" or probe.port is None:
            continue  # exec runs in the container; an unresolved port is kube's own finding
        found.append(
            Probe(
                probe.port,
                probe.action,
                probe.path if probe.action == "httpGet" else None,
                probe.scheme or "HTTP",
                probe.grpc_service,
                probe.kind,
                probe.span,
            )
        )
    return found


def _account_differs(service: Service, workload: KubeWorkload) -> bool:
    declared = service.workload.service_account
    return declared is not None and declared != workload.service_account


def _not_run(service: Service) -> Diagnostic:
    labels = ", ".join(f"{k}={v}" for k, v in service.workload.pod_labels) or "no labels"
    return diagnostic(
        "TM309",
        service.at("podLabels"),
        f"no workload in namespace {service.ref.namespace} of the manifests has pods labelled "
        f"{labels}: the probes of {service.ref} are unknown, and none is authorised",
        "fix workload.podLabels or the namespace, or add the workload's manifest to --manifests",
    )


def _other_account(service: Service, workload: KubeWorkload) -> Diagnostic:
    how = "as written" if workload.service_account_written else "(no serviceAccountName: default)"
    return diagnostic(
        "TM310",
        workload.span,
        f"{workload.title} runs {service.ref} as service account "
        f"'{workload.service_account}' {how}, but the service declares "
        f"'{service.workload.service_account}' ({service.at('serviceAccount')}): mesh policies "
        "name the declared account, so calls to and from these pods would be refused",
        f"declare serviceAccount: {workload.service_account} for {service.ref}, or set "
        f"serviceAccountName: {service.workload.service_account} in the pod template",
    )
