"""Problems as values: every stage returns what it built plus a list of :class:`Diagnostic`.

Nothing below the shells raises for bad input; stages append diagnostics and go on, and the
CLI or server decides what a list of diagnostics means for an exit code or HTTP status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from trustmap.codes import CODES

__all__ = [
    "Diagnostic",
    "Severity",
    "Span",
    "diagnostic",
    "has_errors",
    "sort_diagnostics",
]


class Severity(StrEnum):
    """How bad a finding is; ``--strict`` promotes warnings to failures."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: info 0, warning 1, error 2."""
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A place in a source file; lines and columns count from 1 (0 = unknown)."""

    file: str
    """Path as the user gave it (relative paths stay relative)."""
    line: int = 0
    """First line of the located text."""
    col: int = 0
    """First column of the located text."""
    end_line: int = 0
    """Last line, 0 when unknown."""
    end_col: int = 0
    """Column just past the located text, 0 when unknown."""

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: a stable code, how bad it is, where, what, and what to do about it."""

    code: str
    """Stable identifier such as ``TM203``; documented in docs/diagnostics.md."""
    severity: Severity
    """Default severity comes from :data:`trustmap.codes.CODES`."""
    span: Span | None
    """Where the problem is; ``None`` only for run-level problems with no file."""
    message: str
    """One sentence, lower case, no trailing period."""
    hint: str | None = None
    """What the user can do about it."""
    related: tuple[Span, ...] = ()
    """The other places a cross-file finding is about (the first declaration, the other selector)."""

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order by file, line, column, then code and message for stable output."""
        span = self.span or Span("")
        return (span.file, span.line, span.col, self.code, self.message)

    def __str__(self) -> str:
        where = str(self.span) if self.span else "trustmap"
        return f"{where}: {self.severity.value} {self.code} {self.message}"


def diagnostic(
    code: str,
    span: Span | None,
    message: str,
    hint: str | None = None,
    related: tuple[Span, ...] = (),
) -> Diagnostic:
    """Build a diagnostic whose severity is the registered default for ``code``."""
    return Diagnostic(code, Severity(CODES[code].severity), span, message, hint, related)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Root causes first: file and schema problems (TM1xx) before what follows from them, each
    part by file, line, column (then code, message); exact duplicates dropped."""
    return sorted(set(diagnostics), key=lambda d: (not _is_root(d.code), d.sort_key))


def _is_root(code: str) -> bool:
    """File and schema problems: what other findings may follow from (TM118 is one of those)."""
    return code.startswith("TM1") and code != "TM118"


def has_errors(diagnostics: Iterable[Diagnostic], *, strict: bool = False) -> bool:
    """Whether the findings fail a run: errors always, warnings too when ``strict``."""
    floor = Severity.WARNING.rank if strict else Severity.ERROR.rank
    return any(d.severity.rank >= floor for d in diagnostics)
