"""The declared meaning of routes, and the requests the lab plans from it."""

from __future__ import annotations

from collections import Counter

import pytest

from trustmap.lab import declared_allows, plan_requests
from trustmap.model import Graph


@pytest.mark.parametrize(
    ("methods", "method", "path", "allowed"),
    [
        (("GET /cart",), "GET", "/cart", True),
        (("GET /cart",), "GET", "/cart?x=1", True),
        (("GET /cart",), "GET", "/cart/", False),
        (("GET /cart",), "GET", "/%63art", True),
        (("GET /cart",), "GET", "/Cart", False),
        (("GET /cart",), "POST", "/cart", False),
        (("GET /product/*",), "GET", "/product/abc/def", True),
        (("GET /product/*",), "GET", "/product", False),
        (("/static/*",), "PURGE", "/static/x.css", True),
        (("a.B/C",), "POST", "/a.B/C", True),
        (("a.B/C",), "GET", "/a.B/C", False),
        ((), "DELETE", "/anything", True),
        (("GET /a%2Fb",), "GET", "/a%2fb", True),
    ],
)
def test_declared_allows_follows_the_declared_meaning_of_routes(
    methods: tuple[str, ...], method: str, path: str, allowed: bool
) -> None:
    """docs/format.md, "How HTTP paths match": query ignored, unreserved %XX decoded, case and
    trailing slash significant, ``*`` any run of characters, gRPC methods are POSTs."""
    assert declared_allows(methods, method, path) is allowed


def test_plan_covers_every_case_on_the_example(example_graph: Graph) -> None:
    requests = plan_requests(example_graph)
    cases = Counter(r.case for r in requests)
    expected = {
        "declared",
        "undeclared method",
        "undeclared path",
        "query string",
        "trailing slash",
        "percent-encoded",
        "mixed case",
        "wrong identity",
    }
    assert expected <= set(cases)
    assert {r.wire for r in requests} == {"http1", "http2", "grpc"}


def test_every_declared_grpc_method_is_planned_as_allowed(example_graph: Graph) -> None:
    planned = {
        (r.caller.name, r.path) for r in plan_requests(example_graph) if r.case == "declared"
    }
    for edge in example_graph.edges:
        if edge.source.kind == "service" and edge.interface == "grpc":
            for method in edge.methods:
                assert (str(edge.source), f"/{method}") in planned


def test_wrong_identity_is_a_caller_the_provider_never_admitted(example_graph: Graph) -> None:
    for request in plan_requests(example_graph):
        if request.case != "wrong identity":
            continue
        admitted = {
            e.source.service_account
            for e in example_graph.edges
            if e.target == request.door.service
        }
        assert request.caller.service_account not in admitted
        assert request.expected is False
