"""Write registry approvals back into teams' YAML: ``approvedBy`` on each approved dependency
and the approved caller in the provider interface's ``consumers``.

Pulled files must say what the registry knows: once an owner of the provider approved a
dependency, the caller's file carries ``approvedBy: <owner>`` on that ``dependsOn`` entry, so the
next push round-trips it and a reader of the file sees who consented. The files are edited as
text, not re-serialised, so comments, key order and quoting stay exactly as the team wrote them:

* a block entry (``- service: ns/x`` over several lines) gets one ``approvedBy:`` line after
  its last line, at the indentation of its keys;
* a flow entry (``- {service: ns/x, reason: ...}``) gets ``, approvedBy: ...`` before its ``}``.

The provider's file gets the caller appended to the interface's ``consumers`` (a flow list
``[a, b]`` before its ``]``, a block list one ``- caller`` line after its last item), so the
pulled files of every team compile to what the registry compiles. Every edit is checked by parsing the result again; an entry whose layout is not understood (an
anchor, a dependency written in an unusual style) is left as pushed rather than risk a broken
file, and the approval stays visible through the API and the service page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from trustmap import api
from trustmap.model import Dependency, Graph, Service
from trustmap.server.state import scoped_file

__all__ = ["approved_entries", "with_approvals", "with_consumers"]

Consents = Mapping[tuple[str, str], Iterable[str]]
"""Callers to add, by provider ``(namespace/name, interface)``."""


@dataclass(frozen=True, slots=True)
class _Edit:
    """Insert ``text`` at 0-based ``offset`` of the file."""

    offset: int
    text: str


def approved_entries(graph: Graph, team: str) -> dict[str, dict[tuple[int, int], str]]:
    """Approvers by pushed file path and ``(line, col)`` of the dependency entry, for the
    entries of ``team``'s services the registry approved but the file does not name."""
    prefix = f"{team}/"
    found: dict[str, dict[tuple[int, int], str]] = {}
    for service in graph.services.values():
        for dep in service.depends_on:
            if dep.approved_by and dep.span.file.startswith(prefix) and dep.span.line > 0:
                path = dep.span.file[len(prefix) :]
                found.setdefault(path, {})[(dep.span.line, dep.span.col)] = dep.approved_by
    return found


def with_approvals(
    team: str, path: str, content: str, approvers: Mapping[tuple[int, int], str]
) -> str:
    """``content`` with ``approvedBy`` written into each listed entry that lacks one."""
    if not approvers:
        return content
    pending = {
        (dep.span.line, dep.span.col): approvers[(dep.span.line, dep.span.col)]
        for dep in _dependencies(team, path, content)
        if not dep.approved_by and (dep.span.line, dep.span.col) in approvers
    }
    edits = [edit for place, who in pending.items() if (edit := _edit(content, place, who))]
    if not edits:
        return content
    patched = _apply(content, edits)
    before, after = _approved_count(team, path, content), _approved_count(team, path, patched)
    return patched if after == before + len(edits) else content


def _dependencies(team: str, path: str, content: str) -> Iterable[Dependency]:
    declarations, _ = api.parse_files([(scoped_file(team, path), content)])
    services: tuple[Service, ...] = declarations.services
    return (dep for service in services for dep in service.depends_on)


def _approved_count(team: str, path: str, content: str) -> int:
    return sum(1 for dep in _dependencies(team, path, content) if dep.approved_by)


def _edit(content: str, place: tuple[int, int], approver: str) -> _Edit | None:
    lines = content.splitlines(keepends=True)
    line, col = place
    if line > len(lines):
        return None
    value = json.dumps(approver)
    start = sum(len(text) for text in lines[: line - 1]) + col - 1
    if content[start : start + 1] == "{":
        close = _closing_brace(content, start)
        return None if close is None else _Edit(close, f", approvedBy: {value}")
    last = _last_line_of_block(lines, line, col)
    offset = sum(len(text) for text in lines[:last])
    newline = "" if lines[last - 1].endswith("\n") else "\n"
    return _Edit(offset, f"{newline}{' ' * (col - 1)}approvedBy: {value}\n")


def _closing_brace(content: str, start: int) -> int | None:
    """Offset of the ``}`` closing the flow mapping opened at ``start``."""
    depth = 0
    for i, char in _unquoted(content, start, comments=True):
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return i if char == "}" else None
    return None


def _unquoted(content: str, start: int, *, comments: bool = False) -> Iterator[tuple[int, str]]:
    """Offsets and characters of ``content`` from ``start`` that are outside quoted scalars and,
    with ``comments``, outside ``#`` comments (a ``#`` after a space or tab up to the line end)."""
    quote, i = "", start
    while i < len(content):
        char = content[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif comments and char == "#" and content[i - 1] in " \t":
            newline = content.find("\n", i)
            i = len(content) if newline < 0 else newline
            continue
        else:
            yield i, char
        i += 1


def _last_line_of_block(lines: list[str], line: int, col: int) -> int:
    """1-based number of the last content line of the block mapping whose keys sit at ``col``."""

    def inside(text: str, stripped: str, indent: int) -> bool:
        marker = stripped in ("---", "...") and not text[0].isspace()
        return not marker and indent >= col - 1

    return _last_line(lines, line, inside)


def _last_line(lines: list[str], line: int, inside: Callable[[str, str, int], bool]) -> int:
    """1-based number of the last line from ``line`` on before the first content line (not blank,
    not a comment) that is not ``inside(text, stripped, indent)``; comments are passed over."""
    last = line
    for number in range(line + 1, len(lines) + 1):
        text = lines[number - 1]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not inside(text, stripped, len(text) - len(text.lstrip(" "))):
            break
        last = number
    return last


def _apply(content: str, edits: Iterable[_Edit]) -> str:
    result = content
    for edit in sorted(edits, key=lambda e: e.offset, reverse=True):
        result = result[: edit.offset] + edit.text + result[edit.offset :]
    return result


def with_consumers(team: str, path: str, content: str, consents: Consents) -> str:
    """``content`` with each consented caller added to its interface's ``consumers``."""
    if not consents:
        return content
    edits, added = [], 0
    for service in _services(team, path, content):
        for interface in service.interfaces:
            missing = [
                c
                for c in sorted(set(consents.get((str(service.ref), interface.name), ())))
                if c not in interface.consumers
            ]
            span = interface.consumers_span
            if missing and span is not None and (edit := _consumer_edit(content, span, missing)):
                edits.append(edit)
                added += len(missing)
    if not edits:
        return content
    patched = _apply(content, edits)
    return (
        patched
        if _consumer_count(team, path, patched) == _consumer_count(team, path, content) + added
        else content
    )


def _services(team: str, path: str, content: str) -> tuple[Service, ...]:
    declarations, _ = api.parse_files([(scoped_file(team, path), content)])
    return declarations.services


def _consumer_count(team: str, path: str, content: str) -> int:
    return sum(len(i.consumers) for s in _services(team, path, content) for i in s.interfaces)


def _consumer_edit(content: str, span: Any, callers: list[str]) -> _Edit | None:
    lines = content.splitlines(keepends=True)
    if span.line > len(lines):
        return None
    start = sum(len(text) for text in lines[: span.line - 1]) + span.col - 1
    values = [json.dumps(c) for c in callers]
    if content[start : start + 1] == "[":
        close = _closing_bracket(content, start)
        if close is None:
            return None
        empty = not content[start + 1 : close].strip()
        return _Edit(close, ("" if empty else ", ") + ", ".join(values))
    if content[start : start + 1] != "-":
        return None
    last = _last_item_line(lines, span.line, span.col)
    offset = sum(len(text) for text in lines[:last])
    newline = "" if lines[last - 1].endswith("\n") else "\n"
    indent = " " * (span.col - 1)
    return _Edit(offset, newline + "".join(f"{indent}- {v}\n" for v in values))


def _closing_bracket(content: str, start: int) -> int | None:
    """Offset of the ``]`` closing the flow sequence opened at ``start`` (no nesting expected)."""
    for i, char in _unquoted(content, start + 1):
        if char in "[{#":
            return None
        if char == "]":
            return i
    return None


def _last_item_line(lines: list[str], line: int, col: int) -> int:
    """1-based number of the last line of the block sequence whose ``-`` sit at ``col``."""

    def inside(_text: str, stripped: str, indent: int) -> bool:
        return indent > col - 1 or (indent == col - 1 and stripped.startswith("- "))

    return _last_line(lines, line, inside)
