"""What a team may push: clean relative file paths, and only what it owns.

A team's push may hold only Service documents of that team, in namespaces its Team document
grants; Organization and Team documents belong to the platform scope, which holds nothing else
but the services of the platform team itself (so the platform's token cannot rewrite a team's
service). Anything else refuses the
whole push (403, written to the audit log) with a TM701 diagnostic per offending document.
"""

from __future__ import annotations

from collections.abc import Sequence
from posixpath import normpath

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.server.errors import ApiError, unscoped
from trustmap.server.state import Parsed

__all__ = ["check_paths", "check_scope"]


def check_paths(files: Sequence[tuple[str, str]]) -> None:
    """422 unless every path is clean, relative and given once."""
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for path, _ in files:
        clean = normpath(path) if path else ""
        if (
            not path
            or path != clean
            or clean.startswith(("/", "../"))
            or clean == ".."
            or "\\" in path
        ):
            problems.append(
                diagnostic(
                    "TM702",
                    Span(path or "<empty>"),
                    f"file path '{path}' is not a clean relative path",
                    "send paths like 'services/checkout.yaml' (no '..', no leading '/')",
                )
            )
        elif path in seen:
            problems.append(
                diagnostic(
                    "TM702",
                    Span(path),
                    f"file '{path}' appears twice in the push",
                    "send each file once",
                )
            )
        seen.add(path)
    if problems:
        raise ApiError(422, "the push names files badly; nothing was applied", problems)


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
