"""Loading declaration files: paths → YAML documents with positions, plus file-level diagnostics.

Small inputs load in-process; a large tree of files is parsed on all cores, since YAML parsing
dominates the cost of loading an organisation. :func:`parse_files` hands each file's documents
over as soon as they are parsed, so a caller can validate them while the rest are still parsed.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path as FilePath

from trustmap.bulk import building
from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.loader.cache import ParseCache, Parsed
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
    "declaration_files",
    "load_paths",
    "load_text",
    "parse_files",
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
    files, problems = declaration_files(paths)
    with building():
        results = list(parse_files(files, limits, workers))
    documents = [doc for docs, _ in results for doc in docs]
    problems.extend(p for _, found in results for p in found)
    return LoadResult(tuple(documents), tuple(files), tuple(problems))


def declaration_files(
    paths: Sequence[str | os.PathLike[str]],
) -> tuple[list[str], list[Diagnostic]]:
    """The YAML files named or found under ``paths``, in load order, and the paths that failed."""
    files, problems = discover(paths)
    if not files and not problems:
        hint = "point at a directory of *.yaml declarations or name the files"
        problems.append(
            diagnostic("TM116", Span(", ".join(map(str, paths))), "no YAML files found", hint)
        )
    return files, problems


def load_text(text: str, file: str = "<input>", limits: Limits = Limits()) -> LoadResult:
    """Load declarations held in memory (an HTTP body, a test) as if read from ``file``."""
    documents, problems = compose_documents(text, file, limits)
    documents = [d for d in documents if d.data is not None]
    return LoadResult(tuple(documents), (file,), tuple(problems))


def parse_files(
    files: Sequence[str], limits: Limits = Limits(), workers: int | None = None
) -> Iterator[Parsed]:
    """Each file's documents and problems, in order, as soon as they are ready.

    Unchanged files come from the parse cache; the others are parsed by ``workers`` processes
    counting this one (default: one per core when there are megabytes to parse), which also fill
    the cache. This process parses the first files itself, a smaller share than the others: it
    also unpickles what they send, and the caller usually validates each file as it comes.
    """
    cache = ParseCache.default()
    keys = [cache.key(f, limits) for f in files]
    hits = [cache.get(key, f) for key, f in zip(keys, files, strict=True)]
    missing = [n for n, hit in enumerate(hits) if hit is None]
    todo = [files[n] for n in missing]
    fresh = _parse(cache, todo, [keys[n] for n in missing], limits, workers or _auto_workers(todo))
    try:
        for hit in hits:
            yield hit if hit is not None else next(fresh)
    finally:
        fresh.close()  # shuts the worker pool down


def _parse(
    cache: ParseCache, files: list[str], keys: list[str | None], limits: Limits, workers: int
) -> Generator[Parsed, None, None]:
    if workers <= 1 or len(files) < 2:
        yield from _parse_here(cache, files, keys, limits)
        return
    here = _own_share(files, workers)
    rest, directory = files[here:], [cache.directory] * (len(files) - here)
    with ProcessPoolExecutor(max_workers=workers - 1) as pool:
        try:
            entries = pool.map(_parse_remote, rest, keys[here:], [limits] * len(rest), directory)
            yield from _parse_here(cache, files[:here], keys[:here], limits)
            for file, entry in zip(rest, entries, strict=True):
                yield ParseCache.loads(entry, file)
        finally:
            pool.shutdown(cancel_futures=True)  # a caller that stops early waits for no more


def _parse_here(
    cache: ParseCache, files: list[str], keys: list[str | None], limits: Limits
) -> Iterator[Parsed]:
    for file, key in zip(files, keys, strict=True):
        result = load_file(file, limits)
        cache.put(key, result)
        yield result


def _own_share(files: list[str], workers: int) -> int:
    """How many of the first files this process parses: about 1 / (2 * workers) of the bytes."""
    sizes = [os.path.getsize(f) if os.path.isfile(f) else 0 for f in files]
    goal, total = sum(sizes) / (2 * workers), 0
    for count, size in enumerate(sizes):
        if total + size > goal:
            return count
        total += size
    return len(files) - 1


def _parse_remote(file: str, key: str | None, limits: Limits, directory: FilePath | None) -> bytes:
    """In a worker: parse ``file``, store it in the cache, and return the entry's bytes."""
    cache = ParseCache(directory)
    with building():
        entry = cache.dumps(load_file(file, limits))
    cache.write(key, entry)
    return entry


def _auto_workers(files: list[str]) -> int:
    total = sum(os.path.getsize(f) for f in files if os.path.isfile(f))
    return min(os.cpu_count() or 1, 4) if total >= _PARALLEL_BYTES else 1
