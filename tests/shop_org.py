"""A two-service organisation many tests start from: ``shop/web`` calls ``GET /items`` on
``shop/api``, with the workloads' manifests; each test varies the interface, the Organization's
``spec`` and the api pod template."""

from __future__ import annotations


def shop_declarations(api_interface: str, organization_spec: str = "") -> str:
    """A two-service organisation: ``shop/web`` calls ``GET /items`` on ``shop/api``'s interface
    ``http`` (written as ``api_interface``, one flow-style YAML mapping), with an optional
    Organization ``spec`` block (indented lines)."""
    spec = f"spec:\n{organization_spec}" if organization_spec else ""
    return f"""\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {{name: acme}}
{spec}---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {{name: shop}}
spec: {{owners: [alice@example.com], namespaces: [shop]}}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {{name: web, namespace: shop}}
spec:
  team: shop
  workload: {{serviceAccount: web, podLabels: {{app: web}}}}
  dependsOn:
    - {{service: shop/api, interface: http, methods: ["GET /items"], reason: lists the items}}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {{name: api, namespace: shop}}
spec:
  team: shop
  workload: {{serviceAccount: api, podLabels: {{app: api}}}}
  interfaces:
    - {api_interface}
"""


def shop_manifests(api_template: str) -> str:
    """The Deployments of :func:`shop_declarations` and a Service for ``api`` on 8080;
    ``api_template`` is the api pod template's ``metadata``/``spec`` (lines indented by 4)."""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      serviceAccountName: web
      containers: [{{name: web, image: web}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: api}}}}
  template:
{api_template}---
apiVersion: v1
kind: Service
metadata: {{name: api, namespace: shop}}
spec:
  selector: {{app: api}}
  ports: [{{port: 8080}}]
"""
