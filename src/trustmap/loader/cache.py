"""A content-addressed cache of parsed files, so repeated runs on an unchanged tree skip YAML parsing.

Parsing dominates loading a large organisation; CI jobs and people run several commands on the
same files. Entries are keyed by the file's bytes, the limits and the code that parsed it: a hash
of the source of every module whose behaviour or classes go into an entry (:data:`PARSING_CODE`:
the ``loader`` package, ``diagnostics``, ``codes``, ``bulk``, ``version``) and the Python
version. A changed file, limit or parser — an upgrade, a local edit, a checkout of another
commit, even with the same version string — is a miss. The cache lives in
``$TRUSTMAP_CACHE_DIR`` (default ``$XDG_CACHE_HOME/trustmap`` or ``~/.cache/trustmap``);
``TRUSTMAP_NO_CACHE=1`` turns it off. A damaged or unreadable entry is a miss, never an error.

**The cache directory is trusted.** Entries are pickles, and unpickling runs whatever code an
entry names: whoever can write into the directory can run code as every user of it. Keep it
private to one user (the default under ``~/.cache`` is), never point ``TRUSTMAP_CACHE_DIR`` at a
shared or world-writable folder, and never restore it from an untrusted CI cache.

An entry is the pickled result; identical files share it, so a hit from a file with another
name is relabelled. Parse workers write entries themselves and hand the same bytes to the main
process, so a cold run pickles each file's documents once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import pickle
import sys
import tempfile
from pathlib import Path

from trustmap.diagnostics import Diagnostic
from trustmap.loader.compose import Limits
from trustmap.loader.document import Document

__all__ = ["PARSING_CODE", "ParseCache", "Parsed", "code_fingerprint"]

PARSING_CODE = (
    "trustmap.loader",
    "trustmap.loader.block",
    "trustmap.loader.cache",
    "trustmap.loader.compose",
    "trustmap.loader.document",
    "trustmap.loader.files",
    "trustmap.loader.scalars",
    "trustmap.diagnostics",
    "trustmap.codes",
    "trustmap.bulk",
    "trustmap.version",
)
"""The modules whose source keys the cache: what parses, and what an entry's pickles hold."""

Parsed = tuple[list[Document], list[Diagnostic]]
"""One file's documents and problems."""


class ParseCache:
    """Read and write parsed files by content hash; every failure degrades to a miss."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._code: str | None = None

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
        """Hash of the file's bytes, the limits and the parsing code, or ``None`` when the file
        (or the parsing code's source) is unreadable."""
        if self.directory is None:
            return None
        if self._code is None:
            self._code = code_fingerprint()
        if not self._code:
            return None
        try:
            if os.path.getsize(file) > limits.max_bytes:
                return None
            with open(file, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        digest = hashlib.sha256(f"{self._code}|{_FORMAT}|{limits}|".encode())
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
"""Bumped when what an entry holds changes (5: documents say whether the loader found them
broken; diagnostics have related places). The code fingerprint already changes with any such
edit; the number stays as a readable record of the format's changes."""


def code_fingerprint() -> str:
    """A hash of the source of :data:`PARSING_CODE` and the Python version; ``""`` when a
    module's source cannot be read (then nothing is cached: a key must name the code)."""
    digest = hashlib.sha256(sys.version.encode())
    for name in PARSING_CODE:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        try:
            with open(origin or "", "rb") as handle:
                digest.update(f"|{name}|".encode())
                digest.update(handle.read())
        except OSError:
            return ""
    return digest.hexdigest()


def _relabel(documents: list[Document], problems: list[Diagnostic], file: str) -> Parsed:
    """Put ``file`` into documents and spans."""
    relabelled = [Document(file, d.index, d.data, d.positions, d.broken) for d in documents]
    fixed = [
        dataclasses.replace(p, span=dataclasses.replace(p.span, file=file)) if p.span else p
        for p in problems
    ]
    return relabelled, fixed
