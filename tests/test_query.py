"""Queries on the Online Boutique example, checked against facts read from its declarations.

examples/online-boutique/services/*.yaml: frontend calls 7 services, checkoutservice 6,
recommendationservice calls productcatalogservice, cartservice calls redis-cart, loadgenerator
calls frontend (expires 2027-09-30); frontend is exposed through the ingress controller; nothing
has egress.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from trustmap import query as q
from trustmap.cli import cli
from trustmap.errors import UsageError
from trustmap.graph import load_graph
from trustmap.model import EdgeKind, Graph, ServiceRef

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "online-boutique"
EXPECTED_EDGES = ROOT / "tests" / "fixtures" / "online-boutique-expected-edges.json"
NOW = dt.date(2026, 11, 23)


def ref(name: str) -> ServiceRef:
    return ServiceRef("default", name)


def names(refs: Any) -> list[str]:
    return [r.name for r in refs]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return load_graph([EXAMPLE], NOW)


def test_the_example_loads_without_findings(graph: Graph) -> None:
    assert [str(d) for d in graph.diagnostics] == []
    assert len(graph.services) == 12


def test_dependency_edges_match_the_expected_edges_fixture(graph: Graph) -> None:
    edges = [
        {
            "source": str(e.source),
            "target": str(e.target),
            "interface": e.interface,
            "port": e.port,
            "protocol": e.protocol,
            "methods": sorted(e.methods),
        }
        for e in graph.edges
        if e.kind is EdgeKind.DEPENDENCY
    ]
    key = ("source", "target", "interface")
    expected = json.loads(EXPECTED_EDGES.read_text())
    assert sorted(edges, key=lambda e: [e[k] for k in key]) == expected


def test_the_only_other_edge_is_the_ingress_controller_into_frontend(graph: Graph) -> None:
    others = [e for e in graph.edges if e.kind is not EdgeKind.DEPENDENCY]
    assert [(str(e.source), str(e.target), e.interface, e.port) for e in others] == [
        ("ingress-controller:ingress-nginx/ingress", "default/frontend", "http", 8080)
    ]


def test_callers_of_cartservice_are_checkoutservice_and_frontend(graph: Graph) -> None:
    edges = q.callers(graph, ref("cartservice"))
    assert [(str(e.source), e.interface, e.port) for e in edges] == [
        ("default/checkoutservice", "grpc", 7070),
        ("default/frontend", "grpc", 7070),
    ]


def test_callers_of_frontend_are_the_load_generator_and_the_ingress_controller(
    graph: Graph,
) -> None:
    edges = q.callers(graph, ref("frontend"))
    assert [(str(e.source), e.kind) for e in edges] == [
        ("default/loadgenerator", EdgeKind.DEPENDENCY),
        ("ingress-controller:ingress-nginx/ingress", EdgeKind.INGRESS),
    ]


def test_callees_of_frontend_are_its_seven_backends(graph: Graph) -> None:
    assert names(e.target for e in q.callees(graph, ref("frontend"))) == [
        "adservice",
        "cartservice",
        "checkoutservice",
        "currencyservice",
        "productcatalogservice",
        "recommendationservice",
        "shippingservice",
    ]


def test_checkoutservice_calls_emailservice_on_the_container_port(graph: Graph) -> None:
    callees = q.callees(graph, ref("checkoutservice"))
    (email,) = [e for e in callees if e.target == ref("emailservice")]
    assert email.port == 8080
    assert email.methods == ("hipstershop.EmailService/SendOrderConfirmation",)


def test_leaf_services_call_nothing(graph: Graph) -> None:
    for leaf in ["redis-cart", "paymentservice", "emailservice", "adservice", "currencyservice"]:
        assert q.callees(graph, ref(leaf)) == []


def test_dependents_of_productcatalogservice_are_its_callers_then_the_load_generator(
    graph: Graph,
) -> None:
    reached = q.dependents(graph, ref("productcatalogservice"))
    assert [(r.service.name, r.depth) for r in reached] == [
        ("checkoutservice", 1),
        ("frontend", 1),
        ("recommendationservice", 1),
        ("loadgenerator", 2),
    ]
    assert reached[-1].via == ref("frontend")


def test_dependents_of_redis_cart_reach_the_load_generator_in_three_hops(graph: Graph) -> None:
    reached = q.dependents(graph, ref("redis-cart"))
    assert [(r.service.name, r.depth) for r in reached] == [
        ("cartservice", 1),
        ("checkoutservice", 2),
        ("frontend", 2),
        ("loadgenerator", 3),
    ]
    assert {r.via for r in reached} == {ref("cartservice")}


def test_the_load_generator_depends_on_every_other_service(graph: Graph) -> None:
    reached = q.dependencies(graph, ref("loadgenerator"))
    by_depth: dict[int, list[str]] = {}
    for r in reached:
        by_depth.setdefault(r.depth, []).append(r.service.name)
    assert by_depth == {
        1: ["frontend"],
        2: [
            "adservice",
            "cartservice",
            "checkoutservice",
            "currencyservice",
            "productcatalogservice",
            "recommendationservice",
            "shippingservice",
        ],
        3: ["emailservice", "paymentservice", "redis-cart"],
    }
    assert len(reached) == len(graph.services) - 1


def test_path_from_the_load_generator_to_redis_goes_through_frontend_and_cart(graph: Graph) -> None:
    chain = q.path(graph, ref("loadgenerator"), ref("redis-cart"))
    assert [(str(e.source), str(e.target), e.interface) for e in chain] == [
        ("default/loadgenerator", "default/frontend", "http"),
        ("default/frontend", "default/cartservice", "grpc"),
        ("default/cartservice", "default/redis-cart", "tcp-redis"),
    ]


def test_there_is_no_path_against_the_direction_of_calls(graph: Graph) -> None:
    assert q.path(graph, ref("redis-cart"), ref("frontend")) == []


def test_only_frontend_is_exposed_and_only_through_the_ingress_controller(graph: Graph) -> None:
    found = q.exposed(graph)
    assert [(str(x.service), x.interface.name, x.sources) for x in found] == [
        ("default/frontend", "http", ("ingress-controller:ingress-nginx/ingress",))
    ]


def test_no_service_sends_traffic_out_of_the_cluster(graph: Graph) -> None:
    assert q.egress(graph) == []


def test_owners_of_cartservice_are_the_cart_team(graph: Graph) -> None:
    team = q.owners(graph, ref("cartservice"))
    assert team is not None
    assert (team.name, team.owners) == ("cart-team", ("cart-lead@example.com", "group:cart-oncall"))


def test_explain_an_allowed_call_gives_the_reason_and_both_declarations(graph: Graph) -> None:
    answer = q.explain(graph, "default/frontend", ref("cartservice"))
    assert answer.allowed
    (edge,) = answer.edges
    assert edge.reason == (
        "show the cart size on every page, list the cart, add items and empty the cart"
    )
    assert Path(edge.declared_at.file).name == "storefront.yaml"
    assert Path(edge.offered_at.file).name == "cart-team.yaml"


def test_explain_an_undeclared_call_says_nothing_was_declared(graph: Graph) -> None:
    answer = q.explain(graph, "default/adservice", ref("cartservice"))
    assert not answer.allowed
    assert answer.notes[0] == "default/adservice declares no dependency on default/cartservice"


def test_explain_the_ingress_controller_into_frontend(graph: Graph) -> None:
    answer = q.explain(graph, "ingress-controller:ingress-nginx/ingress", ref("frontend"))
    assert answer.allowed
    assert [e.kind for e in answer.edges] == [EdgeKind.INGRESS]


def test_the_load_generator_grant_carries_its_approver_and_expiry(graph: Graph) -> None:
    (edge,) = q.explain(graph, "default/loadgenerator", ref("frontend")).edges
    assert (edge.approved_by, edge.expires) == ("storefront-lead@example.com", dt.date(2027, 9, 30))


def test_after_its_expiry_the_load_generator_may_no_longer_call_frontend() -> None:
    later = load_graph([EXAMPLE], dt.date(2027, 10, 1))
    answer = q.explain(later, "default/loadgenerator", ref("frontend"))
    assert not answer.allowed
    assert [r.codes for r in answer.rejected] == [("TM211",)]


def test_a_bare_name_resolves_and_a_typo_gets_a_suggestion(graph: Graph) -> None:
    assert q.resolve_ref(graph, "cartservice") == ref("cartservice")
    typo = r"unknown service 'cartservce' \(did you mean 'cartservice'\?\)"
    with pytest.raises(UsageError, match=typo):
        q.resolve_ref(graph, "cartservce")


# --- the same questions through the CLI, as `make demo` asks them --------------------------------


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, [*args, str(EXAMPLE), "--now", NOW.isoformat()])


def test_cli_callers_json_lists_checkoutservice_and_frontend() -> None:
    result = _run("query", "callers", "default/cartservice", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [e["source"] for e in json.loads(result.stdout)] == [
        "default/checkoutservice",
        "default/frontend",
    ]


def test_cli_dependents_json_gives_hops() -> None:
    result = _run("query", "dependents", "productcatalogservice", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[-1] == {
        "service": "default/loadgenerator",
        "hops": 2,
        "via": "default/frontend",
    }


def test_cli_path_exits_0_with_a_chain_and_1_without() -> None:
    assert _run("query", "path", "loadgenerator", "redis-cart").exit_code == 0
    assert _run("query", "path", "redis-cart", "loadgenerator").exit_code == 1


def test_cli_owners_and_exposed_and_egress_in_json() -> None:
    owners = json.loads(_run("query", "owners", "cartservice", "--format", "json").stdout)
    assert owners["team"] == "cart-team"
    assert owners["owners"] == ["cart-lead@example.com", "group:cart-oncall"]
    exposed = json.loads(_run("query", "exposed", "--format", "json").stdout)
    assert [(e["service"], e["reachableFrom"]) for e in exposed] == [
        ("default/frontend", ["ingress-controller:ingress-nginx/ingress"])
    ]
    assert json.loads(_run("query", "egress", "--format", "json").stdout) == []


def test_cli_explain_exits_0_when_allowed_and_1_when_denied() -> None:
    allowed = _run("explain", "frontend", "cartservice", "--format", "json")
    assert allowed.exit_code == 0
    assert json.loads(allowed.stdout)["allowed"] is True
    assert _run("explain", "adservice", "cartservice").exit_code == 1


def test_cli_query_of_an_unknown_service_exits_2_with_a_suggestion() -> None:
    result = _run("query", "callers", "cartservce")
    assert result.exit_code == 2
    assert "did you mean 'cartservice'" in result.stderr


def test_long_answers_print_as_plain_aligned_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich needs seconds to lay out 10,000 rows; past LARGE_TABLE rows the table is plain text."""
    args = ["query", "dependents", "productcatalogservice", str(EXAMPLE), "--now", "2026-11-23"]
    rich = CliRunner().invoke(cli, args)
    monkeypatch.setattr("trustmap.report.tables.LARGE_TABLE", 1)
    plain = CliRunner().invoke(cli, args)
    assert rich.exit_code == plain.exit_code == 0
    lines = plain.stdout.splitlines()
    assert lines[0] == "what breaks if productcatalogservice goes (4)"
    assert lines[1].split() == ["service", "hops", "via"]
    assert set(lines[2].replace(" ", "")) == {"-"}
    services = sorted(line.split()[0] for line in lines[3:])
    assert services == sorted(
        line.split("│")[1].strip() for line in rich.stdout.splitlines() if "default/" in line
    )
