"""Reading catalog files: every YAML document with its positions, and what was not readable."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from trustmap.diagnostics import Diagnostic, Span
from trustmap.loader import Document
from trustmap.loader.files import discover, load_file

__all__ = ["documents", "mapping", "strings", "where"]


def documents(paths: Sequence[str], problems: list[Diagnostic]) -> Iterator[Document]:
    """Every document of every YAML file under ``paths``; file problems go to ``problems``."""
    files, missing = discover(paths)
    problems.extend(missing)
    for file in files:
        found, trouble = load_file(file)
        problems.extend(trouble)
        yield from found


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else empty."""
    return value if isinstance(value, dict) else {}


def strings(value: Any) -> list[str]:
    """``value``'s string items when it is a list (or a single string), else empty."""
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if isinstance(v, (str, int))] if isinstance(value, list) else []


def where(document: Document, *path: str | int) -> Span:
    """The span of ``path`` in ``document`` (the document when the path has no position)."""
    return document.span(tuple(path))
