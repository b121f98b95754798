"""A change as diagnostics, for the formats that annotate lines: SARIF and GitHub annotations.

Code scanning and pull-request annotations show problems at a file and line; a change review
adds, next to the findings it introduces, the calls a reviewer must look at, at the dependency
that asks for them.
"""

from __future__ import annotations

from trustmap.diagnostics import Diagnostic, diagnostic, sort_diagnostics
from trustmap.review.diff import CallChange, Change

__all__ = ["change_diagnostics"]


def change_diagnostics(change: Change) -> list[Diagnostic]:
    """Introduced findings, plus TM525/TM526 for opened and widened calls, TM527 for widened
    exposure and TM528 for opened egress; sorted."""
    found = list(change.introduced)
    found += [_call(c) for c in change.calls if c.movement in ("opened", "widened")]
    found += [
        diagnostic(
            "TM527",
            e.span,
            f"{e.service}:{e.interface} exposure {e.before or 'none'} -> {e.after}",
            "check that callers outside the declared consumers should reach it",
        )
        for e in change.exposure
        if e.movement == "widened"
    ]
    found += [
        diagnostic(
            "TM528",
            e.span,
            f"{e.service} may now call {e.destination} ({', '.join(e.ports_after or ())})",
            "check the reason and that the destination is the narrowest one that works",
        )
        for e in change.egress
        if e.movement in ("opened", "changed")
    ]
    return sort_diagnostics(found)


def _call(change: CallChange) -> Diagnostic:
    call = change.call
    what = f"{change.movement} {call.source} -> {call.target}:{call.interface}"
    who = ", ".join(change.approvers) or f"team {change.provider_team or '?'}"
    if change.consent == "missing":
        return diagnostic(
            "TM525",
            call.declared_at,
            f"{what} without the provider's consent",
            f"ask {who} to add the caller to the interface's consumers",
        )
    consent = {
        "before": "the provider consented before this change",
        "in-change": "this change adds the provider's consent",
        "not-needed": "no dependency consent applies",
    }[change.consent]
    return diagnostic("TM526", call.declared_at, f"{what}: {consent}", f"approval by {who}")
