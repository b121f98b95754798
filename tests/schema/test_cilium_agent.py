"""``spec.cilium.allowLocalhost``: how the cluster's Cilium agent treats the node, strictly validated.

The values are the agent option's own (https://docs.cilium.io/en/stable/cmdref/cilium-agent/,
``--allow-localhost``: ``auto``, ``always`` or ``policy``); ``auto`` is the agent's default.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from trustmap.diagnostics import Diagnostic, Span
from trustmap.graph import graph_from_text
from trustmap.model import AllowLocalhost, CiliumAgent, Organization
from trustmap.schema import json_schema

TODAY = dt.date(2026, 11, 23)


def _organization(spec: str) -> tuple[Organization | None, list[Diagnostic]]:
    text = (
        f"apiVersion: trustmap.dev/v1alpha1\nkind: Organization\nmetadata: {{name: acme}}\n{spec}"
    )
    graph = graph_from_text(text, "org.yaml", TODAY)
    return graph.organization, [d for d in graph.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("value", ["auto", "always", "policy"])
def test_each_agent_value_is_carried_into_the_model_with_where_it_is_declared(
    value: AllowLocalhost,
) -> None:
    org, problems = _organization(f"spec:\n  cilium: {{allowLocalhost: {value}}}\n")
    assert problems == []
    assert org is not None
    assert org.cilium == CiliumAgent(value, Span("org.yaml", 5, 11))
    assert org.cilium.host_is_peer is (value == "policy")


def test_an_organization_that_says_nothing_runs_the_agents_default() -> None:
    org, problems = _organization("spec: {}\n")
    assert problems == []
    assert org is not None
    assert org.cilium == CiliumAgent("auto", None)
    assert not org.cilium.host_is_peer


def test_an_unknown_value_is_refused_naming_the_field_and_the_allowed_values() -> None:
    org, problems = _organization("spec:\n  cilium: {allowLocalhost: never}\n")
    assert org is None
    (problem,) = problems
    assert problem.code == "TM113"
    assert problem.span == Span("org.yaml", 5, 28)
    assert problem.message == (
        "'spec.cilium.allowLocalhost' must be one of auto, always, policy, got string \"never\""
    )
    assert problem.hint == "use one of: auto, always, policy"


def test_a_boolean_is_not_a_value_of_the_option() -> None:
    """``allowLocalhost: true`` reads as YAML's boolean, not as ``always``: strict, no guessing."""
    _, problems = _organization("spec:\n  cilium: {allowLocalhost: true}\n")
    assert [p.code for p in problems] == ["TM113"]
    assert "'spec.cilium.allowLocalhost' must be one of auto, always, policy" in problems[0].message


def test_a_misspelt_field_gets_a_did_you_mean() -> None:
    _, problems = _organization("spec:\n  cilium: {allowLocalHost: policy}\n")
    assert len(problems) == 1
    assert "unknown field 'allowLocalHost' (did you mean 'allowLocalhost'?)" in problems[0].message


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(json_schema())
    return schema


def test_the_json_schema_offers_the_three_values_and_rejects_others() -> None:
    validator = Draft202012Validator(_schema())
    document: dict[str, Any] = {
        "apiVersion": "trustmap.dev/v1alpha1",
        "kind": "Organization",
        "metadata": {"name": "acme"},
        "spec": {"cilium": {"allowLocalhost": "policy"}},
    }
    assert list(validator.iter_errors(document)) == []
    document["spec"]["cilium"]["allowLocalhost"] = "never"
    assert list(validator.iter_errors(document)) != []
    assert ["auto", "always", "policy"] in _enums(_schema())


def _enums(value: Any) -> list[Any]:
    if isinstance(value, dict):
        found = [value["enum"]] if "enum" in value else []
        return found + [e for v in value.values() for e in _enums(v)]
    if isinstance(value, list):
        return [e for v in value for e in _enums(v)]
    return []
