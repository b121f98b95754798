"""Diagnostics as text (``file:line:col: severity CODE message``), JSON, GitHub annotations and SARIF."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from trustmap.codes import CODES
from trustmap.diagnostics import Diagnostic, Severity, Span
from trustmap.version import __version__

__all__ = ["FORMATS", "diagnostic_to_dict", "render_diagnostics", "summary_line"]

FORMATS = ("text", "json", "github", "sarif")


def render_diagnostics(
    diagnostics: Sequence[Diagnostic], fmt: str = "text", *, hints: bool = True
) -> str:
    """Render ``diagnostics`` (already sorted) in one of :data:`FORMATS`."""
    if fmt == "json":
        return json.dumps([diagnostic_to_dict(d) for d in diagnostics], indent=2) + "\n"
    if fmt == "github":
        return "".join(line + "\n" for d in diagnostics for line in _github_lines(d))
    if fmt == "sarif":
        return json.dumps(_sarif(diagnostics), indent=2) + "\n"
    return "".join(_text(d, hints) for d in diagnostics)


def diagnostic_to_dict(found: Diagnostic) -> dict[str, Any]:
    """A diagnostic as a flat JSON-ready mapping."""
    span = found.span
    return {
        "code": found.code,
        "severity": found.severity.value,
        "file": span.file if span else None,
        "line": span.line if span and span.line else None,
        "column": span.col if span and span.col else None,
        "message": found.message,
        "hint": found.hint,
        "related": [
            {"file": r.file, "line": r.line or None, "column": r.col or None} for r in found.related
        ],
    }


def summary_line(diagnostics: Sequence[Diagnostic]) -> str:
    """``2 errors, 1 warning`` or ``no problems``."""
    counts = Counter(d.severity for d in diagnostics)
    parts = [
        f"{counts[level]} {level.value}{'' if counts[level] == 1 else 's'}"
        for level in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        if counts[level]
    ]
    return ", ".join(parts) if parts else "no problems"


def _text(found: Diagnostic, hints: bool) -> str:
    line = f"{found}\n"
    if hints and found.hint:
        line += f"    hint: {found.hint}\n"
    return line


def _github_lines(found: Diagnostic) -> list[str]:
    """One annotation at the finding, and one more at each other place it is about."""
    lines = [_github(found)]
    for place in found.related:
        other = f"{found.message} (the other place of this finding is {found.span})"
        lines.append(_github(Diagnostic(found.code, found.severity, place, other, found.hint)))
    return lines


def _github(found: Diagnostic) -> str:
    level = {"error": "error", "warning": "warning", "info": "notice"}[found.severity.value]
    span = found.span
    properties = []
    if span and span.file:
        properties.append(f"file={span.file}")
        if span.line:
            properties += [f"line={span.line}", f"col={span.col}"]
    properties.append(f"title={found.code}")
    message = found.message + (f" — {found.hint}" if found.hint else "")
    return f"::{level} {','.join(properties)}::{_escape(message)}"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _sarif(diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    used = sorted({d.code for d in diagnostics})
    rules = [
        {
            "id": code,
            "shortDescription": {"text": CODES[code].title},
            "helpUri": f"https://trustmap.dev/docs/diagnostics#{code.lower()}",
            "defaultConfiguration": {"level": _sarif_level(CODES[code].severity)},
        }
        for code in used
    ]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "trustmap", "version": __version__, "rules": rules}},
                "results": [_sarif_result(d, used.index(d.code)) for d in diagnostics],
            }
        ],
    }


def _sarif_level(severity: str) -> str:
    return {"error": "error", "warning": "warning", "info": "note"}[severity]


def _sarif_result(found: Diagnostic, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": found.code,
        "ruleIndex": rule_index,
        "level": _sarif_level(found.severity.value),
        "message": {"text": found.message + (f". Hint: {found.hint}" if found.hint else "")},
    }
    span = found.span
    if span and span.file:
        location: dict[str, Any] = {"artifactLocation": {"uri": span.file}}
        if span.line:
            location["region"] = {"startLine": span.line, "startColumn": max(span.col, 1)}
        result["locations"] = [{"physicalLocation": location}]
    if found.related:
        result["relatedLocations"] = [
            {"id": n, "physicalLocation": _physical(place), "message": {"text": "also here"}}
            for n, place in enumerate(found.related, start=1)
        ]
    return result


def _physical(span: Span) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": span.file}}
    if span.line:
        location["region"] = {"startLine": span.line, "startColumn": max(span.col, 1)}
    return location
