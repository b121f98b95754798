"""Loading declaration files: paths → YAML documents with positions, plus file-level diagnostics.

Small inputs load in-process; a large tree of files is parsed on all cores, since YAML parsing
dominates the cost of loading an organisation. :func:`parse_files` hands each file's documents
over as soon as they are parsed, so a caller can validate them while the rest are still parsed.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
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
    documents, problems = compose_documents(text, file, limits, keep_broken=True)
    documents = [d for d in documents if d.data is not None]
    return LoadResult(tuple(documents), (file,), tuple(problems))


def parse_files(
    files: Sequence[str], limits: Limits = Limits(), workers: int | None = None
) -> Iterator[Parsed]:
    """Each file's documents and problems, in order, as soon as they are ready.

    Unchanged files come from the parse cache; the others are parsed by ``workers`` processes
    counting this one (default: one per core when there are megabytes to parse), which also fill
    the cache. Workers hand each result over in the cache (or, without one, through the pipe).
    This process parses the first files itself, a smaller share than the others: it also reads
    what they hand over, and the caller usually validates each file as it comes. When it would
    wait for a worker, it parses the first file no worker has started instead.
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
    with ProcessPoolExecutor(max_workers=workers - 1) as pool:
        try:
            remote = [
                pool.submit(_parse_remote, file, key, limits, cache.directory)
                for file, key in zip(files[here:], keys[here:], strict=True)
            ]
            yield from _parse_here(cache, files[:here], keys[:here], limits)
            yield from _collect(cache, files[here:], keys[here:], limits, remote)
        finally:
            pool.shutdown(cancel_futures=True)  # a caller that stops early waits for no more


def _collect(
    cache: ParseCache,
    files: list[str],
    keys: list[str | None],
    limits: Limits,
    remote: list[Future[bytes | None]],
) -> Iterator[Parsed]:
    """The workers' results in order; while the next is not ready, this process parses the
    first file no worker has started itself, so that it waits only when none is left."""
    stolen: dict[int, Parsed] = {}
    unstarted = 0  # no file before this one can still be taken from the workers
    for n, (file, future) in enumerate(zip(files, remote, strict=True)):
        unstarted = max(unstarted, n)
        while n not in stolen and not future.done() and unstarted < len(files):
            if remote[unstarted].cancel():  # fails once a worker has it: then it stays theirs
                stolen[unstarted] = _parse_one(cache, files[unstarted], keys[unstarted], limits)
            unstarted += 1
        if n in stolen:
            yield stolen.pop(n)
        else:
            yield _received(cache, file, keys[n], limits, future.result())


def _parse_here(
    cache: ParseCache, files: list[str], keys: list[str | None], limits: Limits
) -> Iterator[Parsed]:
    for file, key in zip(files, keys, strict=True):
        yield _parse_one(cache, file, key, limits)


def _parse_one(cache: ParseCache, file: str, key: str | None, limits: Limits) -> Parsed:
    result = load_file(file, limits, keep_broken=True)
    cache.put(key, result)
    return result


def _own_share(files: list[str], workers: int) -> int:
    """How many of the first files this process parses: about 1 / (3 * workers) of the bytes.

    Little, since it also validates every file; it takes more later whenever a worker lags.
    """
    sizes = [os.path.getsize(f) if os.path.isfile(f) else 0 for f in files]
    goal, total = sum(sizes) / (3 * workers), 0
    for count, size in enumerate(sizes):
        if total + size > goal:
            return count
        total += size
    return len(files) - 1


def _parse_remote(
    file: str, key: str | None, limits: Limits, directory: FilePath | None
) -> bytes | None:
    """In a worker: parse ``file`` and store it in the cache; the entry's bytes, or ``None`` when
    the cache holds them.

    Results large enough to fill the pipe to the parent would make the worker wait there until
    the parent, busy validating, lets the thread that drains it run; a file it reads later
    costs the worker nothing.
    """
    cache = ParseCache(directory)
    with building():
        entry = cache.dumps(load_file(file, limits, keep_broken=True))
    return None if cache.write(key, entry) else entry


def _received(
    cache: ParseCache, file: str, key: str | None, limits: Limits, entry: bytes | None
) -> Parsed:
    """What a worker parsed: the bytes it sent, or its cache entry (parsed here if that is gone)."""
    if entry is not None:
        return ParseCache.loads(entry, file)
    return cache.get(key, file) or load_file(file, limits, keep_broken=True)


def _auto_workers(files: list[str]) -> int:
    total = sum(os.path.getsize(f) for f in files if os.path.isfile(f))
    return min(os.cpu_count() or 1, 4) if total >= _PARALLEL_BYTES else 1
