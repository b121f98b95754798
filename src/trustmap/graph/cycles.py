"""Dependency cycles: strongly connected groups of services and one cycle through each.

Plain adjacency lists rather than a networkx graph: an organisation's effective dependencies
are tens of thousands of edges, and walking a networkx subgraph view of a component with
thousands of members cost more than the rest of the graph checks together.

The traversal orders are those of networkx 3's ``strongly_connected_components`` and
``find_cycle(G.subgraph(component), source=min(component))`` on a ``DiGraph`` built from the same
edges, which trustmap used before, so the cycle each TM216 finding shows (and the service it
is reported at) did not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["Adjacency", "adjacency", "first_cycle", "strongly_connected"]

Adjacency = dict[int, dict[int, None]]
"""Successors of each node, in the order the edges were first given; nodes in first-seen order."""


def adjacency(edges: Iterable[tuple[int, int]]) -> Adjacency:
    """Successor lists of a directed graph given by its edges, as ``DiGraph.add_edges_from``."""
    succ: Adjacency = {}
    for tail, head in edges:
        if tail not in succ:
            succ[tail] = {}
        if head not in succ:
            succ[head] = {}
        succ[tail][head] = None
    return succ


def strongly_connected(succ: Adjacency) -> Iterator[set[int]]:
    """Strongly connected components (Nuutila's variant of Tarjan's algorithm, iteratively)."""
    preorder: dict[int, int] = {}
    lowlink: dict[int, int] = {}
    found: set[int] = set()
    waiting: list[int] = []
    counter = 0
    neighbours = {v: iter(succ[v]) for v in succ}
    for source in succ:
        if source in found:
            continue
        queue = [source]
        while queue:
            v = queue[-1]
            if v not in preorder:
                counter += 1
                preorder[v] = counter
            done = True
            for w in neighbours[v]:
                if w not in preorder:
                    queue.append(w)
                    done = False
                    break
            if not done:
                continue
            low = mine = preorder[v]
            for w in succ[v]:
                if w not in found:
                    other = preorder[w]
                    if other > mine:
                        other = lowlink[w]
                    if other < low:
                        low = other
            lowlink[v] = low
            queue.pop()
            if low != preorder[v]:
                waiting.append(v)
                continue
            component = {v}
            while waiting and preorder[waiting[-1]] > preorder[v]:
                component.add(waiting.pop())
            found.update(component)
            yield component


def first_cycle(succ: Adjacency, component: set[int]) -> list[int]:
    """The nodes of the first cycle an edge-by-edge depth-first walk meets inside ``component``.

    The walk starts at the smallest node and follows, from each node, its successors inside the
    component; the cycle is returned from the node it closes on.
    """
    start = min(component)
    path: list[tuple[int, int]] = []
    active = {start}
    previous: int | None = None
    for tail, head in _edge_walk(succ, component, start):
        if previous is not None and tail != previous:
            while path:  # backtracking: drop edges until the path ends where this one starts
                active.remove(path.pop()[1])
                if path and path[-1][1] == tail:
                    break
            if not path:
                active = {tail}
        path.append((tail, head))
        if head in active:
            first = next(n for n, (t, _) in enumerate(path) if t == head)
            return [t for t, _ in path[first:]]
        active.add(head)
        previous = head
    raise ValueError("a strongly connected component of two or more nodes has a cycle")


def _edge_walk(succ: Adjacency, members: set[int], start: int) -> Iterator[tuple[int, int]]:
    """Edges in depth-first order, each once; a node reached again resumes its own edges."""
    visited: set[int] = set()
    pending: dict[int, Iterator[int]] = {}
    stack = [start]
    while stack:
        node = stack[-1]
        if node not in visited:
            pending[node] = (n for n in succ[node] if n in members)
            visited.add(node)
        head = next(pending[node], None)
        if head is None:
            stack.pop()
            continue
        stack.append(head)
        yield node, head
