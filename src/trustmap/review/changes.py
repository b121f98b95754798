"""The declared shape of the organisation, compared: services, interfaces, exposure, egress.

Calls say what may flow; these say what the change declares around them — a service moved to
another team changes who approves its consumers, an interface made ``world`` is reachable from
outside the cluster, an egress entry lets a workload leave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trustmap.diagnostics import Span
from trustmap.model import Graph, Interface

__all__ = [
    "EgressChange",
    "ExposureChange",
    "InterfaceChange",
    "ServiceChange",
    "egress_changes",
    "exposure_changes",
    "interface_changes",
    "service_changes",
]

_LEVEL = {"internal": 0, "ingress": 1, "world": 2}


@dataclass(frozen=True, slots=True)
class ServiceChange:
    """A service added, removed or moved to another team."""

    service: str
    """``ns/name``."""
    change: Literal["added", "removed", "moved"]
    """What happened."""
    team_before: str | None
    """Owning team before (None when added)."""
    team_after: str | None
    """Owning team after (None when removed)."""
    span: Span
    """Where it is declared (before, when removed)."""


@dataclass(frozen=True, slots=True)
class InterfaceChange:
    """An interface added, removed or changed (port, protocol, methods, consumers)."""

    service: str
    """``ns/name`` of its service."""
    interface: str
    """Interface name."""
    change: Literal["added", "removed", "changed"]
    """What happened."""
    details: tuple[str, ...]
    """What changed, in words."""
    span: Span
    """Where it is declared."""


@dataclass(frozen=True, slots=True)
class ExposureChange:
    """An interface reachable by more (widened) or fewer (narrowed) callers than before."""

    service: str
    """``ns/name``."""
    interface: str
    """Interface name."""
    before: str | None
    """Exposure before (None: no such interface)."""
    after: str | None
    """Exposure after (None: removed)."""
    movement: Literal["widened", "narrowed"]
    """Whether more or fewer callers reach it."""
    span: Span
    """Where the interface is declared."""


@dataclass(frozen=True, slots=True)
class EgressChange:
    """A call out of the cluster opened, closed or given other ports."""

    service: str
    """The calling service."""
    destination: str
    """Host, CIDR or kube-apiserver."""
    ports_before: tuple[str, ...] | None
    """Ports before ('*' = all; None: not declared)."""
    ports_after: tuple[str, ...] | None
    """Ports after (None: removed)."""
    movement: Literal["opened", "closed", "changed"]
    """What happened."""
    reason: str | None
    """The declared reason."""
    span: Span
    """Where it is declared."""


def service_changes(before: Graph, after: Graph) -> list[ServiceChange]:
    """Services added, removed or moved between teams."""
    found = []
    for ref in sorted(before.services.keys() | after.services.keys(), key=str):
        old, new = before.services.get(ref), after.services.get(ref)
        if old is None and new is not None:
            found.append(ServiceChange(str(ref), "added", None, new.team, new.span))
        elif new is None and old is not None:
            found.append(ServiceChange(str(ref), "removed", old.team, None, old.span))
        elif old is not None and new is not None and old.team != new.team:
            found.append(ServiceChange(str(ref), "moved", old.team, new.team, new.at("team")))
    return found


def _interfaces(graph: Graph) -> dict[tuple[str, str], Interface]:
    return {(str(s.ref), i.name): i for s in graph.services.values() for i in s.interfaces}


def interface_changes(before: Graph, after: Graph) -> list[InterfaceChange]:
    """Interfaces added, removed or changed."""
    old, new = _interfaces(before), _interfaces(after)
    found = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if was is None and now is not None:
            found.append(InterfaceChange(*key, "added", (_offer(now),), now.span))
        elif now is None and was is not None:
            found.append(InterfaceChange(*key, "removed", (_offer(was),), was.span))
        elif was is not None and now is not None:
            details = _interface_details(was, now)
            if details:
                found.append(InterfaceChange(*key, "changed", details, now.span))
    return found


def _offer(interface: Interface) -> str:
    methods = ", ".join(interface.methods) if interface.methods else "every method"
    return f"{interface.port}/{interface.protocol} {interface.exposure}, {methods}"


def _interface_details(was: Interface, now: Interface) -> tuple[str, ...]:
    details = []
    if (was.port, was.protocol) != (now.port, now.protocol):
        details.append(f"port {was.port}/{was.protocol} -> {now.port}/{now.protocol}")
    added = sorted(set(now.consumers) - set(was.consumers))
    removed = sorted(set(was.consumers) - set(now.consumers))
    details += [f"consumer +{c}" for c in added] + [f"consumer -{c}" for c in removed]
    if was.methods != now.methods:
        details.append(
            f"methods {', '.join(was.methods) or 'every method'} -> "
            f"{', '.join(now.methods) or 'every method'}"
        )
    return tuple(details)


def exposure_changes(before: Graph, after: Graph) -> list[ExposureChange]:
    """Interfaces whose exposure rose or fell; new interfaces count from ``internal``."""
    old, new = _interfaces(before), _interfaces(after)
    found = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        low = _LEVEL[was.exposure] if was else 0
        high = _LEVEL[now.exposure] if now else 0
        if high != low:
            movement: Literal["widened", "narrowed"] = "widened" if high > low else "narrowed"
            declared = now or was
            span = declared.span if declared else Span("")
            found.append(
                ExposureChange(
                    *key,
                    was.exposure if was else None,
                    now.exposure if now else None,
                    movement,
                    span,
                )
            )
    return found


_EgressKey = tuple[str, str]


def _egress(graph: Graph) -> dict[_EgressKey, tuple[tuple[str, ...], str | None, Span]]:
    found: dict[_EgressKey, tuple[tuple[str, ...], str | None, Span]] = {}
    for external in graph.external:
        egress = external.egress
        ports = tuple(f"{p.port}/{p.protocol}" for p in egress.ports) or ("*",)
        key = (str(external.source), egress.destination)
        merged = tuple(sorted(set(found.get(key, ((), None, egress.span))[0]) | set(ports)))
        found[key] = (merged, egress.reason, egress.span)
    return found


def egress_changes(before: Graph, after: Graph) -> list[EgressChange]:
    """Calls out of the cluster opened, closed, or given other ports."""
    old, new = _egress(before), _egress(after)
    found = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if was is None and now is not None:
            found.append(EgressChange(*key, None, now[0], "opened", now[1], now[2]))
        elif now is None and was is not None:
            found.append(EgressChange(*key, was[0], None, "closed", was[1], was[2]))
        elif was is not None and now is not None and was[0] != now[0]:
            found.append(EgressChange(*key, was[0], now[0], "changed", now[1], now[2]))
    return found
