"""Property-based API fuzzing with Schemathesis: no request built from the OpenAPI document,
however odd, gets a 500, and every response conforms to the document: its status is documented
(401/403/404/409/412/413/422/428/503 for every operation), its content type is, and its body
matches the documented schema (bounded examples per operation so the suite stays fast).

Operations are driven through Schemathesis' Hypothesis strategies directly (its pytest plugin
does not load under this pytest version).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from registry_helpers import AS_ADMIN, push_example
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_request_built_from_the_openapi_document_gets_a_server_error_or_nonconforming_answer(
    registry_url: str,
) -> None:
    with httpx.Client(base_url=registry_url, timeout=60) as http:
        push_example(http)
    schema = schemathesis.openapi.from_url(f"{registry_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    documented = schema.raw_schema["paths"]["/api/v1/teams/{team}/declarations"]["put"]
    assert {"401", "403", "404", "409", "412", "413", "422", "503"} <= set(documented["responses"])
    failures: list[str] = []
    for operation in operations:
        _fuzz(operation, failures)
    assert not failures, "\n".join(failures[:5])


def _fuzz(operation: Any, failures: list[str]) -> None:
    """Call one operation with generated requests, anonymously and as the admin."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def call(case: schemathesis.Case) -> None:
        for headers in ({}, AS_ADMIN):
            response = case.call(headers=headers, timeout=60)
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as error:  # collect every failing operation, then fail once
                failures.append(f"{operation.label}: {error}")
                return
            if response.status_code >= 400:
                assert response.json()["error"]["status"] == response.status_code

    call()
