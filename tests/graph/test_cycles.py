"""Cycle detection gives the components and the example cycle networkx gave (it is the oracle)."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from trustmap.graph.cycles import adjacency, first_cycle, strongly_connected

edges = st.sets(st.tuples(st.integers(0, 25), st.integers(0, 25)), max_size=90).map(
    lambda pairs: [(a, b) for a, b in sorted(pairs, key=lambda p: (p[1] * 7 + p[0]) % 13) if a != b]
)


@settings(max_examples=300, deadline=None)
@given(edges)
def test_components_and_cycles_match_networkx(pairs: list[tuple[int, int]]) -> None:
    graph: nx.DiGraph[int] = nx.DiGraph()
    graph.add_edges_from(pairs)
    succ = adjacency(pairs)
    mine = list(strongly_connected(succ))
    assert sorted(map(sorted, mine)) == sorted(map(sorted, nx.strongly_connected_components(graph)))
    for component in mine:
        if len(component) > 1:
            expected = nx.find_cycle(graph.subgraph(component), source=min(component))
            assert first_cycle(succ, component) == [tail for tail, _ in expected]


def test_a_two_service_loop_starts_at_the_smaller_node() -> None:
    succ = adjacency([(3, 1), (1, 3), (1, 2)])
    (loop,) = [c for c in strongly_connected(succ) if len(c) > 1]
    assert loop == {1, 3}
    assert first_cycle(succ, loop) == [1, 3]
