"""Turning what a discovery collected into frozen, sorted drafts: one team per namespace,
services with their interfaces and dependencies, the unresolved references, and a check that
the drafted pod selectors can tell the services apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.discover.draft import (
    Discovery,
    DraftDependency,
    DraftInterface,
    DraftService,
    DraftTeam,
    Evidence,
    Labels,
    Mode,
    Unresolved,
)
from trustmap.discover.interfaces import InterfaceBuilder, Interfaces

__all__ = ["ServiceBuilder", "finish", "select_namespaces"]


@dataclass(slots=True)
class _DependencyBuilder:
    service: str
    iface: InterfaceBuilder
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class ServiceBuilder:
    """A draft service being collected."""

    namespace: str
    name: str
    pod_labels: Labels
    service_account: str | None
    interfaces: Interfaces
    evidence: list[Evidence] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    dependencies: dict[tuple[str, str], _DependencyBuilder] = field(default_factory=dict)
    team: str | None = None
    """The team its workloads name (labels, annotations); ``None``: its namespace's."""
    owners: tuple[str, ...] = ()
    """Owners its workloads name (an e-mail address as the team value)."""

    @property
    def ref(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    def depend(self, target: str, iface: InterfaceBuilder, evidence: Evidence) -> None:
        """Record a call to ``target``'s ``iface``; evidence is kept once per place (a script
        that names the target twice is one piece of evidence)."""
        dep = self.dependencies.setdefault((target, iface.name), _DependencyBuilder(target, iface))
        if all(e.at != evidence.at or e.at is None for e in dep.evidence):
            dep.evidence.append(evidence)


def finish(
    mode: Mode,
    inputs: tuple[str, ...],
    builders: Sequence[ServiceBuilder],
    unresolved: Iterable[Unresolved],
    skipped: tuple[tuple[str, int], ...],
    diagnostics: Sequence[Diagnostic],
) -> Discovery:
    """The frozen discovery, everything sorted so the same input gives the same drafts."""
    services = tuple(sorted((_service(b) for b in builders), key=lambda s: s.ref))
    overlaps = _overlaps(services)
    found = Discovery(
        mode=mode,
        inputs=inputs,
        teams=_teams(services, builders),
        services=services,
        unresolved=tuple(sorted(set(unresolved), key=_unresolved_order)),
        skipped=skipped,
        diagnostics=tuple(sort_diagnostics([*diagnostics, *overlaps])),
    )
    from trustmap.discover.refine import review_first  # refine reads groups: import on use

    return replace(found, review_first=review_first(found))


def _teams(
    services: Sequence[DraftService], builders: Sequence[ServiceBuilder]
) -> tuple[DraftTeam, ...]:
    """One team per team name the drafts carry (their namespace's name unless their workloads
    name one), with the namespaces of its drafts and the owners they name."""
    namespaces: dict[str, set[str]] = defaultdict(set)
    for service in services:
        namespaces[service.team].add(service.namespace)
    owners: dict[str, list[str]] = defaultdict(list)
    for builder in builders:
        owners[builder.team or builder.namespace] += builder.owners
    teams = []
    for name in sorted(namespaces):
        named = tuple(dict.fromkeys(owners[name]))
        team = DraftTeam(name, tuple(sorted(namespaces[name])))
        teams.append(replace(team, owners=named, review=()) if named else team)
    return tuple(teams)


def select_namespaces(discovery: Discovery, namespaces: Iterable[str]) -> Discovery:
    """Only the drafts (and unresolved references) of ``namespaces``."""
    wanted = set(namespaces)
    return replace(
        discovery,
        teams=tuple(t for t in discovery.teams if wanted & set(t.namespaces)),
        services=tuple(s for s in discovery.services if s.namespace in wanted),
        unresolved=tuple(u for u in discovery.unresolved if u.caller.partition("/")[0] in wanted),
    )


def _service(builder: ServiceBuilder) -> DraftService:
    interfaces = sorted(builder.interfaces.by_port.values(), key=lambda i: (i.port, i.protocol))
    dependencies = sorted(builder.dependencies.values(), key=lambda d: (d.service, d.iface.name))
    return DraftService(
        namespace=builder.namespace,
        name=builder.name,
        team=builder.team or builder.namespace,
        pod_labels=builder.pod_labels,
        service_account=builder.service_account,
        interfaces=tuple(_interface(i) for i in interfaces),
        dependencies=tuple(
            DraftDependency(
                d.service, d.iface.name, d.iface.port, d.iface.protocol, tuple(d.evidence)
            )
            for d in dependencies
        ),
        evidence=tuple(builder.evidence),
        review=tuple(dict.fromkeys(builder.review)),
    )


def _interface(builder: InterfaceBuilder) -> DraftInterface:
    return DraftInterface(
        name=builder.name,
        port=builder.port,
        protocol=builder.protocol,
        service_port=builder.service_port,
        app_protocol=builder.app_protocol,
        consumers=tuple(sorted(builder.consumers)),
        evidence=tuple(builder.evidence),
        review=tuple(dict.fromkeys(builder.review)),
    )


def _overlaps(services: Sequence[DraftService]) -> list[Diagnostic]:
    """TM522: two drafts of a namespace whose pod labels agree on every key both name."""
    found = []
    by_namespace: dict[str, list[DraftService]] = defaultdict(list)
    for service in services:
        by_namespace[service.namespace].append(service)
    for group in by_namespace.values():
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                if _agree(_selector(first), _selector(second)):
                    found.append(_overlap(first, second))
    return found


def _selector(service: DraftService) -> Labels:
    """The pod labels validate will use: without ``workload``, ``app: <name>``."""
    return service.pod_labels or (("app", service.name),)


def _agree(a: Labels, b: Labels) -> bool:
    left, right = dict(a), dict(b)
    return all(right[k] == v for k, v in left.items() if k in right)


def _overlap(first: DraftService, second: DraftService) -> Diagnostic:
    where = second.evidence[0].at if second.evidence and second.evidence[0].at else second.ref
    return diagnostic(
        "TM522",
        _span(where),
        f"drafts {first.ref} and {second.ref} select pods by labels that can match the same "
        f"pod ({_labels(first.pod_labels)} / {_labels(second.pod_labels)})",
        "edit podLabels in the drafts (or label the pods) so each service has a label the other lacks",
    )


def _labels(labels: Labels) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels)


def _span(where: str) -> Span:
    """``file:line:col`` text back to a span (evidence keeps positions as text)."""
    file, _, rest = where.rpartition(":")
    head, _, line = file.rpartition(":")
    if head and line.isdigit() and rest.isdigit():
        return Span(head, int(line), int(rest))
    return Span(where)


def _unresolved_order(entry: Unresolved) -> tuple[str, str, int, int, str, str]:
    span = _span(entry.evidence.at or "")
    return (entry.caller, span.file, span.line, span.col, entry.reference, entry.evidence.text)
