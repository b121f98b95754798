"""Where the Online Boutique example and its upstream manifests and policies are, for verify tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".." / "shared"
OB = SHARED / "apps" / "online-boutique"
OB_DECLARATIONS = ROOT / "examples" / "online-boutique"
OB_MANIFESTS = OB / "manifests" / "kubernetes-manifests.yaml"
OB_UPSTREAM_POLICIES = OB / "upstream-policies" / "kustomize-network-policies"
TODAY = dt.date(2026, 11, 1)
"""A date at which every Online Boutique dependency is effective (none expired, none too far)."""


def wid(namespace: str, name: str) -> str:
    """The analysis id of a Deployment."""
    return f"{namespace}/{name}[Deployment]"


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
