"""The v1alpha1 schema: strict types, unknown fields with "did you mean", values, JSON Schema."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, ValidationError

from trustmap.diagnostics import Diagnostic, Span
from trustmap.loader import load_text
from trustmap.model import Service
from trustmap.schema import Declarations, json_schema, parse_documents

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "online-boutique"

HEAD = (
    "apiVersion: trustmap.dev/v1alpha1\n"
    "kind: Service\n"
    "metadata: {name: checkout, namespace: shop}\n"
)


def _parse(text: str) -> tuple[Declarations, list[Diagnostic]]:
    loaded = load_text(text, "checkout.yaml")
    assert loaded.diagnostics == ()
    return parse_documents(loaded.documents)


def _problems(spec: str) -> list[Diagnostic]:
    declarations, problems = _parse(HEAD + spec)
    assert declarations.services == ()
    return problems


def _only(spec: str) -> Diagnostic:
    problems = _problems(spec)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def _service(spec: str) -> Service:
    declarations, problems = _parse(HEAD + spec)
    assert problems == [], [str(p) for p in problems]
    (service,) = declarations.services
    return service


# --- strict types --------------------------------------------------------------------------------


def test_a_quoted_port_is_a_string_not_a_port() -> None:
    found = _only('spec:\n  team: payments\n  interfaces:\n    - {name: grpc, port: "8080"}\n')
    assert (found.code, found.span) == ("TM111", Span("checkout.yaml", 7, 26))
    assert found.message == "'spec.interfaces[0].port' must be an integer, got string \"8080\""
    assert found.hint == "remove the quotes: port: 8080"


def test_unquoted_no_is_a_boolean_and_not_an_exposure() -> None:
    found = _only(
        "spec:\n  team: payments\n  interfaces:\n    - {name: a, port: 1, exposure: no}\n"
    )
    assert found.code == "TM113"
    assert "got boolean false" in found.message
    assert found.hint is not None
    assert "booleans" in found.hint


def test_unquoted_no_as_a_label_value_is_a_wrong_type_with_a_quoting_hint() -> None:
    found = _only("spec:\n  team: payments\n  workload: {podLabels: {canary: no}}\n")
    assert found.code == "TM111"
    assert found.message == "'spec.workload.podLabels.canary' must be a string, got boolean false"
    assert found.hint is not None
    assert "quote the value" in found.hint


def test_a_quoted_boolean_is_not_a_boolean() -> None:
    declarations, problems = _parse(
        "apiVersion: trustmap.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\n"
        'spec:\n  rules: {requireReason: "true"}\n'
    )
    assert declarations.organizations == ()
    assert [(p.code, p.hint) for p in problems] == [("TM111", "write true or false without quotes")]


def test_a_quoted_date_is_accepted_like_a_yaml_date() -> None:
    dependency = (
        "spec:\n  team: payments\n  dependsOn:\n    - {service: shop/payments, expires: %s}\n"
    )
    quoted = _service(dependency % '"2027-06-30"')
    plain = _service(dependency % "2027-06-30")
    assert quoted.depends_on[0].expires == plain.depends_on[0].expires == dt.date(2027, 6, 30)


# --- unknown and missing fields ------------------------------------------------------------------


def test_an_unknown_field_points_at_its_key_and_suggests_the_closest_name() -> None:
    found = _only("spec:\n  team: payments\n  workload: {serviceAcount: x, podLabels: {a: b}}\n")
    assert (found.code, found.span) == ("TM110", Span("checkout.yaml", 6, 14))
    assert found.message == "unknown field 'serviceAcount' (did you mean 'serviceAccount'?)"
    assert found.hint == "allowed here: podLabels, serviceAccount"


def test_an_unknown_field_without_a_close_name_lists_the_allowed_ones() -> None:
    found = _only("spec:\n  team: payments\n  owner: alice\n")
    assert found.message == "unknown field 'owner'"
    assert found.hint == "allowed here: dependsOn, egress, interfaces, team, workload"


def test_a_missing_field_names_the_field_and_where_it_belongs() -> None:
    found = _only("spec:\n  interfaces: []\n")
    assert found.code == "TM112"
    assert found.message == "missing required field 'team' in 'spec'"


# --- values --------------------------------------------------------------------------------------


def test_cidr_host_bits_are_rejected_with_the_network_to_write() -> None:
    found = _only(
        "spec:\n  team: payments\n  egress:\n    - {cidr: 10.1.2.3/8, reason: bank gateway}\n"
    )
    assert found.code == "TM113"
    assert found.message == (
        "'spec.egress[0].cidr': '10.1.2.3/8' has host bits set; the range is 10.0.0.0/8"
    )
    assert found.hint == "write 10.0.0.0/8"


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32"])
def test_network_addresses_are_accepted(cidr: str) -> None:
    service = _service(f"spec:\n  team: payments\n  egress:\n    - {{cidr: '{cidr}', reason: x}}\n")
    assert service.egress[0].cidr == cidr


def test_a_cidr_that_is_no_ip_range_says_so() -> None:
    found = _only("spec:\n  team: payments\n  egress:\n    - {cidr: 10.0.0.300/8, reason: x}\n")
    assert found.message == (
        "'spec.egress[0].cidr': '10.0.0.300/8' is not an IP range such as 10.0.0.0/8"
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Checkout", "must be lower case"),
        (
            "check_out",
            "may hold only a-z, 0-9 and '-', and must start and end with a letter or digit",
        ),
        ("x" * 64, "is 64 characters long; at most 63 are allowed"),
    ],
)
def test_names_must_be_dns_1123_labels(name: str, problem: str) -> None:
    found = _only(f"spec:\n  team: payments\n  interfaces:\n    - {{name: {name}, port: 1}}\n")
    assert found.code == "TM114"
    assert (
        found.message
        == f"'spec.interfaces[0].name': '{name}' is not a DNS-1123 label: it {problem}"
    )


@pytest.mark.parametrize("ref", ["payments", "shop/payments/grpc", "/payments", "shop/"])
def test_a_malformed_service_reference_is_reported(ref: str) -> None:
    found = _only(f"spec:\n  team: payments\n  dependsOn:\n    - service: '{ref}'\n")
    assert found.code == "TM115"
    assert found.hint == "write the target as namespace/name, e.g. shop/checkout"


def test_an_egress_entry_needs_exactly_one_destination() -> None:
    found = _only(
        "spec:\n  team: payments\n  egress:\n    - {host: api.stripe.com, apiServer: true}\n"
    )
    assert found.message.endswith("needs exactly one of 'host', 'cidr' or 'apiServer: true'")


def test_several_problems_of_one_document_are_all_reported() -> None:
    problems = _problems(
        'spec:\n  team: Payments\n  interfaces:\n    - {name: grpc, port: "1", protocol: tcp}\n'
    )
    assert sorted(p.code for p in problems) == ["TM111", "TM113", "TM114"]


def test_a_missing_workload_means_pods_labelled_with_the_service_name() -> None:
    service = _service("spec:\n  team: payments\n")
    assert service.workload.pod_labels == (("app", "checkout"),)
    assert service.workload.service_account is None


# --- the JSON Schema that editors use ------------------------------------------------------------


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(json_schema())
    return schema


def test_json_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_json_schema_is_deterministic() -> None:
    assert json_schema() == json_schema()


def _as_json(value: Any) -> Any:
    """What an editor's YAML→JSON view holds: dates are strings."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def _example_documents() -> list[tuple[str, Any]]:
    found = []
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found.append((f"{path.relative_to(EXAMPLE)} {document['kind']}", _as_json(document)))
    return found


def test_json_schema_accepts_every_document_of_the_online_boutique_example() -> None:
    validator = Draft202012Validator(_schema())
    documents = _example_documents()
    assert len(documents) == 18
    errors = {where: [e.message for e in validator.iter_errors(doc)] for where, doc in documents}
    assert {where: found for where, found in errors.items() if found} == {}


@pytest.mark.parametrize(
    ("change", "wanted"),
    [
        (lambda i: i.update(port="8080"), "is not of type 'integer'"),
        (lambda i: i.update(exposure=False), "is not one of"),
        (lambda i: i.update(consumer=["default/frontend"]), "Additional properties"),
    ],
)
def test_json_schema_rejects_what_validate_rejects(change: Any, wanted: str) -> None:
    validator = Draft202012Validator(_schema())
    (service,) = [d for _, d in _example_documents() if d["metadata"]["name"] == "cartservice"]
    change(service["spec"]["interfaces"][0])
    messages = [e.message for e in _all_errors(validator.iter_errors(service))]
    assert any(wanted in m for m in messages), messages


def _all_errors(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """Errors with those nested in oneOf branches (the kinds are a oneOf)."""
    for error in errors:
        yield error
        yield from _all_errors(error.context or [])
