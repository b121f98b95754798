"""YAML text → :class:`Document` values, straight from libyaml's event stream.

PyYAML's own composer builds a node tree first and is three times slower; this one builds plain
values directly, records the position of every key and value, and enforces the safety limits:
duplicate keys, alias expansion (billion laughs) and nesting depth. Files written in the plain
block style that declarations use are read by :mod:`trustmap.loader.block` first, which gives the
same documents several times faster; everything else, and every error, comes through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.loader.block import Unsupported, read_block_yaml
from trustmap.loader.document import Document, Path, Position
from trustmap.loader.scalars import ScalarError, resolve_scalar

__all__ = ["Limits", "compose_documents"]

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "<<"


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep a hostile file from using unbounded time or memory."""

    max_bytes: int = 32 * 1024 * 1024
    """Largest file read at all."""
    max_depth: int = 64
    """Deepest nesting of mappings and sequences."""
    max_expanded_nodes: int = 2_000_000
    """Most values a file may hold once aliases are expanded."""


class _Abort(Exception):
    """Stops composing a file; carries the diagnostic to report."""

    def __init__(self, found: Diagnostic) -> None:
        super().__init__(found.message)
        self.found = found


class _Frame:
    """An open mapping or sequence."""

    __slots__ = ("anchor", "first_line", "has_key", "key", "key_pos", "path", "value", "weight")

    def __init__(self, value: dict[Any, Any] | list[Any], path: Path, anchor: str | None) -> None:
        self.value = value
        self.path = path
        self.anchor = anchor
        self.weight = 1
        self.key: Any = None
        self.key_pos = (0, 0)
        self.has_key = False
        self.first_line: dict[Any, int] = {}


class _Composer:
    """Builds the values of one file's documents from its events."""

    def __init__(self, file: str, limits: Limits) -> None:
        self.file = file
        self.limits = limits
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.positions: dict[Path, Position] = {}
        self.weight = 0
        self.root: Any = None
        self.documents: list[Document] = []
        self.found: list[Diagnostic] = []
        self.broken = False
        self.index = 0

    def fail(self, code: str, line: int, col: int, message: str, hint: str | None = None) -> _Abort:
        return _Abort(diagnostic(code, Span(self.file, line, col), message, hint))

    def run(self, loader: Any) -> None:
        get_event, stack, positions = loader.get_event, self.stack, self.positions
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        openers = {yaml.MappingStartEvent: dict, yaml.SequenceStartEvent: list}
        closers = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        while (event := get_event()) is not None:
            kind = type(event)
            mark = event.start_mark
            line, col = mark.line + 1, mark.column + 1
            if kind is scalar_event:
                try:
                    value = resolve_scalar(event.value, event.tag, event.implicit[0])
                except ScalarError as error:
                    raise self.fail("TM111", line, col, str(error), "remove the tag") from None
                top = stack[-1] if stack else None
                if top is None:
                    positions[()] = (0, 0, line, col)
                elif top.value.__class__ is list:
                    positions[(*top.path, len(top.value))] = (0, 0, line, col)
                elif top.has_key:
                    positions[(*top.path, top.key)] = (*top.key_pos, line, col)
                self.add(value, line, col, 1, event.anchor)
            elif kind in openers:
                self.open(openers[kind](), event.anchor, line, col)
            elif kind in closers:
                frame = stack.pop()
                self.weight -= frame.weight - 1
                self.add(frame.value, line, col, frame.weight, frame.anchor)
            elif kind is alias_event:
                if event.anchor not in self.anchors:
                    raise self.fail(
                        "TM101",
                        line,
                        col,
                        f"YAML syntax error: unknown alias '*{event.anchor}'",
                        f"define the anchor '&{event.anchor}' before using it",
                    )
                value, weight = self.anchors[event.anchor]
                self.add(value, line, col, weight, None)
            elif kind is yaml.DocumentStartEvent:
                self.anchors, self.positions, self.root = {}, {}, None
                self.broken = False
                positions = self.positions
            elif kind is yaml.DocumentEndEvent:
                self.documents.append(
                    Document(self.file, self.index, self.root, positions, self.broken)
                )
                self.index += 1

    def open(
        self, container: dict[Any, Any] | list[Any], anchor: str | None, line: int, col: int
    ) -> None:
        stack = self.stack
        if len(stack) >= self.limits.max_depth:
            raise self.fail(
                "TM117",
                line,
                col,
                f"nesting is deeper than {self.limits.max_depth} levels",
                "flatten the document; declarations are a few levels deep",
            )
        if not stack:
            path: Path = ()
            key_pos = (0, 0)
        else:
            top = stack[-1]
            if top.value.__class__ is list:
                path, key_pos = (*top.path, len(top.value)), (0, 0)
            else:
                path, key_pos = (*top.path, top.key), top.key_pos
        self.positions[path] = (*key_pos, line, col)
        stack.append(_Frame(container, path, anchor))

    def add(self, value: Any, line: int, col: int, weight: int, anchor: str | None) -> None:
        """Attach a finished value to its parent (as a key or a value)."""
        self.weight += weight
        if self.weight > self.limits.max_expanded_nodes:
            raise self.fail(
                "TM103",
                line,
                col,
                f"aliases expand to more than {self.limits.max_expanded_nodes:,} values",
                "remove the recursive anchors/aliases; declarations never need this many",
            )
        if anchor is not None:
            self.anchors[anchor] = (value, weight)
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.weight += weight
        container = top.value
        if container.__class__ is list:
            container.append(value)
        elif not top.has_key:
            self.set_key(top, value, line, col)
        else:
            self.set_value(top, value, line, col)

    def set_key(self, top: _Frame, key: Any, line: int, col: int) -> None:
        if key.__class__ not in (str, int, float, bool) and key is not None:
            raise self.fail(
                "TM111",
                line,
                col,
                "mapping keys must be plain scalars",
                "write the key as a string",
            )
        top.key, top.has_key, top.key_pos = key, True, (line, col)

    def set_value(self, top: _Frame, value: Any, line: int, col: int) -> None:
        key, mapping = top.key, top.value
        top.has_key = False
        assert isinstance(mapping, dict)
        if key == _MERGE and isinstance(value, dict | list):
            self.merge(mapping, value, line, col)
            return
        if key in top.first_line:
            # Reported, and the document is marked broken; the rest of the file is still read.
            key_line, key_col = top.key_pos
            self.found.append(
                self.fail(
                    "TM102",
                    key_line,
                    key_col,
                    f"duplicate key '{key}' (first defined on line {top.first_line[key]})",
                    "remove one of the two entries; YAML would silently keep only the last",
                ).found
            )
            self.broken = True
            return
        mapping[key] = value
        top.first_line[key] = top.key_pos[0]

    def merge(
        self, mapping: dict[Any, Any], value: dict[Any, Any] | list[Any], line: int, col: int
    ) -> None:
        for source in value if isinstance(value, list) else [value]:
            if not isinstance(source, dict):
                raise self.fail(
                    "TM111", line, col, "'<<' merges only mappings", "merge an anchored map"
                )
            for key, item in source.items():
                mapping.setdefault(key, item)


def compose_documents(
    text: str, file: str, limits: Limits = Limits(), *, keep_broken: bool = False
) -> tuple[list[Document], list[Diagnostic]]:
    """Parse every document of ``text``; on the first syntax error, stop this file and report it.

    A duplicate key is reported and its document marked ``broken``; the following documents are
    still read. After an error that stops the file (syntax, alias expansion, depth) the documents
    that were not read are named, by line, in one TM119 (later problems would be guesses).

    Broken documents (a duplicate key, or what was read of the document a syntax error stopped)
    are returned only with ``keep_broken``: declaration loading names them so references to what
    they declare are not reported as unknown; readers of manifests and catalogs leave them out.
    """
    try:
        return read_block_yaml(text, file, limits.max_depth, limits.max_expanded_nodes), []
    except Unsupported:
        pass  # anything the fast reader does not fully understand is libyaml's to read and report
    composer = _Composer(file, limits)
    stop: Diagnostic | None = None
    try:
        composer.run(_Loader(text))
    except _Abort as abort:
        stop = abort.found
    except yaml.MarkedYAMLError as error:
        stop = _syntax_error(file, error)
    except yaml.YAMLError as error:
        stop = diagnostic("TM101", Span(file, 1, 1), _one_line(str(error)))
    except RecursionError:
        stop = diagnostic("TM117", Span(file, 1, 1), "nesting is too deep to parse")
    if stop is None:
        return _kept(composer.documents, keep_broken), composer.found
    if keep_broken and composer.stack and isinstance(composer.stack[0].value, dict):
        # What was read of the stopped document, so references to what it names are not
        # reported as unknown; broken documents are never validated.
        partial = composer.stack[0].value
        composer.documents.append(
            Document(file, composer.index, partial, composer.positions, broken=True)
        )
    found = [*composer.found, stop, *_skipped(text, file, stop)]
    return _kept(composer.documents, keep_broken), found


def _kept(documents: list[Document], keep_broken: bool) -> list[Document]:
    return documents if keep_broken else [d for d in documents if not d.broken]


def _skipped(text: str, file: str, stop: Diagnostic) -> list[Diagnostic]:
    """TM119 naming the documents after ``stop`` that were not read, by their first line."""
    after = stop.span.line if stop.span else 1
    starts = [
        n
        for n, line in enumerate(text.splitlines(), start=1)
        if n > after and (line == "---" or line.startswith(("--- ", "---\t")))
    ]
    if not starts:
        return []
    lines = ", ".join(str(n) for n in starts)
    count = "1 document" if len(starts) == 1 else f"{len(starts)} documents"
    where = "line" if len(starts) == 1 else "lines"
    return [
        diagnostic(
            "TM119",
            Span(file, starts[0], 1),
            f"{count} after the error on line {after} not read (starting on {where} {lines})",
            "fix the error above; the rest of the file is read again then",
        )
    ]


def _syntax_error(file: str, error: yaml.MarkedYAMLError) -> Diagnostic:
    mark = error.problem_mark or error.context_mark
    span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file, 1, 1)
    what = " ".join(part for part in (error.context, error.problem) if part)
    return diagnostic(
        "TM101",
        span,
        f"YAML syntax error: {_one_line(what) or 'cannot parse'}",
        "check indentation and quoting near this position (tabs are not allowed for indentation)",
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
