"""An interface that declares ``methods`` without an ``appProtocol`` speaks HTTP (docs/format.md:
methods imply HTTP; the compilers write L7 rules for it), so verify holds its calls to the declared
methods as the compiled rules do, instead of counting every request on the port as declared."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from trustmap.cli import cli

DECLARATIONS = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [lead@example.com], namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: api, podLabels: {app: api}}
  interfaces:
    - name: http
      port: 8080
      methods: ["GET /items"]
      consumers: [shop/web]
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: web, podLabels: {app: web}}
  dependsOn:
    - {service: shop/api, interface: http, methods: ["GET /items"], reason: lists items}
"""

MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      serviceAccountName: api
      containers: [{name: api, image: example.com/api:1, ports: [{containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: example.com/web:1}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080, targetPort: 8080}]
"""


@pytest.mark.parametrize("target", ["kubernetes", "cilium", "istio", "linkerd"])
def test_compiled_output_for_methods_without_app_protocol_verifies_exactly(
    tmp_path: Path, target: str
) -> None:
    (tmp_path / "teams").mkdir()
    (tmp_path / "k8s").mkdir()
    (tmp_path / "teams" / "all.yaml").write_text(DECLARATIONS)
    (tmp_path / "k8s" / "workloads.yaml").write_text(MANIFESTS)
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(tmp_path / "teams"),
            "--manifests",
            str(tmp_path / "k8s"),
            "--target",
            target,
            "--now",
            "2026-12-05",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "exact match: 1 declared flows allowed" in result.output
