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

from trustmap.analysis.cilium import CiliumEvaluator
from trustmap.analysis.inventory import make_obj
from trustmap.analysis.istio import IstioEvaluator
from trustmap.analysis.platform import Evaluator, Peer, Request
from trustmap.lab.plan import Caller, LabRequest
from trustmap.model import Graph, Service

__all__ = ["evaluator_judge"]


def evaluator_judge(
    graph: Graph, target: str, objects: Sequence[Mapping[str, Any]], callers: Sequence[Caller]
) -> Any:
    """A :data:`~trustmap.lab.run.Judge`: would ``target`` enforce-allow this request?

    Allowed only because an object is in dry-run/audit mode counts as denied (what enforcement
    would do), which is what the lab compares with the declarations in audit namespaces.
    """
    services = {ref: _service_peer(s) for ref, s in graph.services.items()}
    senders = {c: _caller_peer(c) for c in callers}
    peers = [*services.values(), *senders.values()]
    evaluator = _evaluator(
        graph, target, [make_obj(o, "<lab>", i) for i, o in enumerate(objects)], peers
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


def _evaluator(graph: Graph, target: str, objects: list[Any], peers: list[Peer]) -> Evaluator:
    if target == "cilium":
        return CiliumEvaluator(objects, peers)
    domain = graph.organization.trust_domain if graph.organization else "cluster.local"
    return IstioEvaluator(objects, peers, trust_domain=domain)


def _service_peer(service: Service) -> Peer:
    ref = service.ref
    return Peer(
        str(ref),
        ref.namespace,
        tuple(sorted(service.workload.pod_labels)),
        service.workload.service_account or "default",
        hosts=(f"{ref.name}.{ref.namespace}.svc.cluster.local",),
    )


def _caller_peer(caller: Caller) -> Peer:
    return Peer(
        f"lab caller {caller.name}",
        caller.namespace,
        tuple(sorted(caller.labels)),
        caller.service_account,
    )
