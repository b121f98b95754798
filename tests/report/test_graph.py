"""Graph pictures are deterministic, complete and (for HTML) self-contained."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from trustmap.graph import load_graph
from trustmap.report.graph import GRAPH_FORMATS, render_graph

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "online-boutique"
TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize("fmt", GRAPH_FORMATS)
def test_each_format_gives_the_same_bytes_for_the_same_declarations(fmt: str) -> None:
    first = render_graph(load_graph([EXAMPLE], TODAY), fmt)
    second = render_graph(load_graph([EXAMPLE], TODAY), fmt)
    assert first == second


def test_json_holds_every_service_edge_and_its_origin() -> None:
    data = json.loads(render_graph(load_graph([EXAMPLE], TODAY), "json"))
    assert len(data["services"]) == 12
    assert len(data["edges"]) == 17
    edge = next(
        e
        for e in data["edges"]
        if e["source"] == "default/frontend" and e["target"] == "default/cartservice"
    )
    assert edge["declaredAt"].startswith(str(EXAMPLE / "services" / "storefront.yaml"))
    assert edge["reason"]


def test_html_page_is_self_contained_and_embeds_the_graph() -> None:
    page = render_graph(load_graph([EXAMPLE], TODAY), "html")
    assert not re.search(r"""(src|href)=["']https?://""", page), "the page must work offline"
    payload = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert payload is not None
    data = json.loads(payload.group(1))
    assert {s["ref"] for s in data["services"]} >= {"default/frontend", "default/redis-cart"}


def test_dot_groups_services_by_namespace_and_team() -> None:
    dot = render_graph(load_graph([EXAMPLE], TODAY), "dot")
    assert "subgraph cluster_ns_default {" in dot
    assert "subgraph cluster_team_default_cart_team {" in dot
    assert "svc_default_frontend -> svc_default_cartservice" in dot


def test_mermaid_draws_every_dependency() -> None:
    text = render_graph(load_graph([EXAMPLE], TODAY), "mermaid")
    assert text.startswith("flowchart LR")
    assert text.count("-->") == 17
