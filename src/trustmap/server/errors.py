"""Every error the API returns, as one JSON shape, and never a traceback.

``{"error": {"status": 422, "title": "...", "message": "...", "diagnostics": [...]}}``; diagnostics
carry code, severity, file, line, column, message and hint (see :mod:`trustmap.report.diagnostics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from trustmap.diagnostics import Diagnostic, Span
from trustmap.report.diagnostics import diagnostic_to_dict

__all__ = [
    "DOCUMENTED",
    "TITLES",
    "ApiError",
    "ErrorOut",
    "documented_errors",
    "error_body",
    "unscoped",
]

TITLES = {
    400: "bad request",
    401: "authentication required",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    412: "precondition failed",
    413: "request too large",
    415: "unsupported media type",
    422: "invalid input",
    428: "precondition required",
    500: "internal error",
    503: "service unavailable",
}


@dataclass
class ApiError(Exception):
    """An error to send as JSON; 401 and 403 are also written to the audit log."""

    status: int
    message: str
    diagnostics: Sequence[Diagnostic] = ()
    headers: dict[str, str] = field(default_factory=dict)
    subject: str = ""

    def __str__(self) -> str:
        return f"{self.status} {self.message}"


def error_body(
    status: int, message: str, diagnostics: Sequence[Diagnostic] = (), **extra: Any
) -> dict[str, Any]:
    """The JSON body of an error response."""
    body: dict[str, Any] = {
        "status": status,
        "title": TITLES.get(status, "error"),
        "message": message,
        "diagnostics": [diagnostic_to_dict(d) for d in diagnostics],
    }
    body.update(extra)
    return {"error": body}


def unscoped(found: Diagnostic, team: str) -> Diagnostic:
    """``found`` with its file named as the pushing client named it (without ``<team>/``)."""
    prefix = f"{team}/"

    def mine(span: Span) -> Span:
        if not span.file.startswith(prefix):
            return span
        return Span(span.file[len(prefix) :], span.line, span.col, span.end_line, span.end_col)

    span = found.span
    if span is None or not span.file.startswith(prefix):
        return found
    related = tuple(mine(r) for r in found.related)  # the other place of a cross-file finding
    return Diagnostic(found.code, found.severity, mine(span), found.message, found.hint, related)


class DiagnosticOut(BaseModel):
    """A finding, with where it is and how to fix it."""

    model_config = ConfigDict(extra="allow")
    code: str
    severity: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    message: str
    hint: str | None = None


class ErrorDetail(BaseModel):
    """What went wrong."""

    model_config = ConfigDict(extra="allow")
    status: int
    title: str
    message: str
    diagnostics: list[DiagnosticOut] = []
    fields: list[dict[str, str]] | None = None


class ErrorOut(BaseModel):
    """Every error the API returns."""

    error: ErrorDetail


DOCUMENTED = (401, 403, 404, 409, 412, 413, 422, 428, 503)
"""The error statuses every operation may answer, documented once for the whole API."""


def documented_errors() -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for :data:`DOCUMENTED`, each with the :class:`ErrorOut` body."""
    what = {
        401: "no token, or an unknown or revoked one",
        403: "the token may not do this (another team's scope, not an owner, not admin)",
        404: "no such team, service, version, request, transfer or target",
        409: "conflicts with the state: owned by another team, already decided, changed since read",
        412: "If-Match is stale: the team pushed since you read",
        413: "request body or file count over the limit",
        422: "invalid input: schema, names, or errors in the pushed files (with diagnostics)",
        428: "If-Match is required",
        503: "the database does not answer; retry after Retry-After seconds",
    }
    return {code: {"model": ErrorOut, "description": what[code]} for code in DOCUMENTED}
