"""The organisation graph: load declarations, merge them, check them, compute effective edges.

``load_graph`` is the one call every shell (CLI, server, benchmarks) makes to get a
:class:`~trustmap.model.Graph` from files.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence

from trustmap.bulk import building
from trustmap.diagnostics import Diagnostic
from trustmap.graph.build import build_graph
from trustmap.loader import (
    Document,
    Limits,
    LoadResult,
    declaration_files,
    load_text,
    parse_files,
)
from trustmap.model import Graph
from trustmap.schema import Declarations, parse_documents

__all__ = ["build_graph", "graph_from_load", "graph_from_text", "load_declarations", "load_graph"]


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
    with building():
        declarations, problems = load_declarations(paths, limits=limits, workers=workers)
        return build_graph(declarations, today or dt.date.today(), problems)


def load_declarations(
    paths: Sequence[str | os.PathLike[str]],
    *,
    limits: Limits = Limits(),
    workers: int | None = None,
) -> tuple[Declarations, list[Diagnostic]]:
    """Every valid declaration under ``paths``, and every file and schema problem (TM1xx).

    Each file's documents are validated as soon as they are parsed, while worker processes
    still parse the rest, so validation overlaps parsing.
    """
    files, problems = declaration_files(paths)
    with building():
        parsed = parse_files(files, limits, workers)
        declarations, found = parse_documents(_documents(parsed, problems))
    return declarations, [*problems, *found]


def _documents(
    parsed: Iterator[tuple[list[Document], list[Diagnostic]]], problems: list[Diagnostic]
) -> Iterator[Document]:
    """Every document of every file in order; each file's problems go to ``problems``."""
    for documents, found in parsed:
        problems += found
        yield from documents


def graph_from_text(text: str, file: str = "<input>", today: dt.date | None = None) -> Graph:
    """A graph from declarations held in memory (tests, HTTP bodies)."""
    return graph_from_load(load_text(text, file), today)


def graph_from_load(loaded: LoadResult, today: dt.date | None = None) -> Graph:
    """A graph from already-loaded documents."""
    declarations, problems = parse_documents(loaded.documents)
    return build_graph(declarations, today or dt.date.today(), [*loaded.diagnostics, *problems])
