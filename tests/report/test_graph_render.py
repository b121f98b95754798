"""The DOT and Mermaid pictures render in the real tools, for the example and for generated orgs.

Facts relied on:
- Graphviz: a ``subgraph`` whose name starts with ``cluster`` is drawn as a box, and every ``{``
  must be closed; an unclosed one is a syntax error and ``dot`` exits non-zero
  (https://graphviz.org/doc/info/lang.html, "Subgraphs and Clusters").
- Mermaid flowcharts: ``subgraph id[title] … end``; a subgraph whose id is also a node's id makes
  the node its own parent and Mermaid refuses to draw ("Setting x as parent of x would create a
  cycle", mermaid-js/mermaid packages/mermaid/src/diagrams/flowchart; seen with mmdc 11.17).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from render_tools import render_with_dot, render_with_mermaid

from benchmark_orgs import generate_organisation
from trustmap.graph import load_graph
from trustmap.report.graph import render_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "online-boutique"
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 services in 4 namespaces and several teams, with egress and a few broken calls."""
    return generate_organisation(tmp_path_factory.mktemp("org"), 60, 150)


def _balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r'"(\\.|[^"\\])*"', "", text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_every_dot_cluster_is_closed_for_every_team(generated: Path) -> None:
    graph = load_graph([generated], TODAY)
    text = render_graph(graph, "dot")
    teams = {(s.ref.namespace, s.team) for s in graph.services.values()}
    assert len(teams) > 1
    assert text.count("subgraph cluster_team_") == len(teams)
    assert _balanced(text)


def test_mermaid_group_ids_are_never_node_ids() -> None:
    text = render_graph(load_graph([EXAMPLE], TODAY), "mermaid")
    groups = set(re.findall(r"^\s*subgraph (\S+?)\[", text, re.M))
    nodes = set(re.findall(r"^\s*(\w+)[\[(]", text, re.M)) - {"subgraph"}
    assert groups
    assert nodes
    assert not groups & nodes


@pytest.mark.parametrize("source", ["example", "generated"])
def test_graphviz_renders_the_dot_picture(source: str, generated: Path, tmp_path: Path) -> None:
    root = EXAMPLE if source == "example" else generated
    graph = load_graph([root], TODAY)
    result = render_with_dot(render_graph(graph, "dot"), tmp_path / "graph.svg")
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "graph.svg").read_text()
    assert svg.count('class="cluster"') == len(
        {s.ref.namespace for s in graph.services.values()}
    ) + len({(s.ref.namespace, s.team) for s in graph.services.values()})
    assert "frontend" in svg or source == "generated"


@pytest.mark.slow
@pytest.mark.parametrize("source", ["example", "generated"])
def test_mermaid_cli_renders_the_mermaid_picture(
    source: str, generated: Path, tmp_path: Path
) -> None:
    root = EXAMPLE if source == "example" else generated
    graph = load_graph([root], TODAY)
    result = render_with_mermaid(render_graph(graph, "mermaid"), tmp_path / "graph.svg")
    assert result.returncode == 0, result.stdout + result.stderr
    svg = (tmp_path / "graph.svg").read_text()
    assert svg.count('data-edge="true"') == len(graph.edges) + len(graph.external)


def test_the_mermaid_cli_refuses_a_subgraph_named_like_a_node(tmp_path: Path) -> None:
    """The check has teeth: the picture the old writer made for a team named like a service fails."""
    bad = 'flowchart LR\n  subgraph n_a_b["team b"]\n    n_a_b["b"]\n  end\n'
    result = render_with_mermaid(bad, tmp_path / "bad.svg")
    assert result.returncode != 0
