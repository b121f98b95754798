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
