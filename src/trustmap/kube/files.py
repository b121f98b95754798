"""The one walker for Kubernetes manifests: which files are read, in which order, and how.

``trustmap analyze``, ``discover --manifests``, ``drift --snapshot`` and ``verify`` all read
manifests through :func:`manifest_files` and :func:`read_manifest`, so a directory means the same
files to every command. The rules:

* a path named explicitly that is a file is read whatever its suffix;
* a directory is walked recursively for files whose suffix is ``.yaml``, ``.yml`` or ``.json`` in
  any case (``.YAML`` too); folders and files whose name starts with ``.`` (``.git``,
  ``.github``, editor backups) are skipped; symbolic links to files are read, links to folders
  are not followed (a link loop cannot hang a run);
* each file is read once: a file reached twice (named twice, inside two named folders, or through
  a link) keeps its first place;
* the order is the order of the arguments, and inside a folder by ``/``-separated path, so the
  same tree reads the same way on every platform;
* a text whose first character (after white space) is ``{`` or ``[`` is JSON and must be strict
  JSON, whatever the file's suffix (``kubectl get -o json`` output); any other text is YAML;
* a path that does not exist is TM100 (``no such file or directory``, as for declarations), a
  file that cannot be read is TM100 with the reason, a file that is not UTF-8 is TM106, a YAML or
  JSON syntax error is TM101 (the YAML documents before the error are kept), a duplicate key is
  TM102; an empty file is not a problem (kustomize and Helm trees hold empty placeholders).

Documents come from :mod:`trustmap.loader`, which records the position of every value, so every
object and sub-value has a ``file:line:col``. A JSON file is parsed by :mod:`json`, and the
positions of its values are composed only when one is asked for: a large cluster dump reads ten
times faster, and positions are needed only for the few values that carry a problem.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.loader import Document, Limits, Position, compose_documents
from trustmap.loader import Path as ValuePath
from trustmap.loader.files import expand_paths

__all__ = ["MANIFEST_LIMITS", "SUFFIXES", "manifest_files", "parse_manifest", "read_manifest"]

SUFFIXES = (".yaml", ".yml", ".json")
"""Suffixes read inside folders, compared in lower case."""

MANIFEST_LIMITS = Limits(
    max_bytes=1024 * 1024 * 1024, max_depth=256, max_expanded_nodes=200_000_000
)
"""Bounds for manifests: a ``kubectl get -A -o json`` of a large cluster is hundreds of
megabytes and CRD schemas nest deeply; alias expansion stays bounded."""


def manifest_files(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[str], list[Diagnostic]]:
    """The files to read for ``paths``, in reading order, and TM100 for paths that do not exist."""
    found, problems = expand_paths(paths, _walk)
    return _unique(found), problems


def _walk(root: Path) -> list[str]:
    files: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        files.extend(
            str(Path(folder) / n)
            for n in names
            if not n.startswith(".") and n.lower().endswith(SUFFIXES)
        )
    return sorted(files, key=lambda f: Path(f).as_posix())


def _unique(files: list[str]) -> list[str]:
    seen: set[str] = set()
    kept: list[str] = []
    for file in files:
        real = os.path.realpath(file)
        if real not in seen:
            seen.add(real)
            kept.append(file)
    return kept


def read_manifest(
    file: str, limits: Limits = MANIFEST_LIMITS
) -> tuple[list[Document], list[Diagnostic]]:
    """One file's documents (with positions) and the problems that stopped reading it."""
    try:
        if os.path.getsize(file) > limits.max_bytes:
            message = f"file is larger than {limits.max_bytes:,} bytes"
            return [], [diagnostic("TM104", Span(file), message, "split the manifests")]
        data = Path(file).read_bytes()
    except OSError as error:
        message = f"cannot read file: {(error.strerror or str(error)).lower()}"
        return [], [diagnostic("TM100", Span(file), message, "check the path and its permissions")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return [], [_not_utf8(file, data, error.start)]
    return parse_manifest(text, file, limits)


def parse_manifest(
    text: str, file: str, limits: Limits = MANIFEST_LIMITS
) -> tuple[list[Document], list[Diagnostic]]:
    """The documents of a manifest text read as if from ``file`` (JSON or YAML, see above)."""
    if text.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            return [], [_invalid_json(file, error)]
        lazy = _LazyPositions(text, file, limits)
        return ([] if data is None else [Document(file, 0, data, lazy)]), []
    documents, problems = compose_documents(text, file, limits)
    return [d for d in documents if d.data is not None], problems


def _invalid_json(file: str, error: json.JSONDecodeError) -> Diagnostic:
    return diagnostic(
        "TM101",
        Span(file, error.lineno, error.colno),
        f"invalid JSON: {error.msg}",
        "a text starting with { or [ is read as JSON: fix it, or write it as YAML",
    )


class _LazyPositions(Mapping[ValuePath, Position]):
    """A JSON document's position table, composed from its text the first time it is read."""

    def __init__(self, text: str, file: str, limits: Limits) -> None:
        self._source: tuple[str, str, Limits] | None = (text, file, limits)
        self._table: Mapping[ValuePath, Position] = {}

    def _composed(self) -> Mapping[ValuePath, Position]:
        if self._source is not None:
            text, file, limits = self._source
            documents, _ = compose_documents(text, file, limits)
            self._table = documents[0].positions if documents else {}
            self._source = None
        return self._table

    def __getitem__(self, key: ValuePath) -> Position:
        return self._composed()[key]

    def __iter__(self) -> Iterator[ValuePath]:
        return iter(self._composed())

    def __len__(self) -> int:
        return len(self._composed())


def _not_utf8(file: str, data: bytes, start: int) -> Diagnostic:
    line = data[:start].count(b"\n") + 1
    col = start - (data.rfind(b"\n", 0, start) + 1) + 1
    return diagnostic(
        "TM106",
        Span(file, line, col),
        f"byte 0x{data[start]:02x} is not valid UTF-8",
        "save manifests as UTF-8 YAML or JSON",
    )
