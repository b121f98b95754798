"""The organisation graph: load declarations, merge them, check them, compute effective edges.

``load_graph`` is the one call every shell (CLI, server, benchmarks) makes to get a
:class:`~trustmap.model.Graph` from files.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence

from trustmap.graph.build import build_graph
from trustmap.loader import Limits, LoadResult, load_paths, load_text
from trustmap.model import Graph
from trustmap.schema import parse_documents

__all__ = ["build_graph", "graph_from_load", "graph_from_text", "load_graph"]


def load_graph(
    paths: Sequence[str | os.PathLike[str]],
    today: dt.date | None = None,
    *,
    limits: Limits = Limits(),
    workers: int | None = None,
) -> Graph:
    """Load every declaration under ``paths`` into one checked graph.

    Args:
        paths: files and directories of declarations.
        today: the date expiry is judged against (default: today).
        limits: file size, nesting and alias bounds.
        workers: parse processes (default: automatic).

    Returns:
        The graph; every problem found is in ``graph.diagnostics``. Nothing is raised for bad input.
    """
    return graph_from_load(load_paths(paths, limits, workers), today)


def graph_from_text(text: str, file: str = "<input>", today: dt.date | None = None) -> Graph:
    """A graph from declarations held in memory (tests, HTTP bodies)."""
    return graph_from_load(load_text(text, file), today)


def graph_from_load(loaded: LoadResult, today: dt.date | None = None) -> Graph:
    """A graph from already-loaded documents."""
    declarations, problems = parse_documents(loaded.documents)
    return build_graph(declarations, today or dt.date.today(), [*loaded.diagnostics, *problems])
