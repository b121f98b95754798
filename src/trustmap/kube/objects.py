"""Every Kubernetes object of a manifest set as a :class:`KubeObject`: identity, labels, raw value
and the position of any of its values.

``List`` kinds (``v1 List``, ``PodList``, what ``kubectl get -o yaml`` writes) and documents that
are a YAML/JSON list are flattened into their items, nested lists too; an item without a ``kind``
takes the kind its list names (``PodList`` items are Pods). What is not an object (a Helm values
file, an item that is not a mapping) is kept as a :class:`KubeLeftover` so that a reader which
expects only objects can say so.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from trustmap.diagnostics import Span
from trustmap.kube.fields import FieldPath
from trustmap.loader import Document

__all__ = ["KubeLeftover", "KubeObject", "Labels", "flatten", "string_pairs"]

Labels = tuple[tuple[str, str], ...]
"""Sorted ``(key, value)`` pairs."""


@dataclass(frozen=True, slots=True, eq=False)
class KubeObject:
    """One Kubernetes object as written, with where it was written."""

    api_version: str
    """``apiVersion`` (empty when absent)."""
    kind: str
    """``kind`` (of the list for list items without one)."""
    name: str
    """``metadata.name`` (empty when absent: ``generateName`` objects, invalid input)."""
    namespace: str | None
    """``metadata.namespace`` as written; ``None`` when absent."""
    labels: Labels
    """``metadata.labels`` whose values are strings, sorted."""
    annotations: tuple[tuple[str, str], ...]
    """``metadata.annotations`` whose values are strings, sorted."""
    raw: Mapping[str, Any]
    """The object as read (plain dicts and lists; do not modify)."""
    document: Document
    """The loader document that holds the object, with its position table."""
    path: FieldPath
    """Key path of the object in its document: ``()``, or ``("items", 3)`` inside a List."""

    @property
    def span(self) -> Span:
        """Where ``metadata.name`` is written (the object's start when it has none).

        Computed when asked: the positions of a JSON file are only composed when a value of
        it is located (a large ``kubectl get -o json`` reads ten times faster without them)."""
        meta = self.raw.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        named = isinstance(name, str) and bool(name)
        return self.document.span((*self.path, "metadata", "name") if named else self.path)

    @property
    def file(self) -> str:
        """The file the object was read from."""
        return self.document.file

    @property
    def ref(self) -> str:
        """``Kind namespace/name`` (``Kind name`` for objects without a namespace)."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def span_at(self, path: FieldPath) -> Span:
        """Where the value at ``path`` (relative to the object) is written, or the closest
        written ancestor when that value is absent."""
        return self.document.span((*self.path, *path))


@dataclass(frozen=True, slots=True, eq=False)
class KubeLeftover:
    """A document or list item that is not a Kubernetes object (no string ``kind``)."""

    document: Document
    path: FieldPath
    value: Any

    @property
    def span(self) -> Span:
        """Where the value is written."""
        return self.document.span(self.path)


def flatten(document: Document) -> Iterator[KubeObject | KubeLeftover]:
    """The objects of one document, Lists flattened, in the order written."""
    yield from _flatten(document, (), document.data, None)


def _flatten(
    document: Document, path: FieldPath, value: Any, inherited: str | None
) -> Iterator[KubeObject | KubeLeftover]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _flatten(document, (*path, i), item, None)
        return
    kind = value.get("kind") if isinstance(value, dict) else None
    kind = kind if isinstance(kind, str) and kind else inherited
    if not isinstance(value, dict) or not kind:
        yield KubeLeftover(document, path, value)
        return
    items = value.get("items")
    if kind.endswith("List") and isinstance(items, list):
        for i, item in enumerate(items):
            yield from _flatten(document, (*path, "items", i), item, kind[: -len("List")] or None)
        return
    yield _object(document, path, value, kind)


def _object(document: Document, path: FieldPath, raw: dict[str, Any], kind: str) -> KubeObject:
    api = raw.get("apiVersion")
    meta = raw.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name, namespace = meta.get("name"), meta.get("namespace")
    return KubeObject(
        api_version=api if isinstance(api, str) else "",
        kind=kind,
        name=name if isinstance(name, str) else "",
        namespace=namespace if isinstance(namespace, str) else None,
        labels=string_pairs(meta.get("labels")),
        annotations=string_pairs(meta.get("annotations")),
        raw=raw,
        document=document,
        path=path,
    )


def string_pairs(value: Any) -> Labels:
    """A mapping's entries whose key and value are strings, sorted (others are dropped)."""
    if not isinstance(value, dict):
        return ()
    return tuple(
        sorted((k, v) for k, v in value.items() if isinstance(k, str) and isinstance(v, str))
    )
