"""What a change does to the compiled policy objects of each target.

Both sides are compiled with the same compilers as ``trustmap compile``; objects are matched by
kind, namespace and name. The ``declared-at`` annotation (file:line of the declarations behind an
object) is left out of the comparison: adding a line above a dependency moves it without changing
what any cluster enforces, and a reviewer should see only objects whose effect changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from trustmap.dialects import compile_graph
from trustmap.dialects.provenance import DECLARED_AT
from trustmap.model import Graph

__all__ = ["ObjectChange", "object_changes"]

ObjectKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True, order=True)
class ObjectChange:
    """One compiled object added, changed or removed for one target."""

    target: str
    """Compile target, e.g. ``kubernetes``."""
    kind: str
    """Object kind, e.g. ``NetworkPolicy``."""
    namespace: str
    """Its namespace ('' for cluster-scoped objects)."""
    name: str
    """``metadata.name``."""
    change: Literal["added", "changed", "removed"]
    """What happened to it."""


def object_changes(
    before: Graph, after: Graph, targets: Sequence[str], environment: str | None
) -> list[ObjectChange]:
    """Objects added, changed and removed per target, sorted.

    Raises:
        UsageError: an unknown target or environment (see :func:`compile_graph`).
    """
    found: list[ObjectChange] = []
    for target in targets:
        old = _objects(before, target, environment)
        new = _objects(after, target, environment)
        for key in sorted(old.keys() | new.keys()):
            change = _change(old.get(key), new.get(key))
            if change:
                found.append(ObjectChange(target, *key, change))
    return found


def _objects(graph: Graph, target: str, environment: str | None) -> dict[ObjectKey, Any]:
    compiled = compile_graph(graph, target, environment).objects
    return {_key(namespace, obj): _without_places(obj) for namespace, obj in compiled}


def _key(namespace: str, obj: Mapping[str, Any]) -> ObjectKey:
    metadata = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), namespace, str(metadata.get("name", "")))


def _without_places(obj: Mapping[str, Any]) -> Any:
    metadata = dict(obj.get("metadata") or {})
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k != DECLARED_AT}
    metadata["annotations"] = annotations
    return {**obj, "metadata": metadata}


def _change(old: Any, new: Any) -> Literal["added", "changed", "removed"] | None:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    return "changed" if old != new else None
