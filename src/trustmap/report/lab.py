"""The lab's matrix: every request with what the declarations expect and what the proxy did."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table

from trustmap.lab import LabReport, LabResult

__all__ = ["lab_data", "lab_summary", "lab_table"]


def _verdict(allowed: bool) -> str:
    return "allow" if allowed else "deny"


def _observed(result: LabResult) -> str:
    seen = _verdict(result.observed.allowed)
    if result.audit:
        seen += " (would deny)" if result.would_deny else ""
    return f"{seen}: {result.observed.detail}"


def lab_table(report: LabReport, *, only_differences: bool = False) -> Table:
    """The matrix as a table; ``only_differences`` keeps the rows that do not agree."""
    rows = report.differences if only_differences else report.results
    title = f"lab ({report.target}): {len(rows)} requests" + (
        " that disagree" if only_differences else ""
    )
    table = Table(title=title, title_justify="left")
    for column in (
        "",
        "caller",
        "service:interface",
        "request",
        "case",
        "expected",
        "observed",
        "evaluator",
        "declared at",
    ):
        table.add_column(column, overflow="fold")
    for result in rows:
        request = result.request
        table.add_row(
            "ok" if result.agrees else "DIFF",
            request.caller.name,
            f"{request.door.service}:{request.door.interface}",
            f"{request.wire} {request.method} {request.path}",
            request.case,
            _verdict(request.expected),
            _observed(result),
            "-" if result.judged is None else _verdict(result.judged),
            str(request.declared_at) if request.declared_at else "",
        )
    return table


def lab_summary(report: LabReport) -> str:
    """One line: how many requests, how many disagree, how long it took."""
    audit = sum(r.audit for r in report.results)
    mode = f", {audit} in audit namespaces (nothing may be refused)" if audit else ""
    verdict = (
        "proxy, declarations and evaluator agree"
        if not report.differences
        else (f"{len(report.differences)} disagree")
    )
    return f"lab ({report.target}): {len(report.results)} requests{mode}: {verdict} ({report.seconds:.1f} s)"


def lab_data(report: LabReport) -> dict[str, Any]:
    """The matrix as JSON-ready data."""
    cases = Counter(r.request.case for r in report.results)
    return {
        "target": report.target,
        "requests": len(report.results),
        "differences": len(report.differences),
        "seconds": round(report.seconds, 3),
        "cases": dict(sorted(cases.items())),
        "results": [_result(r) for r in report.results],
    }


def _result(result: LabResult) -> dict[str, Any]:
    request = result.request
    return {
        "agrees": result.agrees,
        "caller": request.caller.name,
        "service": str(request.door.service),
        "interface": request.door.interface,
        "port": request.door.port,
        "wire": request.wire,
        "method": request.method,
        "path": request.path,
        "case": request.case,
        "expected": _verdict(request.expected),
        "observed": _verdict(result.observed.allowed),
        "detail": result.observed.detail,
        "audit": result.audit,
        "would_deny": result.would_deny,
        "evaluator": None if result.judged is None else _verdict(result.judged),
        "declared_at": str(request.declared_at) if request.declared_at else None,
    }
