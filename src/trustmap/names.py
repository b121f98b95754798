"""Names and references: DNS-1123 rules, ``namespace/name`` service references, "did you mean"."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable

__all__ = [
    "DNS1123_LABEL",
    "PLACEHOLDER_OWNER",
    "closest",
    "did_you_mean",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "label_name",
    "label_problem",
    "parse_service_ref",
]

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

PLACEHOLDER_OWNER = "TODO@example.invalid"
"""Owner written into a drafted team (discover, catalog import) whose owners are unknown: the
schema needs at least one, and this reserved, undeliverable address (RFC 2606 ``.invalid``)
cannot be mistaken for a real one, so a reviewer replaces it."""


def is_dns1123_label(value: str) -> bool:
    """Whether ``value`` is a valid Kubernetes DNS-1123 label (namespace, service name)."""
    return len(value) <= 63 and bool(DNS1123_LABEL.match(value))


def is_dns1123_subdomain(value: str) -> bool:
    """Whether ``value`` is a valid DNS-1123 subdomain (object names up to 253 characters)."""
    return len(value) <= 253 and bool(_SUBDOMAIN.match(value))


def label_name(text: str, fallback: str) -> str:
    """``text`` as a DNS-1123 label (lower case, other characters as ``-``, at most 63), or
    ``fallback`` when nothing is left."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].rstrip("-")
    return name if is_dns1123_label(name) else fallback


@functools.lru_cache(maxsize=65536)
def label_problem(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 label, or ``None`` when it is one."""
    if not value:
        return "must not be empty"
    if len(value) > 63:
        return f"is {len(value)} characters long; at most 63 are allowed"
    if value != value.lower():
        return "must be lower case"
    if not DNS1123_LABEL.match(value):
        return "may hold only a-z, 0-9 and '-', and must start and end with a letter or digit"
    return None


def parse_service_ref(value: str) -> tuple[str | None, str, str] | None:
    """Split ``[cluster:]namespace/name`` into its parts, or ``None`` when malformed."""
    cluster: str | None = None
    rest = value
    if ":" in rest:
        cluster, rest = rest.split(":", 1)
    if rest.count("/") != 1:
        return None
    namespace, name = rest.split("/")
    if not namespace or not name:
        return None
    return cluster, namespace, name


def closest(value: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``value`` (difflib ratio ≥ 0.6), if it is also related to it
    (see ``_related``); else ``None``.

    The answer of ``difflib.get_close_matches(value, sorted(set(candidates)), n=1, cutoff=0.6)``
    (the highest ratio, then the greatest name), found faster: a candidate whose cheap upper
    bounds of the ratio are already below the best ratio found is not compared in full.
    """
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(value)
    best: tuple[float, str] | None = None
    for candidate in sorted(set(candidates)):
        matcher.set_seq1(candidate)
        floor = _CUTOFF if best is None else max(_CUTOFF, best[0])
        if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
            continue
        ratio = matcher.ratio()
        if ratio >= _CUTOFF and (best is None or (ratio, candidate) > best):
            best = (ratio, candidate)
    if best is None or not _related(value, best[1]):
        return None
    return best[1]


_CUTOFF = 0.6


def _related(value: str, candidate: str) -> bool:
    """One holds the other (``metrics`` in ``http-metrics``), they start alike (half of ``value``,
    at least 4 characters), or few edits part them: a long shared suffix (``…service``) alone
    does not make two names close."""
    if value in candidate or candidate in value:
        return True
    shared = next(
        (n for n, (a, b) in enumerate(zip(value, candidate, strict=False)) if a != b),
        min(len(value), len(candidate)),
    )
    return shared >= max(4, len(value) // 2) or _few_edits(value, candidate)


def _few_edits(value: str, candidate: str) -> bool:
    """At most a third of ``value``'s characters (and at least 2) need changing."""
    limit = max(2, len(value) // 3)
    if abs(len(value) - len(candidate)) > limit:
        return False
    previous = list(range(len(candidate) + 1))
    for i, a in enumerate(value, start=1):
        current = [i]
        for j, b in enumerate(candidate, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1] <= limit


def did_you_mean(value: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close candidate exists, else an empty string."""
    match = closest(value, candidates)
    return f" (did you mean '{match}'?)" if match else ""
