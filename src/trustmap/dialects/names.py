"""Stable object names within Kubernetes limits, unique per kind and namespace.

Names are made from the declaration (``<service>-ingress``, ``<service>-<interface>``) so that a
review diff reads well. A name longer than a DNS-1123 label (63 characters) keeps its readable start
and ends in a hash of the whole name; two declarations that would share a name (``a-b`` + ``c`` and
``a`` + ``b-c``) are told apart by a hash of what they stand for. Same graph, same names.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["LABEL_LIMIT", "Namer", "digest", "object_name"]

LABEL_LIMIT = 63
"""Longest DNS-1123 label: the limit trustmap keeps every object and rule name within."""

_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")
_LABEL = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""Already a name: what the clean-up below leaves unchanged."""


def digest(text: str, length: int = 8) -> str:
    """A short, stable hex digest of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def object_name(*parts: str, limit: int = LABEL_LIMIT) -> str:
    """Join ``parts`` with '-' into a DNS-1123 label of at most ``limit`` characters.

    Characters a label cannot hold become '-'; a name that is too long is cut and suffixed with
    ``-<8 hex digits>`` of the full name, so different long names stay different.
    """
    joined = "-".join(p for p in parts if p)
    if len(joined) <= limit and _LABEL.fullmatch(joined):
        return joined
    name = _DASHES.sub("-", _INVALID.sub("-", joined.lower())).strip("-") or "x"
    if len(name) <= limit:
        return name
    return f"{name[: limit - 9].rstrip('-')}-{digest(joined)}"


class Namer:
    """Hands out names that are unique per (kind, namespace), deterministically.

    The first claimant of a name keeps it; a later, different claimant gets a hash of its own
    identity appended. Claim in a stable order (services are sorted) and names stay stable.
    """

    __slots__ = ("_taken",)

    def __init__(self) -> None:
        self._taken: dict[tuple[str, str, str], str] = {}

    def claim(self, kind: str, namespace: str, name: str, identity: str) -> str:
        """A unique name for ``identity`` near ``name`` (already a valid label)."""
        key = (kind, namespace, name)
        owner = self._taken.get(key)
        if owner is None or owner == identity:
            self._taken[key] = identity
            return name
        unique = object_name(name[: LABEL_LIMIT - 9], digest(identity))
        self._taken[(kind, namespace, unique)] = identity
        return unique
