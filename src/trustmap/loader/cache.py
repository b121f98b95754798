"""A content-addressed cache of parsed files, so repeated runs on an unchanged tree skip YAML parsing.

Parsing dominates loading a large organisation; CI jobs and people run several commands on the
same files. Entries are keyed by the file's bytes, trustmap's version and the limits, so a changed
file, upgrade or limit is a miss. The cache lives in ``$TRUSTMAP_CACHE_DIR`` (default
``$XDG_CACHE_HOME/trustmap`` or ``~/.cache/trustmap``); ``TRUSTMAP_NO_CACHE=1`` turns it off.
A damaged or unreadable entry is a miss, never an error.

An entry is the pickled result; identical files share it, so a hit from a file with another
name is relabelled. Parse workers write entries themselves and hand the same bytes to the main
process, so a cold run pickles each file's documents once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from trustmap.diagnostics import Diagnostic
from trustmap.loader.compose import Limits
from trustmap.loader.document import Document
from trustmap.version import __version__

__all__ = ["ParseCache", "Parsed"]

Parsed = tuple[list[Document], list[Diagnostic]]
"""One file's documents and problems."""


class ParseCache:
    """Read and write parsed files by content hash; every failure degrades to a miss."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @classmethod
    def default(cls) -> ParseCache:
        """The cache the environment asks for (``None`` directory when disabled)."""
        if os.environ.get("TRUSTMAP_NO_CACHE"):
            return cls(None)
        root = os.environ.get("TRUSTMAP_CACHE_DIR")
        if root:
            return cls(Path(root))
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return cls(Path(base) / "trustmap")

    def key(self, file: str, limits: Limits) -> str | None:
        """Hash of the file's bytes plus version and limits, or ``None`` when unreadable."""
        if self.directory is None:
            return None
        try:
            if os.path.getsize(file) > limits.max_bytes:
                return None
            with open(file, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        digest = hashlib.sha256(f"{__version__}|{_FORMAT}|{limits}|".encode())
        digest.update(data)
        return digest.hexdigest()

    def get(self, key: str | None, file: str) -> Parsed | None:
        """The cached result for ``key``, re-labelled with ``file``, or ``None``."""
        if key is None or self.directory is None:
            return None
        try:
            with open(self.directory / key[:2] / key, "rb") as handle:
                return self.loads(handle.read(), file)
        except Exception:  # a damaged entry is a miss, whatever it raises
            return None

    def put(self, key: str | None, result: Parsed) -> None:
        """Store ``result`` under ``key`` (atomically; errors are ignored)."""
        if key is not None and self.directory is not None:
            self.write(key, self.dumps(result))

    @staticmethod
    def dumps(result: Parsed) -> bytes:
        """An entry's bytes: ``result``, pickled."""
        return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(entry: bytes, file: str) -> Parsed:
        """The result an entry holds, labelled with ``file``."""
        documents, problems = pickle.loads(entry)
        if any(d.file != file for d in documents[:1]) or any(
            p.span is not None and p.span.file != file for p in problems
        ):
            return _relabel(documents, problems, file)
        return documents, problems

    def write(self, key: str | None, entry: bytes) -> bool:
        """Store an entry made by :meth:`dumps` under ``key`` (atomically); whether it was stored."""
        if key is None or self.directory is None:
            return False
        folder = self.directory / key[:2]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False) as handle:
                handle.write(entry)
            os.replace(handle.name, folder / key)
        except OSError:
            return False
        return True


_FORMAT = 5
"""Bumped when what an entry holds changes (5: documents say whether the loader found them broken; diagnostics have related places)."""


def _relabel(documents: list[Document], problems: list[Diagnostic], file: str) -> Parsed:
    """Put ``file`` into documents and spans."""
    relabelled = [Document(file, d.index, d.data, d.positions, d.broken) for d in documents]
    fixed = [
        dataclasses.replace(p, span=dataclasses.replace(p.span, file=file)) if p.span else p
        for p in problems
    ]
    return relabelled, fixed
