"""The compiled NetworkPolicies allow exactly the declared flows, says an outside analyzer (nca).

Online Boutique runs on its real upstream manifests; the focused golden cases run on one
Deployment per declared service. In both, the Organization's peers (DNS resolver, ingress
controllers, platform consumers) get Deployments in their own namespaces. ``make nca`` (run by
``make test``) installs nca into .venv-nca; without it the test fails in CI (CI=true) and skips
elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from compile_cases import CASES, compile_case
from nca_oracle import (
    expected_flows,
    in_ci,
    infrastructure,
    nca_binary,
    parse_connlist,
    run_nca,
    service_workloads,
    workloads_of,
)

from trustmap.dialects import render_yaml

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
BOUTIQUE_MANIFESTS = SHARED / "apps" / "online-boutique" / "manifests" / "kubernetes-manifests.yaml"
FOCUSED = sorted(
    p.parent.name
    for p in (CASES / "kubernetes").glob("*/input")
    if p.parent.name not in {"audit-mode"}  # audit mode allows everything on purpose
)


@pytest.fixture(scope="module")
def nca() -> Path:
    binary, why = nca_binary()
    if binary is None:
        if in_ci():
            pytest.fail(f"nca is required in CI: {why}")
        pytest.skip(f"nca is not installed: {why}")
    return binary


def check(nca: Path, case: Path, tmp_path: Path, manifests: Path | None) -> None:
    """Compile ``case`` for kubernetes, run nca, and compare with the declared flows."""
    run = compile_case(case)
    graph = run.graph
    policies = tmp_path / "policies.yaml"
    policies.write_text(render_yaml(run.result.objects))
    if manifests is None:
        manifests = tmp_path / "services.yaml"
        manifests.write_text(service_workloads(graph))
    infra = tmp_path / "infrastructure.yaml"
    infra.write_text(infrastructure(graph, graph.namespaces()))
    workloads = workloads_of(manifests.read_text()) + workloads_of(infra.read_text())
    actual = parse_connlist(
        run_nca(nca, policies, [manifests, infra], infra), set(graph.namespaces())
    )
    expected = expected_flows(graph, workloads)
    assert expected, "a case with nothing declared proves nothing"
    missing = {k: v for k, v in expected.items() if actual.get(k) != v}
    extra = {k: v for k, v in actual.items() if k not in expected}
    assert (missing, extra) == ({}, {}), (
        f"declared but not allowed as declared: {missing}; allowed beyond: {extra}"
    )


def test_online_boutique_policies_allow_exactly_the_declared_flows_on_its_real_manifests(
    nca: Path, tmp_path: Path
) -> None:
    if not BOUTIQUE_MANIFESTS.exists():
        if in_ci():
            pytest.fail(
                f"{BOUTIQUE_MANIFESTS} is missing: CI must have shared/ beside the checkout"
            )
        pytest.skip("../shared is not beside the checkout")
    check(nca, CASES / "kubernetes" / "online-boutique", tmp_path, BOUTIQUE_MANIFESTS)


@pytest.mark.parametrize("case", FOCUSED)
def test_focused_case_policies_allow_exactly_the_declared_flows(
    nca: Path, case: str, tmp_path: Path
) -> None:
    check(nca, CASES / "kubernetes" / case, tmp_path, None)
