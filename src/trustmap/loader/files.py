"""Find and read declaration files: directories recursively, deterministic order, safe reads."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.loader.compose import Limits, compose_documents
from trustmap.loader.document import Document

__all__ = ["discover", "expand_paths", "load_file"]

SUFFIXES = (".yaml", ".yml")


def discover(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[str], list[Diagnostic]]:
    """Expand directories into their YAML files, sorted; report paths that do not exist.

    A file named explicitly is read whatever its suffix; inside directories only ``*.yaml`` and
    ``*.yml`` count, hidden directories (``.git``) are skipped, and the order is by path so that
    the same tree always loads the same way.
    """
    found, problems = expand_paths(paths, _walk)
    return list(dict.fromkeys(found)), problems


def expand_paths(
    paths: Sequence[str | os.PathLike[str]], walk: Callable[[Path], list[str]]
) -> tuple[list[str], list[Diagnostic]]:
    """Files named as they are, folders through ``walk``, in argument order (duplicates kept:
    each walker says which copy counts); TM100 for a path that does not exist. Declarations and
    Kubernetes manifests (:mod:`trustmap.kube.files`) share this, each with its own walk."""
    found: list[str] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(walk(path))
        elif path.is_file():
            found.append(str(path))
        else:
            problems.append(
                diagnostic("TM100", Span(str(path)), "no such file or directory", "check the path")
            )
    return found, problems


def _walk(root: Path) -> list[str]:
    files: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(str(Path(folder) / n) for n in names if n.endswith(SUFFIXES))
    return sorted(files, key=lambda f: Path(f).as_posix())


def load_file(
    file: str, limits: Limits = Limits(), *, keep_broken: bool = False
) -> tuple[list[Document], list[Diagnostic]]:
    """Read and parse one file, turning every way it can be unreadable into a diagnostic
    (``keep_broken``: see :func:`~trustmap.loader.compose.compose_documents`)."""
    try:
        size = os.path.getsize(file)
        if size > limits.max_bytes:
            return [], [_too_large(file, size, limits)]
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as error:
        reason = error.strerror or str(error)
        return [], [diagnostic("TM100", Span(file), f"cannot read file: {reason.lower()}")]
    text = _decode(file, data)
    if isinstance(text, Diagnostic):
        return [], [text]
    documents, problems = compose_documents(text, file, limits, keep_broken=keep_broken)
    documents = [d for d in documents if d.data is not None]
    if not documents and not problems:
        problems = [
            diagnostic(
                "TM105",
                Span(file, 1, 1),
                "file holds no YAML document",
                "add declarations or delete the file",
            )
        ]
    return documents, problems


def _too_large(file: str, size: int, limits: Limits) -> Diagnostic:
    return diagnostic(
        "TM104",
        Span(file),
        f"file is {size:,} bytes; the limit is {limits.max_bytes:,}",
        "split the declarations into several files (one per team is usual)",
    )


def _decode(file: str, data: bytes) -> str | Diagnostic:
    if b"\x00" in data[:8192]:
        return diagnostic(
            "TM106", Span(file, 1, 1), "file is binary", "declarations must be UTF-8 YAML text"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        col = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        return diagnostic(
            "TM106",
            Span(file, line, col),
            f"byte 0x{data[error.start]:02x} is not valid UTF-8",
            "save the file as UTF-8",
        )
