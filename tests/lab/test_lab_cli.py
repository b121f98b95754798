"""``trustmap lab`` from the command line: exit codes, formats, hand-written policies, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lab_helpers import EXAMPLE

from trustmap.cli import cli

pytestmark = pytest.mark.usefixtures("envoy")
NOW = ["--now", "2026-11-23"]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["lab", str(EXAMPLE), *args, *NOW])
    return result.exit_code, result.stdout, result.stderr


def test_compiled_example_agrees_and_exits_0_with_the_matrix_as_json() -> None:
    code, out, err = _run("--target", "istio", "--environment", "prod", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["differences"] == 0
    assert data["requests"] == len(data["results"]) > 100
    assert {"declared", "wrong identity", "query string"} <= set(data["cases"])
    declared = next(r for r in data["results"] if r["case"] == "declared")
    assert (
        declared["declared_at"].startswith("examples/online-boutique/")
        or "online-boutique" in declared["declared_at"]
    )


def test_hand_written_allow_all_policy_is_wider_than_declared_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "allow-all.yaml").write_text(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
        "metadata: {name: allow-all, namespace: default}\nspec:\n  rules: [{}]\n",
        encoding="utf-8",
    )
    code, out, _ = _run("--target", "istio", "--policies", str(tmp_path), "--differences")
    assert code == 1
    assert "wrong identity" in out


def test_a_policy_feature_the_lab_does_not_model_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "custom.yaml").write_text(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
        "metadata: {name: ext, namespace: default}\n"
        "spec: {action: CUSTOM, provider: {name: opa}, rules: [{}]}\n",
        encoding="utf-8",
    )
    code, _, err = _run("--target", "istio", "--policies", str(tmp_path))
    assert code == 2
    assert "CUSTOM" in err


def test_unknown_target_is_a_usage_error() -> None:
    code, _, err = _run("--target", "linkerd")
    assert code == 2
    assert "linkerd" in err


def test_with_manifests_the_kubelet_probes_are_sent_too_and_agree() -> None:
    manifests = str(EXAMPLE / "manifests")
    code, out, err = _run("--target", "cilium", "--manifests", manifests, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    probes = [r for r in data["results"] if r["caller"] == "kubelet"]
    assert {r["case"] for r in probes} == {"liveness probe", "readiness probe"}
    assert all(r["observed"] == "allow" and "manifests" in r["declared_at"] for r in probes)


def test_manifests_that_cannot_be_read_are_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "deploy.yaml"
    broken.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: [\n")
    code, _, err = _run("--target", "istio", "--manifests", str(broken))
    assert code == 2
    assert "deploy.yaml:" in err
