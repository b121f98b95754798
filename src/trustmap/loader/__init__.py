"""Loading declaration files: paths → YAML documents with positions, plus file-level diagnostics.

Small inputs load in-process; a large tree of files is parsed on all cores, since YAML parsing
dominates the cost of loading an organisation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.loader.cache import ParseCache
from trustmap.loader.compose import Limits, compose_documents
from trustmap.loader.document import Document, Path, Position
from trustmap.loader.files import discover, load_file

__all__ = [
    "Document",
    "Limits",
    "LoadResult",
    "Path",
    "Position",
    "compose_documents",
    "load_paths",
    "load_text",
]

_PARALLEL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Documents in load order, the files read, and every file-level problem."""

    documents: tuple[Document, ...]
    """All documents of all files, in file order then document order."""
    files: tuple[str, ...]
    """Files that were read."""
    diagnostics: tuple[Diagnostic, ...]
    """TM1xx problems found while reading and parsing."""


def load_paths(
    paths: Sequence[str | os.PathLike[str]], limits: Limits = Limits(), workers: int | None = None
) -> LoadResult:
    """Load every YAML file named or found under ``paths``.

    Args:
        paths: files and directories.
        limits: size, depth and alias-expansion bounds.
        workers: processes to parse with; ``None`` picks one per core for large inputs.
    """
    files, problems = discover(paths)
    if not files and not problems:
        hint = "point at a directory of *.yaml declarations or name the files"
        problems.append(
            diagnostic("TM116", Span(", ".join(map(str, paths))), "no YAML files found", hint)
        )
    results = _parse_all(files, limits, workers)
    documents = [doc for docs, _ in results for doc in docs]
    problems.extend(p for _, found in results for p in found)
    return LoadResult(tuple(documents), tuple(files), tuple(problems))


def load_text(text: str, file: str = "<input>", limits: Limits = Limits()) -> LoadResult:
    """Load declarations held in memory (an HTTP body, a test) as if read from ``file``."""
    documents, problems = compose_documents(text, file, limits)
    documents = [d for d in documents if d.data is not None]
    return LoadResult(tuple(documents), (file,), tuple(problems))


def _parse_all(
    files: list[str], limits: Limits, workers: int | None
) -> list[tuple[list[Document], list[Diagnostic]]]:
    """Parse every file, taking unchanged ones from the cache; misses run on all cores."""
    cache = ParseCache.default()
    keys = [cache.key(f, limits) for f in files]
    results = [cache.get(key, f) for key, f in zip(keys, files, strict=True)]
    missing = [n for n, found in enumerate(results) if found is None]
    parsed = _parse(
        [files[n] for n in missing], limits, workers or _auto_workers([files[n] for n in missing])
    )
    for n, result in zip(missing, parsed, strict=True):
        results[n] = result
        cache.put(keys[n], result)
    return [r for r in results if r is not None]


def _parse(
    files: list[str], limits: Limits, workers: int
) -> list[tuple[list[Document], list[Diagnostic]]]:
    if workers <= 1 or len(files) < 2:
        return [load_file(f, limits) for f in files]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(load_file, files, [limits] * len(files), chunksize=4))


def _auto_workers(files: list[str]) -> int:
    total = sum(os.path.getsize(f) for f in files if os.path.isfile(f))
    return min(os.cpu_count() or 1, 4) if total >= _PARALLEL_BYTES else 1
