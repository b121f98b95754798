"""The registry of diagnostic codes: one stable code per kind of problem, with its default severity.

Families: TM1xx files and schema, TM2xx graph, TM3xx compile, TM4xx verify, TM5xx drift.
Every code here is documented in ``docs/diagnostics.md`` (a test keeps the two in step) and, for
TM1xx/TM2xx, has a golden case under ``tests/fixtures/validate/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CODES", "CodeInfo"]

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What a code means."""

    code: str
    """Stable identifier, e.g. ``TM203``."""
    severity: Level
    """Default severity."""
    title: str
    """Short title used in docs and SARIF rule descriptions."""


def _codes(*rows: tuple[str, Level, str]) -> dict[str, CodeInfo]:
    return {code: CodeInfo(code, level, title) for code, level, title in rows}


CODES: dict[str, CodeInfo] = _codes(
    # TM1xx: files, YAML and the declaration schema
    ("TM100", "error", "path cannot be read"),
    ("TM101", "error", "YAML syntax error"),
    ("TM102", "error", "duplicate key"),
    ("TM103", "error", "YAML aliases expand beyond the limit"),
    ("TM104", "error", "file too large"),
    ("TM105", "warning", "empty file"),
    ("TM106", "error", "binary or non-UTF-8 file"),
    ("TM107", "error", "document is not a mapping"),
    ("TM108", "error", "wrong or missing apiVersion"),
    ("TM109", "error", "unknown kind"),
    ("TM110", "error", "unknown field"),
    ("TM111", "error", "wrong type"),
    ("TM112", "error", "missing required field"),
    ("TM113", "error", "invalid value"),
    ("TM114", "error", "invalid DNS-1123 name"),
    ("TM115", "error", "malformed service reference"),
    ("TM116", "error", "no declarations found"),
    ("TM117", "error", "YAML nesting too deep"),
    # TM2xx: the organisation graph
    ("TM200", "warning", "no Organization declared"),
    ("TM201", "error", "more than one Organization"),
    ("TM202", "error", "unknown team"),
    ("TM203", "error", "unknown service"),
    ("TM204", "error", "unknown interface"),
    ("TM205", "error", "service declared outside its team's namespaces"),
    ("TM206", "error", "duplicate service"),
    ("TM207", "error", "duplicate team"),
    ("TM208", "error", "overlapping workload selectors"),
    ("TM209", "warning", "shared service account"),
    ("TM210", "error", "dependency without provider consent"),
    ("TM211", "error", "expired dependency"),
    ("TM212", "error", "dependency or egress without a reason"),
    ("TM213", "error", "expiry beyond the organisation cap"),
    ("TM214", "error", "methods not offered by the interface"),
    ("TM215", "warning", "wildcard consumers on an internal interface"),
    ("TM216", "info", "dependency cycle"),
    ("TM217", "error", "duplicate interface name or port"),
    ("TM218", "error", "ambiguous dependency: interface not named"),
    ("TM219", "warning", "duplicate dependency"),
    ("TM220", "info", "dependency expires soon"),
    ("TM221", "warning", "platform consumer names an interface no service offers"),
    ("TM222", "warning", "dependency on itself"),
    ("TM223", "error", "unknown consumer in an interface's consumers"),
)
