"""The two sides of a change, read as text: a directory, or a revision of a git repository.

A pull request is reviewed before anything is checked out, so a revision is read with git itself
(``git ls-tree`` lists it, ``git cat-file --batch`` reads every blob in one process) and parsed
in memory. Both kinds of side are named relative to their root, so that a file of the base and
the same file of the head compare equal, while spans still point where a reader can open them.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.errors import InputError, UsageError
from trustmap.graph import build_graph
from trustmap.loader import Document, compose_documents
from trustmap.loader.files import discover
from trustmap.model import Graph
from trustmap.schema import parse_documents

__all__ = ["Tree", "directory_tree", "git_range", "git_tree", "load_tree"]

_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Tree:
    """One side of a change: its declaration files as text."""

    label: str
    """What the side is called in reports: a path or a git revision."""
    root: str
    """Prefix of every file name ('' for a repository: names are relative to its top)."""
    files: tuple[tuple[str, str], ...]
    """``(name as reported, text)`` sorted by name."""

    def relative(self, name: str) -> str:
        """``name`` without the side's root: equal for the same file on both sides."""
        return name[len(self.root) :] if self.root and name.startswith(self.root) else name


def directory_tree(path: str) -> Tree:
    """Every ``*.yaml``/``*.yml`` under ``path`` (hidden directories skipped, as ``validate``).

    Raises:
        InputError: ``path`` does not exist.
    """
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file or directory")
    files, _ = discover([path])
    root = path if os.path.isfile(path) else os.path.join(path, "")
    return Tree(path, "" if os.path.isfile(path) else root, tuple(_read(f) for f in files))


def _read(file: str) -> tuple[str, str]:
    return file, Path(file).read_bytes().decode("utf-8", errors="replace")


def git_range(repo: str, spec: str) -> tuple[str, str]:
    """The base and head revisions of ``A..B`` (A itself) or ``A...B`` (their merge base, as a
    commit id).

    Raises:
        UsageError: ``spec`` is not a range, or git cannot resolve it.
    """
    if "..." in spec:
        first, _, head = spec.partition("...")
        base = _git(repo, "merge-base", first or "HEAD", head or "HEAD").strip()
        return base, head or "HEAD"
    base, dots, head = spec.partition("..")
    if not dots:
        raise UsageError(f"--git wants BASE..HEAD or BASE...HEAD, not '{spec}'")
    return base or "HEAD", head or "HEAD"


def git_tree(repo: str, revision: str, paths: Sequence[str] = (), label: str | None = None) -> Tree:
    """The declaration files of ``revision`` under ``paths`` (repository-relative), read from
    git's object store without a checkout.

    Raises:
        UsageError: git is missing, ``repo`` is not a repository, or ``revision`` is unknown.
    """
    listing = _git(repo, "ls-tree", "-r", "-z", "--full-name", revision, "--", *paths)
    blobs = [_entry(line) for line in listing.split("\0") if line]
    wanted = [(sha, name) for kind, sha, name in blobs if kind == "blob" and _declaration(name)]
    texts = _cat(repo, [sha for sha, _ in wanted])
    files = tuple(sorted(zip((n for _, n in wanted), texts, strict=True)))
    return Tree(label or revision, "", files)


def _entry(line: str) -> tuple[str, str, str]:
    meta, _, name = line.partition("\t")
    _mode, kind, sha = meta.split(" ")
    return kind, sha, name


def _declaration(name: str) -> bool:
    parts = name.split("/")
    return name.endswith(_SUFFIXES) and not any(p.startswith(".") for p in parts[:-1])


def _cat(repo: str, shas: list[str]) -> list[str]:
    """The blobs' texts, read by one ``git cat-file --batch``."""
    if not shas:
        return []
    raw = _run(repo, ["cat-file", "--batch"], ("\n".join(shas) + "\n").encode())
    texts, at = [], 0
    for _ in shas:
        header_end = raw.index(b"\n", at)
        size = int(raw[at:header_end].split(b" ")[2])
        start = header_end + 1
        texts.append(raw[start : start + size].decode("utf-8", errors="replace"))
        at = start + size + 1
    return texts


def _git(repo: str, *args: str) -> str:
    return _run(repo, list(args), None).decode("utf-8", errors="replace")


def _run(repo: str, args: list[str], given: bytes | None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", repo, *args], input=given, capture_output=True, check=False, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UsageError(f"cannot run git: {error}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise UsageError(f"git {args[0]} failed: {message[-1] if message else 'no message'}")
    return done.stdout


def load_tree(tree: Tree, today: dt.date) -> Graph:
    """The checked graph of one side (an empty side is an empty organisation, not an error)."""
    documents: list[Document] = []
    problems: list[Diagnostic] = []
    for name, text in tree.files:
        found, problems_here = compose_documents(text, name)
        documents.extend(d for d in found if d.data is not None)
        problems.extend(problems_here)
        if "\ufffd" in text:
            problems.append(_not_utf8(name))
    declarations, invalid = parse_documents(documents)
    return build_graph(declarations, today, [*problems, *invalid])


def _not_utf8(name: str) -> Diagnostic:
    return diagnostic("TM100", Span(name), "file is not valid UTF-8", "save the file as UTF-8")
