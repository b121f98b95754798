"""Where the Online Boutique example and its upstream manifests and policies are, for verify tests."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

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


def invoke(*args: str, now: str = "2026-11-23") -> tuple[int, str]:
    """Run ``trustmap ARGS --now NOW`` in-process: the exit code and everything it printed."""
    from click.testing import CliRunner

    from trustmap.cli import cli

    result = CliRunner().invoke(cli, [*args, "--now", now])
    return result.exit_code, result.stdout + result.stderr


def verify_cilium(tmp: Path, objects: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """``trustmap verify tmp/decl -t cilium -m tmp/k8s`` on ``objects`` as hand-written policies:
    the exit code and the JSON findings."""
    policies = tmp / "policies"
    policies.mkdir(exist_ok=True)
    (policies / "shop.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    code, out = invoke(
        "verify",
        str(tmp / "decl"),
        "-t",
        "cilium",
        "-m",
        str(tmp / "k8s"),
        "-p",
        str(policies),
        "--format",
        "json",
    )
    found: list[dict[str, Any]] = json.loads(out[: out.rindex("]") + 1])
    return code, found
