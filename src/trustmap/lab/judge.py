"""Verify's evaluators asked about the lab's requests, so evaluator and proxy can be compared.

The lab sends each request through a real Envoy; :func:`evaluator_judge` asks the same question of
the platform evaluator ``trustmap verify`` uses (:mod:`trustmap.analysis.istio`,
:mod:`trustmap.analysis.cilium`), written independently from the platform's documentation. A
request where the two disagree is a difference in the lab's matrix: either the evaluator misreads
the platform, or the lab programs the proxy differently from the platform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trustmap.analysis.cilium import CiliumEvaluator, cilium_localhost
from trustmap.analysis.inventory import make_obj
from trustmap.analysis.istio import IstioEvaluator, istio_rewrites
from trustmap.analysis.platform import KUBELET, Evaluator, Peer, Request
from trustmap.dialects import Pods, Workloads
from trustmap.dialects.pods import EXCLUDE_INBOUND, REWRITE_ANNOTATION
from trustmap.lab.plan import KUBELET as KUBELET_CALLER
from trustmap.lab.plan import Caller, LabRequest
from trustmap.model import Graph, Service

__all__ = ["evaluator_judge", "rewrite_off"]


def rewrite_off(pods: Pods | None) -> bool:
    """Whether the workloads of a service run with Istio's probe rewrite off: their annotation,
    else the mesh's default, as :class:`~trustmap.dialects.Pods` reads them with the Organization's
    ``spec.istio``."""
    return pods is not None and bool(pods.probe_rewrite_off)


def evaluator_judge(
    graph: Graph,
    target: str,
    objects: Sequence[Mapping[str, Any]],
    callers: Sequence[Caller],
    workloads: Workloads | None = None,
) -> Any:
    """A :data:`~trustmap.lab.run.Judge`: would ``target`` enforce-allow this request?

    Allowed only because an object is in dry-run/audit mode counts as denied (what enforcement
    would do), which is what the lab compares with the declarations in audit namespaces.
    """
    workloads = workloads or {}
    services = {ref: _service_peer(s, workloads.get(ref)) for ref, s in graph.services.items()}
    senders = {c: _caller_peer(c) for c in callers}
    peers = [*services.values(), *senders.values()]
    inbound = _inbound(target, objects)
    evaluator = _evaluator(
        graph, target, [make_obj(o, "<lab>", i) for i, o in enumerate(inbound)], peers
    )

    def judge(request: LabRequest) -> bool:
        asked = Request(
            senders[request.caller],
            services[request.door.service],
            request.door.port,
            "TCP",
            request.method,
            request.path,
        )
        decision = evaluator.decide(asked)
        return decision.allowed and not decision.audit

    return judge


_INBOUND_KINDS = {"istio": ("AuthorizationPolicy", "PeerAuthentication")}
"""Istio kinds the lab programs; Sidecars and ServiceEntries decide the caller's side."""


def _inbound(target: str, objects: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The part of ``objects`` the lab programs: the receiving side only.

    The lab's Envoy stands in front of the provider; the caller's own egress rules (Istio
    Sidecar/ServiceEntry, Cilium ``egress`` sections) are not on the path it runs, so the evaluator
    is asked about the same objects without them. (``trustmap verify`` judges both sides.)
    """
    if target in _INBOUND_KINDS:
        return [o for o in objects if o.get("kind") in _INBOUND_KINDS[target]]
    return [_without_egress(o) for o in objects]


def _without_egress(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, Mapping) or not ({"egress", "egressDeny"} & set(spec)):
        return obj
    kept = {k: v for k, v in spec.items() if k not in ("egress", "egressDeny")}
    return {**obj, "spec": kept}


def _evaluator(graph: Graph, target: str, objects: list[Any], peers: list[Peer]) -> Evaluator:
    if target == "cilium":
        return CiliumEvaluator(objects, peers, allow_localhost=cilium_localhost(graph))
    domain = graph.organization.trust_domain if graph.organization else "cluster.local"
    return IstioEvaluator(
        objects, peers, trust_domain=domain, rewrite_app_probers=istio_rewrites(graph)
    )


def _service_peer(service: Service, pods: Pods | None) -> Peer:
    ref = service.ref
    return Peer(
        str(ref),
        ref.namespace,
        tuple(sorted(service.workload.pod_labels)),
        service.workload.service_account or "default",
        hosts=(f"{ref.name}.{ref.namespace}.svc.cluster.local",),
        annotations=_annotations(pods),
    )


def _annotations(pods: Pods | None) -> tuple[tuple[str, str], ...]:
    """What the evaluator needs of the pods: the effective rewrite, written explicitly so the
    mesh's default cannot change it, and the ports the sidecar does not capture."""
    if pods is None:
        return ()
    rewrite = (REWRITE_ANNOTATION, "false" if rewrite_off(pods) else "true")
    if not pods.uncaptured_ports:
        return (rewrite,)
    return (rewrite, (EXCLUDE_INBOUND, ",".join(map(str, pods.uncaptured_ports))))


def _caller_peer(caller: Caller) -> Peer:
    if caller == KUBELET_CALLER:
        return KUBELET
    return Peer(
        f"lab caller {caller.name}",
        caller.namespace,
        tuple(sorted(caller.labels)),
        caller.service_account,
    )
