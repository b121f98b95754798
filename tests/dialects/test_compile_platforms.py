"""Compiling for the platform release a cluster runs: older forms where they exist (TM324), a
refusal where they do not (TM323). Each rule cites the release that brought the feature; the
stored upstream schemas (../shared/schemas, one release per platform) check every form written."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml
from tests.dialects.manifest_schemas import errors, shared_available

from trustmap.dialects import compile_graph, render_graph
from trustmap.dialects.platforms import NEEDS, minimum, parse_version, with_platforms
from trustmap.errors import UsageError
from trustmap.graph import graph_from_text
from trustmap.model import Graph

TODAY = dt.date(2026, 11, 23)

DECLARATIONS = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  environments:
    - {name: staging, mode: audit, namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [a@example.com], namespaces: [shop, pay]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: web, podLabels: {app: web}}
  interfaces: [{name: http, port: 8080, consumers: [pay/payment]}]
  dependsOn: [{service: pay/payment, reason: charge}]
  egress: [{cidr: 203.0.113.0/24, ports: [443], reason: bank}]
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: payment, namespace: pay}
spec:
  team: shop
  workload: {serviceAccount: payment, podLabels: {app: payment}}
  interfaces: [{name: grpc, port: 50051, appProtocol: grpc, consumers: [shop/web]}]
  dependsOn: [{service: shop/web, reason: callback}]
"""


def pinned(target: str, version: str) -> Graph:
    """The declarations with ``target``'s platform pinned to ``version``."""
    return with_platforms(graph_from_text(DECLARATIONS, "d.yaml", TODAY), {target: version})


def objects(graph: Graph, target: str, environment: str | None = None) -> list[Any]:
    """Compiled objects, after checking the text path writes the same."""
    result = compile_graph(graph, target, environment)
    written = [d for d in yaml.safe_load_all(render_graph(graph, target, environment).yaml) if d]
    found = [m for _, m in result.objects]
    assert written == found
    return found


def codes(graph: Graph, target: str, environment: str | None = None) -> list[str]:
    """The codes of the compile findings."""
    return [d.code for d in compile_graph(graph, target, environment).diagnostics]


def valid(found: list[Any]) -> bool:
    """Whether every object validates against the stored upstream schema of its apiVersion."""
    return all(errors(m) == [] for m in found)


def test_organization_pins_platform_versions_in_spec_platforms() -> None:
    text = DECLARATIONS.replace(
        "spec:\n  environments:", 'spec:\n  platforms: {admission: "1.12"}\n  environments:', 1
    )
    graph = graph_from_text(text, "d.yaml", TODAY)
    assert graph.organization is not None
    assert graph.organization.platform("admission") == "1.12"
    assert graph.organization.platforms_span is not None
    (tm324,) = [d for d in compile_graph(graph, "admission").diagnostics if d.code == "TM324"]
    assert tm324.span is not None
    assert tm324.span.line == 5


def test_kyverno_before_1_13_gets_policy_level_failure_actions() -> None:
    """Per-rule ``validate.failureAction`` arrived in Kyverno 1.13 (kyverno/kyverno#10528,
    milestone 1.13.0); before it, ``spec.validationFailureAction`` applies to every rule and
    ``validationFailureActionOverrides`` sets it per namespace. Both are still in the 1.19 CRD."""
    graph = pinned("admission", "1.12")
    (policy,) = objects(graph, "admission", "staging")
    spec = policy["spec"]
    assert spec["validationFailureAction"] == "Enforce"
    assert spec["validationFailureActionOverrides"] == [{"action": "Audit", "namespaces": ["shop"]}]
    assert all("failureAction" not in r["validate"] for r in spec["rules"])
    assert codes(graph, "admission") == ["TM324"]
    if shared_available():
        assert valid([policy])


def test_kyverno_before_1_9_is_refused() -> None:
    """``Enforce``/``Audit`` (capitalised) are accepted from Kyverno 1.9 (kyverno/kyverno#5152)."""
    graph = pinned("admission", "1.8")
    assert objects(graph, "admission") == []
    assert codes(graph, "admission") == ["TM323"]


def test_istio_before_1_22_gets_the_v1beta1_apis() -> None:
    """Istio 1.22 promoted the security and networking APIs to ``v1``
    (https://istio.io/latest/blog/2024/v1-apis/); the same kinds are served as ``v1beta1`` by
    earlier releases, and still by 1.30 (the stored CRD), which validates them."""
    graph = pinned("istio", "1.21")
    found = objects(graph, "istio")
    assert {m["apiVersion"] for m in found} == {
        "security.istio.io/v1beta1",
        "networking.istio.io/v1beta1",
    }
    assert codes(graph, "istio") == ["TM324"]
    if shared_available():
        assert valid(found)


def test_istio_dry_run_needs_1_10_and_enforce_output_does_not() -> None:
    """The ``istio.io/dry-run`` annotation arrived in Istio 1.10
    (https://istio.io/v1.10/docs/tasks/security/authorization/authz-dry-run/): audit output for
    1.9 is refused, enforce output is written."""
    graph = pinned("istio", "1.9")
    assert objects(graph, "istio", "staging") == []
    assert "TM323" in codes(graph, "istio", "staging")
    assert objects(graph, "istio")
    assert "TM323" not in codes(graph, "istio")


def test_cilium_never_writes_enable_default_deny_so_older_agents_are_not_refused() -> None:
    """``enableDefaultDeny`` arrived in Cilium 1.16 (cilium/cilium#30572); the cilium target
    refuses audit namespaces (TM312) instead of writing it, so its output compiles for older
    agents (nothing refused: no TM323)."""
    graph = pinned("cilium", "1.15")
    assert "enableDefaultDeny" not in yaml.safe_dump_all(objects(graph, "cilium", "staging"))
    assert "TM323" not in codes(graph, "cilium")


def test_cilium_before_1_19_gets_one_label_host_wildcards_and_says_so() -> None:
    """A leading ``**.`` in ``matchPattern`` (one or more labels) arrived in Cilium 1.19
    (https://github.com/cilium/cilium/pull/43420, pkg/fqdn/matchpattern); before, only ``*.``
    (one label) exists. The older output keeps ``*.example.com``: narrower than the declared
    meaning (one or more labels), never wider, and TM324 says so."""
    text = DECLARATIONS.replace(
        "  egress: [{cidr: 203.0.113.0/24, ports: [443], reason: bank}]\n",
        "  egress: [{host: '*.example.com', ports: [443], reason: images}]\n",
    )
    base = graph_from_text(text, "d.yaml", TODAY)

    def patterns(version: str) -> list[str]:
        found = objects(with_platforms(base, {"cilium": version}), "cilium")
        rules = [r for m in found for r in m["spec"].get("egress", [])]
        return [f["matchPattern"] for r in rules for f in r.get("toFQDNs", [])]

    assert patterns("1.18") == ["*.example.com"]
    assert "TM324" in codes(with_platforms(base, {"cilium": "1.18"}), "cilium")
    assert patterns("1.19") == ["**.example.com"]


def test_kubernetes_before_1_21_is_refused() -> None:
    """Cross-namespace peers are selected by ``kubernetes.io/metadata.name``, which the API
    server sets on every Namespace from 1.21 (KEP-2161,
    https://github.com/kubernetes/enhancements/issues/2161); before, the selector matches no
    namespace and every cross-namespace call would be blocked."""
    graph = pinned("kubernetes", "1.20")
    assert objects(graph, "kubernetes") == []
    assert "TM323" in codes(graph, "kubernetes")
    assert objects(pinned("kubernetes", "1.21"), "kubernetes")


def test_linkerd_before_2_16_is_refused() -> None:
    """Server ``policy.linkerd.io/v1beta3`` with ``accessPolicy`` arrived in Linkerd 2.16
    (https://linkerd.io/2024/08/13/announcing-linkerd-2.16/)."""
    graph = pinned("linkerd", "2.15")
    assert objects(graph, "linkerd") == []
    assert "TM323" in codes(graph, "linkerd")


@pytest.mark.parametrize("need", NEEDS, ids=lambda n: f"{n.target}-{n.version}")
def test_at_each_stated_version_the_output_is_written_and_validates(need: Any) -> None:
    """At the release a need names, its output is written (in audit too when the need is an
    audit feature) and validates against the stored schema."""
    graph = pinned(need.target, need.version)
    environment = "staging" if need.audit_only else None
    found = objects(graph, need.target, environment)
    assert "TM323" not in codes(graph, need.target, environment)
    assert found
    if shared_available():
        assert valid(found)


def test_minimum_versions_are_the_oldest_release_compiled_at_all() -> None:
    assert minimum("linkerd") == "2.16"
    assert minimum("istio") == "1.5"
    assert minimum("admission") == "1.9"
    assert minimum("kubernetes") == "1.21"
    assert minimum("cilium") is None


def test_platform_versions_are_checked_as_usage() -> None:
    graph = graph_from_text(DECLARATIONS, "d.yaml", TODAY)
    with pytest.raises(UsageError, match="unknown platform 'cilum'"):
        with_platforms(graph, {"cilum": "1.15"})
    with pytest.raises(UsageError, match="not a release"):
        with_platforms(graph, {"cilium": "latest"})
    assert parse_version("v2.16.1") == (2, 16)


def test_spec_platforms_rejects_unknown_targets_and_non_releases_with_located_errors() -> None:
    text = DECLARATIONS.replace(
        "spec:\n  environments:",
        'spec:\n  platforms: {cilum: "1.15", istio: latest}\n  environments:',
        1,
    )
    found = graph_from_text(text, "d.yaml", TODAY).diagnostics
    messages = [d.message for d in found if d.code == "TM113"]
    assert any("did you mean 'cilium'" in m for m in messages)
    assert any("'latest' is not a release" in m for m in messages)


def test_compiling_in_worker_processes_refuses_and_adapts_the_same_way() -> None:
    """Workers compile slices of namespaces; whether a target is refused depends on the whole
    graph (any audit namespace), never on the slice."""
    from trustmap.dialects import compile_targets

    graph = with_platforms(
        graph_from_text(DECLARATIONS, "d.yaml", TODAY), {"istio": "1.9", "admission": "1.12"}
    )
    for environment in (None, "staging"):
        alone = [render_graph(graph, t, environment) for t in ("istio", "admission")]
        split = compile_targets(graph, ["istio", "admission"], environment, processes=2)
        assert [r.documents for r in split] == [r.documents for r in alone]
        assert [r.diagnostics for r in split] == [r.diagnostics for r in alone]
