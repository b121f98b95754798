"""What a team may push: clean relative file paths, and only what it owns.

A team's push may hold only Service documents of that team, in namespaces its Team document
grants; Organization and Team documents belong to the platform scope, which holds nothing else
but the services of the platform team itself (so the platform's token cannot rewrite a team's
service). Anything else refuses the
whole push (403, written to the audit log) with a TM701 diagnostic per offending document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from posixpath import normpath

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.server.errors import ApiError, unscoped
from trustmap.server.state import Parsed

__all__ = ["check_paths", "check_scope"]


def check_paths(files: Sequence[tuple[str, str]]) -> None:
    """422 unless every path is one ``pull`` can write anywhere: relative, clean, given once,
    no file also used as a folder (even differing only in case), printable."""
    problems: list[Diagnostic] = []
    seen: dict[str, str] = {}
    for path, _ in files:
        problem = _path_problem(path)
        if problem is None and path.casefold() in seen:
            problem = f"file '{path}' is given twice (as '{seen[path.casefold()]}')"
        if problem is not None:
            problems.append(_bad_path(path, problem))
        seen.setdefault(path.casefold(), path)
    folders = {
        "/".join(parts[:n]).casefold(): path
        for path, _ in files
        if (parts := path.split("/"))
        for n in range(1, len(parts))
    }
    for path, _ in files:
        if path.casefold() in folders:
            clash = folders[path.casefold()]
            problems.append(
                _bad_path(path, f"'{path}' is a file, but '{clash}' needs it as a folder")
            )
    if problems:
        raise ApiError(422, "the push names files badly; nothing was applied", problems)


_DRIVE = re.compile(r"^[A-Za-z]:")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
"""Control characters, bidirectional controls and invisible separators."""


def _path_problem(path: str) -> str | None:
    if not path:
        return "an empty file path"
    if _UNPRINTABLE.search(path):
        return f"file path {path!r} holds control, invisible or bidirectional characters"
    if path.startswith(("/", "~")) or _DRIVE.match(path) or "\\" in path:
        return f"file path '{path}' is absolute, a home or drive path, or uses backslashes"
    parts = path.split("/")
    if path != normpath(path) or any(p in ("", ".", "..") for p in parts):
        return f"file path '{path}' is not a clean relative path"
    return None


def _bad_path(path: str, problem: str) -> Diagnostic:
    return diagnostic(
        "TM702",
        Span(repr(path)[1:-1] if _UNPRINTABLE.search(path) else path or "<empty>"),
        problem,
        "send paths like 'services/checkout.yaml' (relative, no '.' or '..', no control "
        "characters, each once, no file named like a folder)",
    )


def check_scope(team: str, change: Parsed, parses: dict[str, Parsed], platform: bool) -> None:
    """403 when ``change`` holds documents the pushing team does not own."""
    declarations = change.declarations
    problems: list[Diagnostic] = []
    if not platform:
        documents = [("Organization", o.name, o.span) for o in declarations.organizations]
        documents += [("Team", t.name, t.span) for t in declarations.teams]
        for kind, name, span in documents:
            problems.append(
                diagnostic(
                    "TM701",
                    span,
                    f"{kind} '{name}' may only be pushed by the platform scope",
                    "ask the platform team to change it",
                )
            )
    teams = {t.name: t for p in ({**parses, team: change}).values() for t in p.declarations.teams}
    own = teams.get(team)
    for service in declarations.services:
        if service.team != team:
            problems.append(
                diagnostic(
                    "TM701",
                    service.span,
                    f"service {service.ref} belongs to team '{service.team}', not '{team}'",
                    f"push it with a token of team '{service.team}'",
                )
            )
        elif own is None or service.ref.namespace not in own.namespaces:
            spaces = ", ".join(own.namespaces) if own else "none (the team is not declared)"
            problems.append(
                diagnostic(
                    "TM701",
                    service.span,
                    f"team '{team}' may not declare services in namespace '{service.ref.namespace}'",
                    f"its namespaces are: {spaces}",
                )
            )
    if problems:
        raise ApiError(
            403,
            "the push changes what the team does not own; nothing was applied",
            [unscoped(p, team) for p in problems],
            subject=f"team:{team}",
        )
