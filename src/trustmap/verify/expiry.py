"""Expiry after compile time: compiled objects that still allow a grant past (or near) its last day.

A dependency with ``expires`` is left out of the output compiled after that day, but objects
compiled before it stay in the cluster, still allowing the call, until someone recompiles. Every
compiled object records the earliest expiry of what it allows (``trustmap.dev/expires``, see
:mod:`trustmap.dialects.provenance`); this module reads compiled files (any target) and flags
objects whose date has passed (TM440) or comes within ``soon_days`` (TM441), naming the owners to
ask: the team that declared the dependency and the team that provides the interface.

    >>> findings = check_compiled([Path("compiled/")], today, graph=graph)

:func:`expiry_findings` works on objects already read (``verify`` calls it on the policies it
analyses), :func:`check_compiled` reads files first (``validate --compiled``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.dialects.provenance import DECLARED_AT, EXPIRES
from trustmap.kube import KubeObject, load_kube
from trustmap.model import Graph, Service, ServiceRef

__all__ = ["SOON_DAYS", "CompiledObject", "check_compiled", "expiry_findings", "read_compiled"]

SOON_DAYS = 14
"""Default warning window before a grant's last day."""


@dataclass(frozen=True, slots=True)
class CompiledObject:
    """What the expiry check needs of one compiled object, and where to report it."""

    kind: str
    """``kind`` as written."""
    name: str
    """``metadata.name`` ('' when absent)."""
    namespace: str
    """``metadata.namespace`` ('' for cluster-scoped objects)."""
    annotations: Mapping[str, str]
    """``metadata.annotations`` with string values."""
    span: Span
    """Where its expiry annotation is written; for an object compiled in memory, a span
    without a line (the finding then points at the declaration that expires)."""

    @classmethod
    def of(cls, obj: KubeObject) -> CompiledObject:
        """The object as read from a file by :func:`trustmap.kube.load_kube`.

        Only an object with an expiry annotation can be reported, so only its span is looked
        up: locating a value composes its file's positions (seconds for a 20,000-object JSON
        List), which the other objects never need."""
        notes = dict(obj.annotations)
        where = ("metadata", "annotations", EXPIRES)
        span = obj.span_at(where) if EXPIRES in notes else Span(obj.file)
        return cls(obj.kind, obj.name, obj.namespace or "", notes, span)


def read_compiled(paths: Sequence[Path]) -> tuple[list[CompiledObject], list[Diagnostic]]:
    """Every object under ``paths`` (files and folders, Lists flattened), and reading problems."""
    kset, problems = load_kube(list(paths))
    return [CompiledObject.of(o) for o in kset.objects], problems


def check_compiled(
    paths: Sequence[Path],
    today: dt.date,
    *,
    soon_days: int = SOON_DAYS,
    graph: Graph | None = None,
) -> list[Diagnostic]:
    """Read the compiled files under ``paths`` and flag what they still allow past its expiry.

    Unreadable files and YAML errors are diagnostics too, never exceptions.
    """
    objects, problems = read_compiled(paths)
    found = expiry_findings(objects, today, soon_days=soon_days, graph=graph)
    return sort_diagnostics([*problems, *found])


def expiry_findings(
    objects: Iterable[CompiledObject],
    today: dt.date,
    *,
    soon_days: int = SOON_DAYS,
    graph: Graph | None = None,
) -> list[Diagnostic]:
    """TM440 (expired), TM441 (expires within ``soon_days``), TM442 (unreadable date) for
    ``objects``, located at the annotation in the file an object was read from; an object
    compiled in memory is located at the declaration that expires."""
    known = _dependencies(graph) if graph is not None else {}
    found: list[Diagnostic] = []
    for obj in objects:
        checked = _check(obj, today, soon_days, known)
        if checked is not None:
            code, declared, message, hint = checked
            span = declared if declared is not None and obj.span.line <= 0 else obj.span
            found.append(diagnostic(code, span, message, hint))
    return sort_diagnostics(found)


_Found = tuple[str, Span | None, str, str]


def _check(
    obj: CompiledObject, today: dt.date, soon_days: int, known: Mapping[str, _Declared]
) -> _Found | None:
    text = obj.annotations.get(EXPIRES)
    if text is None:
        return None
    what = f"{obj.kind} {obj.namespace + '/' if obj.namespace else ''}{obj.name}"
    try:
        last = dt.date.fromisoformat(text)
    except ValueError:
        return (
            "TM442",
            None,
            f"{what}: {EXPIRES} is '{text}', not a date (YYYY-MM-DD)",
            "recompile the object with trustmap compile instead of editing the annotation",
        )
    places = [known[p] for p in _places(obj) if p in known]
    people = sorted({o for place in places for o in place.owners})
    ask = f"; ask {', '.join(people)}" if people else ""
    span = next((p.span for p in places if p.expires == last), None)
    if last < today:
        return (
            "TM440",
            span,
            f"{what} still allows a grant that expired on {last} ({(today - last).days} days "
            f"ago){ask}",
            "recompile and apply now: the output compiled today leaves the expired grant out",
        )
    if last < today + dt.timedelta(days=soon_days):
        return (
            "TM441",
            span,
            f"{what} allows a grant whose last day is {last} (in {(last - today).days} days){ask}",
            "renew the dependency's expires (with the provider's consent) or let it lapse; "
            "recompile on a schedule so the lapse takes effect",
        )
    return None


def _places(obj: CompiledObject) -> list[str]:
    return [p.strip() for p in obj.annotations.get(DECLARED_AT, "").split(",")]


@dataclass(frozen=True, slots=True)
class _Declared:
    """A dependency with an expiry, as the declarations hold it."""

    span: Span
    expires: dt.date
    owners: tuple[str, ...]
    """Owners of the declaring team and of the provider's team."""


def _dependencies(graph: Graph) -> dict[str, _Declared]:
    """``file:line`` of each dependency with an expiry → where, when, and whom to ask."""
    found: dict[str, _Declared] = {}
    for service in graph.services.values():
        for dependency in service.depends_on:
            if dependency.expires is None or not dependency.span.file:
                continue
            teams = [service.team, *_provider_team(graph, dependency.service, service)]
            people = tuple(o for t in teams if t in graph.teams for o in graph.teams[t].owners)
            place = f"{dependency.span.file}:{dependency.span.line}"
            found[place] = _Declared(dependency.span, dependency.expires, people)
    return found


def _provider_team(graph: Graph, written: str, caller: Service) -> list[str]:
    namespace, _, name = written.rpartition("/")
    provider = graph.services.get(ServiceRef(namespace or caller.ref.namespace, name))
    return [provider.team] if provider is not None else []
