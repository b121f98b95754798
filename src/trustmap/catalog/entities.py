"""Backstage catalog entities as read from files: references, Locations, owners.

Facts relied on (backstage.io/docs/features/software-catalog/descriptor-format and
``references``): an entity is ``apiVersion: backstage.io/v1alpha1``, ``kind``, ``metadata``
(``name``, optional ``namespace`` defaulting to ``default``, ``annotations``) and ``spec``; a
reference is ``[kind:][namespace/]name``, compared case-insensitively, its kind and namespace taken
from context when left out (``consumesApis`` → API, ``owner`` → Group, the referring entity's
namespace); a ``Location`` lists ``spec.targets`` (or one ``spec.target``) resolved relative to the
Location's own file; a ``User``'s ``spec.memberOf`` names its groups.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from trustmap.catalog.drafts import Drafts
from trustmap.catalog.reading import documents, mapping, strings, where
from trustmap.diagnostics import Diagnostic, diagnostic
from trustmap.loader import Document

__all__ = ["Entity", "Ref", "read_catalog", "ref"]

Ref = tuple[str, str, str]
"""``(kind, namespace, name)``, lower case."""


@dataclass(frozen=True, slots=True)
class Entity:
    """One catalog entity and the document it came from."""

    kind: str
    namespace: str
    name: str
    spec: dict[str, Any]
    annotations: dict[str, str]
    document: Document

    @property
    def key(self) -> Ref:
        """Its reference."""
        return (self.kind.lower(), self.namespace.lower(), self.name.lower())


def ref(text: str, kind: str, namespace: str) -> Ref:
    """``text`` as a full reference, ``kind`` and ``namespace`` filling what it leaves out."""
    head, colon, rest = text.partition(":")
    if not colon or "/" in head:
        head, rest = kind, text
    space, slash, name = rest.rpartition("/")
    return (head.lower(), (space if slash else namespace).lower(), name.lower())


def read_catalog(
    paths: Sequence[str], drafts: Drafts
) -> tuple[dict[Ref, Entity], list[Diagnostic]]:
    """Every entity under ``paths``, following Location targets on disk (once each)."""
    problems: list[Diagnostic] = []
    found: dict[Ref, Entity] = {}
    queue, seen = list(paths), set()
    while queue:
        path = queue.pop(0)
        if os.path.abspath(path) in seen:
            continue
        seen.add(os.path.abspath(path))
        for entity in _entities([path], problems):
            found.setdefault(entity.key, entity)
            if entity.kind == "Location":
                queue += _targets(entity, drafts)
    return found, problems


def _entities(paths: Sequence[str], problems: list[Diagnostic]) -> Iterator[Entity]:
    for document in documents(paths, problems):
        data = mapping(document.data)
        if not str(data.get("apiVersion", "")).startswith("backstage.io/") or "kind" not in data:
            problems.append(_not_entity(document, data))
            continue
        metadata = mapping(data.get("metadata"))
        annotations = {str(k): str(v) for k, v in mapping(metadata.get("annotations")).items()}
        namespace = str(metadata.get("namespace") or "default")
        yield Entity(
            str(data["kind"]),
            namespace,
            str(metadata.get("name", "")),
            mapping(data.get("spec")),
            annotations,
            document,
        )


def _not_entity(document: Document, data: dict[str, Any]) -> Diagnostic:
    return diagnostic(
        "TM532",
        where(document),
        f"skipped {data.get('apiVersion', '?')} {data.get('kind', '?')}: not a Backstage entity",
        "pass catalog-info files (apiVersion backstage.io/v1alpha1)",
    )


def _targets(location: Entity, drafts: Drafts) -> list[str]:
    """The Location's targets that are files on disk; URLs and missing files are reported."""
    base = os.path.dirname(location.document.file)
    targets = strings(location.spec.get("targets")) + strings(location.spec.get("target"))
    found = []
    for index, target in enumerate(targets):
        span = where(location.document, "spec", "targets", index)
        if "://" in target:
            drafts.skip(span, f"Location target {target}", "remote targets are not fetched")
            continue
        path = os.path.normpath(os.path.join(base, target))
        if os.path.exists(path):
            found.append(path)
        else:
            drafts.skip(span, f"Location target {target}", f"no such file {path}")
    return found
