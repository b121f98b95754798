"""A change review as text, JSON, a pull-request comment (markdown), SARIF and GitHub annotations.

The markdown is written to be read in a pull request: one headline that says whether anything
needs a reviewer, then what to check first (calls that need the provider's approval), then the
rest; long lists fold into ``<details>`` and stop at :data:`LIMIT` rows, so a change of one line
and a change of a thousand both stay readable.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import is_dataclass
from typing import Any

from trustmap.diagnostics import Diagnostic, Span
from trustmap.report.diagnostics import diagnostic_to_dict, render_diagnostics
from trustmap.review import CallChange, Change, Waiting, change_diagnostics

__all__ = ["LIMIT", "REVIEW_FORMATS", "render_change"]

REVIEW_FORMATS = ("text", "json", "markdown", "sarif", "github")
LIMIT = 50
"""Rows per markdown section before the rest is counted instead of listed."""
_FOLD = 10
"""Rows from which a markdown section is folded."""


def render_change(change: Change, fmt: str = "text") -> str:
    """``change`` in one of :data:`REVIEW_FORMATS`."""
    if fmt == "json":
        return json.dumps(change_to_dict(change), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return _markdown(change)
    if fmt in ("sarif", "github"):
        return render_diagnostics(change_diagnostics(change), fmt)
    return _text(change)


def change_to_dict(change: Change) -> dict[str, Any]:
    """The change as JSON-ready data, with the verdict."""
    data: dict[str, Any] = _plain(change)
    data["introduced"] = [diagnostic_to_dict(d) for d in change.introduced]
    data["fixed"] = [diagnostic_to_dict(d) for d in change.fixed]
    data["blocking"] = change.blocking()
    data["summary"] = headline(change)
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, Span):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(getattr(value, k)) for k in _fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _fields(value: Any) -> list[str]:
    return [f for f in value.__dataclass_fields__ if f not in ("introduced", "fixed")]


def headline(change: Change) -> str:
    """One line: what the change does, or that it does nothing a reviewer must see."""
    if change.empty:
        return "no change to who may call whom"
    moves: Counter[str] = Counter(c.movement for c in change.calls)
    order = ("opened", "widened", "narrowed", "closed")
    parts = [f"{_n(moves[m], 'call')} {m}" for m in order if moves[m]]
    approvals = sum(1 for c in change.calls if _needs_review(c))
    if approvals:
        parts.append(f"{approvals} to approve")
    if change.waiting:
        parts.append(f"{len(change.waiting)} waiting for the provider's consent")
    errors = sum(1 for d in change.introduced if d.severity.value == "error")
    if errors:
        parts.append(f"{_n(errors, 'error')} introduced")
    if change.fixed:
        parts.append(f"{_n(len(change.fixed), 'finding')} fixed")
    return ", ".join(parts) or "no call changes; declarations or objects changed"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# text -------------------------------------------------------------------------------------------


def _text(change: Change) -> str:
    lines = [f"trustmap diff {change.base} -> {change.head}: {headline(change)}"]
    for title, rows in _sections(change):
        if rows:
            lines += ["", f"{title}:"] + [f"  {r}" for r in rows]
    blocking = change.blocking()
    if blocking:
        lines += ["", "blocking:"] + [f"  {b}" for b in blocking]
    return "\n".join(lines) + "\n"


def _sections(change: Change) -> list[tuple[str, list[str]]]:
    calls = list(change.calls)
    return [
        ("needs approval", [_approval(c) for c in calls if _needs_review(c)]),
        ("waiting for the provider's consent", [_waiting_line(w) for w in change.waiting]),
        ("calls", [_call_line(c) for c in calls]),
        ("exposure", [_exposure(e) for e in change.exposure]),
        ("egress", [_egress(e) for e in change.egress]),
        ("services", [_service(s) for s in change.services]),
        ("interfaces", [_interface(i) for i in change.interfaces]),
        ("findings introduced", [_finding(d) for d in change.introduced]),
        ("findings fixed", [_finding(d) for d in change.fixed]),
        ("policy objects", [f"{o.target}: {o.change} {_object(o)}" for o in change.objects]),
    ]


def _needs_review(call: CallChange) -> bool:
    return call.movement in ("opened", "widened") and call.consent in ("in-change", "missing")


def _approval(call: CallChange) -> str:
    who = ", ".join(call.approvers) or "(team has no owners)"
    return f"{_arrow(call)}  team {call.provider_team}: {who} [{call.consent}]"


def _waiting_line(waiting: Waiting) -> str:
    who = ", ".join(waiting.approvers) or "(team has no owners)"
    where = f"{waiting.target}:{waiting.interface}" if waiting.interface else waiting.target
    return f"{waiting.source} -> {where}  team {waiting.provider_team}: {who} ({waiting.span})"


def _arrow(call: CallChange) -> str:
    return f"{call.call.source} -> {call.call.target}:{call.call.interface}"


def _call_line(call: CallChange) -> str:
    ports = ",".join(call.call.ports)
    methods = ", ".join(call.call.methods) or "every method"
    text = f"{call.movement:<8} {_arrow(call)} ({ports}; {methods}) [{call.call.kind}]"
    return text + (f": {'; '.join(call.details)}" if call.details else "")


def _exposure(change: Any) -> str:
    return (
        f"{change.movement:<8} {change.service}:{change.interface} "
        f"{change.before or 'none'} -> {change.after or 'removed'}"
    )


def _egress(change: Any) -> str:
    before = ",".join(change.ports_before or ()) or "-"
    after = ",".join(change.ports_after or ()) or "-"
    return f"{change.movement:<8} {change.service} -> {change.destination} ({before} -> {after})"


def _service(change: Any) -> str:
    teams = f"{change.team_before or '-'} -> {change.team_after or '-'}"
    return f"{change.change:<8} {change.service} (team {teams})"


def _interface(change: Any) -> str:
    return f"{change.change:<8} {change.service}:{change.interface}: {'; '.join(change.details)}"


def _finding(found: Diagnostic) -> str:
    return str(found)


def _object(change: Any) -> str:
    where = f"{change.namespace}/" if change.namespace else ""
    return f"{change.kind} {where}{change.name}"


# markdown ---------------------------------------------------------------------------------------


def _markdown(change: Change) -> str:
    mark = "x" if change.blocking() else ("eyes" if not change.empty else "white_check_mark")
    out = [f"### :{mark}: trustmap: {headline(change)}", ""]
    out.append(f"Comparing `{change.base}` → `{change.head}`.")
    if change.empty:
        out += ["", "The declarations change no call, exposure, egress, owner or compiled object."]
        return "\n".join(out) + "\n"
    blocking = change.blocking()
    if blocking:
        out += ["", "**Blocking** (the check fails):", ""] + [f"- {_md(b)}" for b in blocking]
    out += _approvals(change.calls, change.waiting)
    out += _table(
        "Calls",
        ["change", "caller", "provider", "ports", "methods", "detail"],
        [_call_row(c) for c in change.calls],
    )
    out += _table(
        "Exposure",
        ["change", "interface", "before", "after"],
        [
            [e.movement, f"{e.service}:{e.interface}", e.before or "—", e.after or "—"]
            for e in change.exposure
        ],
    )
    out += _table(
        "Egress",
        ["change", "service", "destination", "ports"],
        [[e.movement, e.service, e.destination, _ports(e)] for e in change.egress],
    )
    out += _table(
        "Services",
        ["change", "service", "team"],
        [
            [s.change, s.service, f"{s.team_before or '—'} → {s.team_after or '—'}"]
            for s in change.services
        ],
    )
    out += _table(
        "Interfaces",
        ["change", "interface", "detail"],
        [[i.change, f"{i.service}:{i.interface}", "; ".join(i.details)] for i in change.interfaces],
    )
    out += _findings_md("Findings introduced", change.introduced)
    out += _findings_md("Findings fixed", change.fixed)
    out += _objects_md(change)
    return "\n".join(out) + "\n"


def _approvals(calls: Sequence[CallChange], waiting: Sequence[Waiting]) -> list[str]:
    rows = [
        [_arrow(c), c.provider_team or "—", ", ".join(c.approvers) or "—", _consent(c)]
        for c in calls
        if _needs_review(c)
    ]
    rows += [
        [
            f"{w.source} -> {w.target}:{w.interface or '?'}",
            w.provider_team or "—",
            ", ".join(w.approvers) or "—",
            "**waiting**: not in the provider's consumers yet, the call stays closed",
        ]
        for w in waiting
    ]
    return _table(
        "Needs approval (check these first)",
        ["call", "provider team", "approvers", "consent"],
        rows,
        fold=False,
    )


def _consent(call: CallChange) -> str:
    return {
        "in-change": "added by this change",
        "missing": "**missing**",
        "before": "given before",
        "not-needed": "not needed",
    }[call.consent]


def _call_row(call: CallChange) -> list[str]:
    c = call.call
    return [
        call.movement,
        c.source,
        f"{c.target}:{c.interface}",
        ", ".join(c.ports),
        ", ".join(c.methods) or "every method",
        "; ".join(call.details),
    ]


def _ports(change: Any) -> str:
    return f"{', '.join(change.ports_before or ()) or '—'} → {', '.join(change.ports_after or ()) or '—'}"


def _findings_md(title: str, found: Sequence[Diagnostic]) -> list[str]:
    rows = [[d.severity.value, d.code, str(d.span or ""), d.message] for d in found]
    return _table(title, ["severity", "code", "where", "message"], rows)


def _objects_md(change: Change) -> list[str]:
    if not change.objects:
        return []
    counts = Counter((o.target, o.change) for o in change.objects)
    summary = [
        f"{t}: "
        + ", ".join(
            f"{counts[(t, c)]} {c}" for c in ("added", "changed", "removed") if counts[(t, c)]
        )
        for t in change.targets
        if any(counts[(t, c)] for c in ("added", "changed", "removed"))
    ]
    rows = [
        [o.target, o.change, o.kind, o.namespace or "(cluster)", o.name] for o in change.objects
    ]
    return _table(
        "Policy objects (" + "; ".join(summary) + ")",
        ["target", "change", "kind", "namespace", "name"],
        rows,
        fold=True,
    )


def _table(
    title: str, header: list[str], rows: Iterable[list[str]], *, fold: bool | None = None
) -> list[str]:
    rows = list(rows)
    if not rows:
        return []
    shown = rows[:LIMIT]
    body = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    body += [f"| {' | '.join(_md(cell) for cell in row)} |" for row in shown]
    if len(rows) > LIMIT:
        body += ["", f"…and {len(rows) - LIMIT} more (run `trustmap diff --format json`)."]
    folded = len(rows) >= _FOLD if fold is None else fold
    if folded:
        return [
            "",
            f"<details><summary><b>{title}</b> ({len(rows)})</summary>",
            "",
            *body,
            "",
            "</details>",
        ]
    return ["", f"#### {title} ({len(rows)})", "", *body]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")
