"""The shared public apps read without a problem, with every workload's probes resolved."""

from __future__ import annotations

import pytest
from kube_helpers import APPS

from trustmap.kube import load_kube

pytestmark = pytest.mark.skipif(not APPS.is_dir(), reason="../shared/apps is not checked out")


@pytest.mark.parametrize(
    "app",
    ["bookinfo", "deathstarbench-hotelreservation", "online-boutique", "sock-shop", "train-ticket"],
)
def test_each_shared_app_reads_without_errors(app: str) -> None:
    kset, problems = load_kube([APPS / app / "manifests"])
    assert [str(d) for d in problems if d.severity == "error"] == []
    assert kset.workloads
    assert kset.services
    for workload in kset.workloads:
        for container in workload.containers:
            for probe in container.probes:
                assert (probe.port is None) == (probe.action == "exec"), (workload.title, probe)


def test_online_boutique_probes_are_typed() -> None:
    kset, _ = load_kube([APPS / "online-boutique" / "manifests"])
    by_name = {w.name: w for w in kset.workloads}
    frontend = by_name["frontend"].containers[0]
    assert {(p.kind, p.action, p.port, p.path) for p in frontend.probes} == {
        ("readiness", "httpGet", 8080, "/_healthz"),
        ("liveness", "httpGet", 8080, "/_healthz"),
    }
    ad = by_name["adservice"].containers[0]
    assert {(p.action, p.port) for p in ad.probes} == {("grpc", 9555)}
    assert by_name["frontend"].service_account == "frontend"
