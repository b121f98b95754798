"""``spec.istio.rewriteAppProbers``: how the cluster's Istio is installed, strictly validated.

The value is the install's ``values.sidecarInjectorWebhook.rewriteAppHTTPProbe`` (istio/istio
``manifests/charts/istio-control/istio-discovery/values.yaml``: ``rewriteAppHTTPProbe: true``),
the injector's default for pods whose ``sidecar.istio.io/rewriteAppHTTPProbers`` annotation it
cannot parse or does not find (``pkg/kube/inject/app_probe.go`` ``ShouldRewriteAppHTTPProbers``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from trustmap.diagnostics import Diagnostic, Span
from trustmap.graph import graph_from_text
from trustmap.model import IstioMesh, Organization
from trustmap.schema import json_schema

TODAY = dt.date(2026, 11, 23)


def _organization(spec: str) -> tuple[Organization | None, list[Diagnostic]]:
    text = (
        f"apiVersion: trustmap.dev/v1alpha1\nkind: Organization\nmetadata: {{name: acme}}\n{spec}"
    )
    graph = graph_from_text(text, "org.yaml", TODAY)
    return graph.organization, [d for d in graph.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("value", [True, False])
def test_the_install_value_is_carried_into_the_model_with_where_it_is_declared(
    value: bool,
) -> None:
    org, problems = _organization(f"spec:\n  istio: {{rewriteAppProbers: {str(value).lower()}}}\n")
    assert problems == []
    assert org is not None
    assert org.istio == IstioMesh(value, Span("org.yaml", 5, 10))


def test_an_organization_that_says_nothing_runs_istios_default_install() -> None:
    for spec in ("spec: {}\n", "spec:\n  istio: {}\n"):
        org, problems = _organization(spec)
        assert problems == []
        assert org is not None
        assert org.istio.rewrite_app_probers is True


def test_a_string_is_not_a_boolean_here() -> None:
    """``"false"`` quoted is a string: strict, no guessing (the pod annotation is a string, the
    install value is not)."""
    org, problems = _organization('spec:\n  istio: {rewriteAppProbers: "false"}\n')
    assert org is None
    (problem,) = problems
    assert problem.code == "TM111"
    assert problem.span == Span("org.yaml", 5, 30)
    assert problem.message == (
        "'spec.istio.rewriteAppProbers' must be true or false, got string \"false\""
    )
    assert problem.hint == "write true or false without quotes"


def test_a_misspelt_field_gets_a_did_you_mean() -> None:
    _, problems = _organization("spec:\n  istio: {rewriteAppProber: false}\n")
    assert len(problems) == 1
    assert "unknown field 'rewriteAppProber' (did you mean 'rewriteAppProbers'?)" in (
        problems[0].message
    )


def test_the_json_schema_takes_a_boolean_and_rejects_anything_else() -> None:
    schema: dict[str, Any] = json.loads(json_schema())
    validator = Draft202012Validator(schema)
    document: dict[str, Any] = {
        "apiVersion": "trustmap.dev/v1alpha1",
        "kind": "Organization",
        "metadata": {"name": "acme"},
        "spec": {"istio": {"rewriteAppProbers": False}},
    }
    assert list(validator.iter_errors(document)) == []
    document["spec"]["istio"]["rewriteAppProbers"] = "false"
    assert list(validator.iter_errors(document)) != []
    document["spec"]["istio"] = {"rewriteAppProbes": False}
    assert list(validator.iter_errors(document)) != []
