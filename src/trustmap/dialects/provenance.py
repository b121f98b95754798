"""Where each compiled object comes from: the declaring file:line and the reason, as annotations.

A reviewer reading a NetworkPolicy or an AuthorizationPolicy in a cluster can follow it back to
the YAML line that asked for it and the reason given there. Objects that stand for several edges
carry a compact list: every file:line once, and one ``caller -> target: reason`` line per edge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from trustmap.diagnostics import Span
from trustmap.dialects.emit import entry, resolves_to_str, scalar
from trustmap.model import Edge, Egress, ServiceRef

__all__ = [
    "AUDIT",
    "DECLARED_AT",
    "EXPIRES",
    "MANAGED_BY",
    "MODE",
    "NEVER_PRUNE",
    "REASON",
    "Notes",
    "Source",
    "annotate",
    "earliest",
    "edge_source",
    "egress_source",
    "source",
]

MANAGED_BY = {"app.kubernetes.io/managed-by": "trustmap"}
"""The label every emitted object carries (never ``app.kubernetes.io/instance``, the label Argo CD
tracks and prunes by)."""
NEVER_PRUNE = {
    "argocd.argoproj.io/sync-options": "Prune=false",
    "kustomize.toolkit.fluxcd.io/prune": "disabled",
}
"""Annotations that keep Argo CD and Flux from deleting an object when it leaves the output: on a
``Namespace``, pruning would delete every workload in it."""
DECLARED_AT = "trustmap.dev/declared-at"
REASON = "trustmap.dev/reason"
EXPIRES = "trustmap.dev/expires"
"""The earliest last day of validity among the grants an object allows (``verify``/``validate
--compiled`` flag objects still deployed past it: TM440/TM441)."""
MODE = "trustmap.dev/mode"
AUDIT = "trustmap.dev/audit"


class Source(NamedTuple):
    """One reason an object exists (a tuple: cheap to hash and sort by the thousand)."""

    file: str
    """File of the declaration that asked for it ('' when unknown)."""
    line: int
    """Its line (0 when unknown)."""
    text: str
    """``caller -> target: reason``, for objects that stand for several sources."""
    reason: str
    """The reason alone."""
    expires: str = ""
    """Last day the grant is valid (ISO date), '' when it does not expire."""


def source(span: Span, text: str, reason: str) -> Source:
    """A source at ``span``."""
    return Source(span.file, max(span.line, 0), text, reason)


def edge_source(edge: Edge) -> Source:
    """The source of an effective edge."""
    reason = edge.reason or "no reason given"
    text = f"{edge.source} -> {edge.target}:{edge.interface}: {reason}"
    expires = edge.expires.isoformat() if edge.expires else ""
    span = edge.declared_at
    return Source(span.file, max(span.line, 0), text, reason, expires)


def egress_source(service: ServiceRef, egress: Egress) -> Source:
    """The source of a declared call out of the cluster."""
    reason = egress.reason or "no reason given"
    return source(egress.span, f"{service} -> {egress.destination}: {reason}", reason)


def annotate(sources: Iterable[Source]) -> dict[str, str]:
    """``declared-at`` (every file:line once) and ``reason`` (one line per source when several).

    Kubernetes caps an object's annotations at 256 KiB; past :data:`BUDGET` characters a list
    keeps whole entries up to the budget and says how many more there are.
    """
    unique = set(sources)
    found: dict[str, str] = {}
    places = sorted({(s.file, s.line) for s in unique if s.file})
    if places:
        found[DECLARED_AT] = _capped([f"{f}:{n}" if n else f for f, n in places], ", ")
    if len(unique) == 1:
        found[REASON] = next(iter(unique)).reason
    elif unique:
        found[REASON] = _capped(sorted({s.text for s in unique}), "\n")
    expires = earliest(unique)
    if expires:
        found[EXPIRES] = expires
    return found


def earliest(sources: Iterable[Source]) -> str:
    """The earliest expiry among ``sources`` ('' when none expires)."""
    return min((s.expires for s in sources if s.expires), default="")


BUDGET = 60_000
"""Longest provenance annotation, in characters (two of them stay well under 256 KiB)."""


def _capped(items: list[str], separator: str) -> str:
    text = separator.join(items)
    if len(text) <= BUDGET:
        return text
    kept: list[str] = []
    size = 0
    for item in items:
        size += len(item) + len(separator)
        if size > BUDGET:
            break
        kept.append(item)
    return separator.join([*kept, f"... and {len(items) - len(kept)} more"])


_INNER = "      "
_DECLARED_HEAD = f"    {scalar(DECLARED_AT)}:"
_REASON_HEAD = f"    {scalar(REASON)}:"
_EXPIRES_HEAD = f"    {scalar(EXPIRES)}:"
_UNSAFE = "\x00unsafe"
"""A reason that a literal block cannot hold (no real source text has a NUL)."""
_SIMPLE = re.compile(r"[A-Za-z0-9_/.][A-Za-z0-9_/.:-]*")


class Notes:
    """:func:`annotate` written as YAML annotation entries (at the indent of ``metadata``'s).

    Gives the same text as emitting ``annotate(sources)``, cheaper: what each source adds (its
    ``file:line``, where that sorts, its reason line checked and indented for a literal block)
    is worked out once, however many objects list it. One instance serves every target
    compiled from a graph.
    """

    __slots__ = ("_facts", "_simple")

    def __init__(self) -> None:
        self._facts: dict[Source, tuple[str | None, str, str]] = {}
        self._simple: dict[str, bool] = {}

    def text(self, sources: Iterable[Source]) -> str:
        """The ``declared-at`` and ``reason`` entries for ``sources`` ('' when there are none)."""
        unique = set(sources)
        if not unique:
            return ""
        facts = self._facts
        places: dict[str, str] = {}
        texts: dict[str, str] = {}
        for item in unique:
            found = facts.get(item)
            if found is None:
                found = facts[item] = _facts(item)
            if found[0] is not None:
                places[found[0]] = found[1]
            texts[item.text] = found[2]
        notes = self._declared([places[k] for k in sorted(places)]) if places else ""
        expires = earliest(unique)
        tail = entry(_EXPIRES_HEAD, expires, _INNER) if expires else ""
        if len(unique) == 1:
            return notes + entry(_REASON_HEAD, next(iter(unique)).reason, _INNER) + tail
        ordered = sorted(texts)
        block = _literal(ordered, texts)
        if block is None:
            return notes + entry(_REASON_HEAD, _capped(ordered, "\n"), _INNER) + tail
        return f"{notes}{_REASON_HEAD} |-\n{block}\n{tail}"

    def _declared(self, places: list[str]) -> str:
        text = _capped(places, ", ")
        # Parts a plain scalar can hold, joined by ", ": still plain unless YAML would read the
        # whole as something else (see emit._string); no need to scan the long text again.
        simple = len(places) > 1 and len(text) <= BUDGET and self._all_simple(places)
        if simple and resolves_to_str(text):
            return f"{_DECLARED_HEAD} {text}\n"
        return entry(_DECLARED_HEAD, text, _INNER)

    def _all_simple(self, places: list[str]) -> bool:
        simple = self._simple
        for place in places:
            found = simple.get(place)
            if found is None:
                found = _SIMPLE.fullmatch(place) is not None and not place.endswith(":")
                simple[place] = found
            if not found:
                return False
        return True


def _facts(item: Source) -> tuple[str | None, str, str]:
    """Where ``item`` sorts among places (None: no file), its ``file:line``, its reason lines."""
    order = f"{item.file}\x00{item.line:020d}" if item.file else None
    place = f"{item.file}:{item.line}" if item.line else item.file
    return order, place, _indented(item.text)


def _literal(ordered: list[str], blocks: dict[str, str]) -> str | None:
    """The texts as the lines of one literal block, or None where the emitter would not write
    one (a single line, over budget, a line it must quote)."""
    if len(ordered) < 2 or ordered[0].startswith((" ", "\t")) or ordered[-1].endswith("\n"):
        return None
    if sum(len(t) + 1 for t in ordered) - 1 > BUDGET:
        return None
    kept = [blocks[t] for t in ordered]
    return None if _UNSAFE in kept else "\n".join(kept)


def _indented(text: str) -> str:
    body = text.split("\n")
    if not all(line == line.rstrip() and line.isprintable() for line in body):
        return _UNSAFE
    return "\n".join(_INNER + line if line else "" for line in body)
