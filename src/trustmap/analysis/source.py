"""Reading manifest files into raw documents, and turning problems found in them into spans.

Documents are parsed with the fast value loaders (libyaml when available, :mod:`json` for
``.json``); source positions are only needed for the few values that carry a problem, so a
problem records *where in the document* it is (a key path) and :func:`resolve` composes the
YAML node tree of just those files afterwards to turn paths into ``file:line:col`` spans.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trustmap.codes import CODES
from trustmap.diagnostics import Diagnostic, Span, diagnostic

__all__ = ["Cursor", "Document", "Issues", "Locator", "Problem", "iter_documents", "manifest_files"]

PathPart = str | int

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SUFFIXES = {".yaml", ".yml", ".json"}


@dataclass(frozen=True, slots=True)
class Problem:
    """A diagnostic whose span is still a key path inside a document."""

    file: str
    doc: int
    path: tuple[PathPart, ...]
    code: str
    message: str
    hint: str | None = None


@dataclass(slots=True)
class Issues:
    """Collects problems (located later) and ready-made diagnostics."""

    problems: list[Problem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    def mark(self) -> int:
        """A position in the problem list, for :meth:`errors_since`."""
        return len(self.problems)

    def errors_since(self, mark: int) -> bool:
        """Whether an error-level problem was recorded after ``mark``."""
        return any(CODES[p.code].severity == "error" for p in self.problems[mark:])

    def resolve(self) -> list[Diagnostic]:
        """All diagnostics, with problem paths turned into line/column spans."""
        out = list(self.diagnostics)
        by_file: dict[str, list[Problem]] = defaultdict(list)
        for problem in self.problems:
            by_file[problem.file].append(problem)
        for file, problems in by_file.items():
            roots = _compose(self.texts.get(file, ""))
            for p in problems:
                span = _span(file, roots, p.doc, p.path)
                out.append(diagnostic(p.code, span, p.message, p.hint))
        return out


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place inside one document: where a value was read from, for reporting problems."""

    file: str
    doc: int
    path: tuple[PathPart, ...]
    issues: Issues

    def at(self, *parts: PathPart) -> Cursor:
        """The cursor of a value below this one."""
        return Cursor(self.file, self.doc, self.path + parts, self.issues)

    def report(self, code: str, message: str, hint: str) -> None:
        """Record a problem at this place."""
        self.issues.problems.append(Problem(self.file, self.doc, self.path, code, message, hint))

    @property
    def where(self) -> str:
        """Dotted field path for messages, e.g. ``spec.ingress[0].from[1]``."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text.lstrip(".")


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed document of a file."""

    file: str
    index: int
    value: Any


def manifest_files(paths: Sequence[Path], issues: Issues) -> list[Path]:
    """Files to read: given files as they are, directories walked for YAML/JSON files."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in _SUFFIXES
            )
        elif path.is_file():
            found.append(path)
        else:
            issues.diagnostics.append(
                diagnostic(
                    "TM100",
                    Span(str(path)),
                    "path does not exist or is not a file or directory",
                    "pass manifest files or directories that exist",
                )
            )
    return found


def iter_documents(path: Path, issues: Issues) -> Iterator[Document]:
    """Parse one file into documents; unreadable files become diagnostics and yield nothing."""
    name = str(path)
    text = _read(path, issues)
    if text is None:
        return
    issues.texts[name] = text
    if path.suffix.lower() == ".json":
        try:
            yield Document(name, 0, json.loads(text))
            return
        except ValueError:
            pass  # not strict JSON: YAML may still read it and locates the error better
    try:
        for index, value in enumerate(yaml.load_all(text, Loader=_SafeLoader)):
            yield Document(name, index, value)
    except yaml.YAMLError as exc:
        issues.diagnostics.append(_syntax_error(name, exc))


def _read(path: Path, issues: Issues) -> str | None:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        issues.diagnostics.append(
            diagnostic(
                "TM106",
                Span(str(path)),
                "file is not UTF-8 text",
                "save manifests as UTF-8 YAML or JSON",
            )
        )
    except OSError as exc:
        issues.diagnostics.append(
            diagnostic(
                "TM100",
                Span(str(path)),
                f"cannot read file: {exc.strerror or exc}",
                "check the path and its permissions",
            )
        )
    return None


def _syntax_error(name: str, exc: yaml.YAMLError) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None)
    span = Span(name, mark.line + 1, mark.column + 1) if mark is not None else Span(name)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return diagnostic(
        "TM101",
        span,
        f"YAML syntax error: {problem}",
        "fix the YAML syntax; documents after the error in this file were not read",
    )


def _compose(text: str) -> list[yaml.Node | None]:
    roots: list[yaml.Node | None] = []
    with suppress(yaml.YAMLError):  # positions are best effort; values were read already
        roots.extend(yaml.compose_all(text, Loader=_SafeLoader))
    return roots


def _span(file: str, roots: list[yaml.Node | None], doc: int, path: tuple[PathPart, ...]) -> Span:
    node = roots[doc] if doc < len(roots) else None
    if node is None:
        return Span(file)
    for part in path:
        child = _child(node, part)
        if child is None:
            break
        node = child
    start, end = node.start_mark, node.end_mark
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _child(node: yaml.Node, part: PathPart) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value  # type: ignore[no-any-return]
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None


@dataclass(slots=True)
class Locator:
    """Turns (file, document, key path) into a ``file:line:col`` span, composing each file once.

    Used for findings that point at objects read earlier (verify's platform evaluators): only the
    files that end up holding a finding are composed.
    """

    texts: dict[str, str]
    _roots: dict[str, list[yaml.Node | None]] = field(default_factory=dict)

    def span(self, file: str, doc: int, path: tuple[PathPart, ...]) -> Span:
        """Where ``path`` of document ``doc`` of ``file`` is (the file alone when unknown)."""
        if file not in self.texts:
            return Span(file)
        roots = self._roots.get(file)
        if roots is None:
            roots = self._roots[file] = _compose(self.texts[file])
        return _span(file, roots, doc, path)
