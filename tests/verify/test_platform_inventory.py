"""Workloads, service accounts, Service host names and probes as the evaluators see them."""

from __future__ import annotations

from platform_helpers import objs

from trustmap.analysis.inventory import build_inventory

MANIFESTS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: web
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {port: http, path: /ready}}
        livenessProbe: {grpc: {port: 8080}}
      initContainers:
      - {name: proxy, image: p, restartPolicy: Always, startupProbe: {tcpSocket: {port: 15021}}}
      - {name: migrate, image: m, livenessProbe: {tcpSocket: {port: 1}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec: {jobTemplate: {spec: {template: {metadata: {labels: {app: report}}, spec: {serviceAccountName: reporter, containers: [{name: r, image: r}]}}}}}
"""


def test_workloads_carry_their_template_labels_accounts_and_service_hosts() -> None:
    """An omitted serviceAccountName runs as `default`
    (https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts)."""
    inventory = build_inventory(objs(MANIFESTS))
    web, report = inventory.peers
    assert (web.id, web.service_account, web.hosts) == (
        "shop/web[Deployment]",
        "default",
        ("web.shop.svc.cluster.local",),
    )
    assert (report.id, report.service_account, report.labels) == (
        "shop/report[CronJob]",
        "reporter",
        (("app", "report"),),
    )


def test_probes_resolve_named_ports_and_include_sidecar_containers_only() -> None:
    """Probes of app containers and of sidecar init containers (restartPolicy Always); named
    ports resolve against the container ports; gRPC probes call grpc.health.v1.Health/Check."""
    probes = build_inventory(objs(MANIFESTS)).probes
    found = {(p.kind, p.action, p.port, p.path) for p in probes}
    assert found == {
        ("readiness", "httpGet", 8080, "/ready"),
        ("liveness", "grpc", 8080, "/grpc.health.v1.Health/Check"),
        ("startup", "tcpSocket", 15021, None),
    }
    ready = next(p for p in probes if p.kind == "readiness")
    assert ready.ref.path == ("spec", "template", "spec", "containers", 0, "readinessProbe")
