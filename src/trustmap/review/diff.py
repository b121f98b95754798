"""What a change to the declarations does to the organisation: the review of a pull request.

Both sides are built into checked graphs and compared as a reviewer reads a change: calls opened,
closed, widened and narrowed; exposure and egress; services and interfaces; findings introduced
and fixed; compiled objects per target. Every call a change opens or widens names the provider's
team and its owners (who must approve) and says whether the provider's consent is already there:

* ``before`` — the provider consented before the change (a pre-authorised consumer);
* ``in-change`` — the change itself adds the provider's consent, so the provider's owners must
  review it (``trustmap codeowners`` makes the forge request them);
* ``missing`` — the call opens although the provider never consented (the organisation does not
  require consent, or a wildcard was read); the change is blocked;
* ``not-needed`` — not a dependency: ingress, platform and world calls follow the provider's own
  exposure or the Organization.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from trustmap.diagnostics import Diagnostic, Severity, Span
from trustmap.graph.consent import consents
from trustmap.model import Dependency, Graph, ServiceRef
from trustmap.names import parse_service_ref
from trustmap.review.calls import Call, calls_of, compare
from trustmap.review.changes import (
    EgressChange,
    ExposureChange,
    InterfaceChange,
    ServiceChange,
    egress_changes,
    exposure_changes,
    interface_changes,
    service_changes,
)
from trustmap.review.objects import ObjectChange, object_changes
from trustmap.review.sources import Tree

__all__ = ["CallChange", "Change", "Consent", "Side", "Waiting", "diff"]

Consent = Literal["before", "in-change", "missing", "not-needed"]


@dataclass(frozen=True, slots=True)
class Side:
    """One side of the change: where it was read from and its graph."""

    tree: Tree
    """The files."""
    graph: Graph
    """Their checked graph."""


@dataclass(frozen=True, slots=True)
class CallChange:
    """A call opened, closed, widened or narrowed, and who must approve it."""

    movement: Literal["opened", "closed", "widened", "narrowed"]
    """What the change does to the call."""
    call: Call
    """The call after the change (before it, when closed)."""
    before: Call | None
    """The call before the change, when it existed."""
    details: tuple[str, ...]
    """What moved, for widened and narrowed calls."""
    provider_team: str | None
    """The provider's team."""
    approvers: tuple[str, ...]
    """The provider team's owners and VCS handles (opened and widened calls)."""
    consent: Consent
    """Where the provider's consent stands (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """A dependency the change declares that waits only for the provider's consent (TM210):
    it opens nothing yet; the provider's owners decide."""

    source: str
    """The declaring service, ``ns/name``."""
    target: str
    """The provider, ``ns/name``."""
    interface: str | None
    """The provider interface asked for, when named or the provider's only one."""
    provider_team: str | None
    """The provider's team."""
    approvers: tuple[str, ...]
    """Its owners and VCS handles."""
    span: Span
    """The dependency entry."""


@dataclass(frozen=True, slots=True)
class Change:
    """Everything a change does, each list sorted."""

    base: str
    """Label of the base side."""
    head: str
    """Label of the head side."""
    calls: tuple[CallChange, ...]
    """Calls opened, closed, widened and narrowed."""
    exposure: tuple[ExposureChange, ...]
    """Interfaces whose exposure changed (or new interfaces beyond ``internal``)."""
    egress: tuple[EgressChange, ...]
    """Calls out of the cluster opened, closed or changed."""
    services: tuple[ServiceChange, ...]
    """Services added, removed or moved between teams."""
    interfaces: tuple[InterfaceChange, ...]
    """Interfaces added, removed or changed."""
    introduced: tuple[Diagnostic, ...]
    """Findings of the head that the base did not have."""
    fixed: tuple[Diagnostic, ...]
    """Findings of the base that the head no longer has."""
    objects: tuple[ObjectChange, ...]
    """Compiled objects added, changed and removed, per target."""
    targets: tuple[str, ...] = field(default=())
    """The targets compiled."""
    waiting: tuple[Waiting, ...] = field(default=())
    """New dependencies that wait only for the provider's consent."""

    @property
    def empty(self) -> bool:
        """Whether the change does nothing a reviewer must see."""
        return not any(
            (self.calls, self.exposure, self.egress, self.services, self.interfaces)
        ) and not any((self.introduced, self.fixed, self.objects, self.waiting))

    def blocking(self) -> list[str]:
        """Why the change must not merge: introduced errors, calls opened without consent."""
        reasons = [
            f"introduces {d.code} at {d.span or 'the organisation'}: {d.message}"
            for d in self.introduced
            if d.severity is Severity.ERROR
        ]
        reasons += [
            f"{c.movement} {c.call.source} -> {c.call.target}:{c.call.interface} without the "
            f"consent of {c.provider_team or 'its provider'}"
            for c in self.calls
            if c.consent == "missing"
        ]
        return reasons


def diff(
    base: Side,
    head: Side,
    *,
    targets: Sequence[str] = (),
    environment: str | None = None,
) -> Change:
    """Compare two sides.

    Raises:
        UsageError: an unknown target or environment.
    """
    introduced, fixed = _findings(base, head)
    return Change(
        base.tree.label,
        head.tree.label,
        tuple(_calls(base.graph, head.graph)),
        tuple(exposure_changes(base.graph, head.graph)),
        tuple(egress_changes(base.graph, head.graph)),
        tuple(service_changes(base.graph, head.graph)),
        tuple(interface_changes(base.graph, head.graph)),
        introduced,
        fixed,
        tuple(object_changes(base.graph, head.graph, targets, environment)),
        tuple(targets),
        tuple(_waiting(base.graph, head.graph)),
    )


def _calls(before: Graph, after: Graph) -> list[CallChange]:
    old, new = calls_of(before), calls_of(after)
    found = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if now is None and was is not None:
            found.append(CallChange("closed", was, was, (), _team(before, was), (), "not-needed"))
        elif now is not None and was is None:
            found.append(_widening("opened", now, None, (), before, after))
        elif now is not None and was is not None:
            movement, details = compare(was, now)
            if movement == "narrowed":
                found.append(
                    CallChange(movement, now, was, details, _team(after, now), (), "before")
                )
            elif movement == "widened":
                found.append(_widening(movement, now, was, details, before, after))
    return found


def _widening(
    movement: Literal["opened", "widened"],
    call: Call,
    was: Call | None,
    details: tuple[str, ...],
    before: Graph,
    after: Graph,
) -> CallChange:
    team = _team(after, call)
    return CallChange(
        movement, call, was, details, team, _approvers(after, team), _consent(before, after, call)
    )


def _team(graph: Graph, call: Call) -> str | None:
    service = graph.services.get(_ref(call.target))
    return service.team if service else None


def _approvers(graph: Graph, team: str | None) -> tuple[str, ...]:
    found = graph.teams.get(team) if team else None
    if found is None:
        return ()
    return tuple(dict.fromkeys((*found.owners, *found.handles)))


def _consent(before: Graph, after: Graph, call: Call) -> Consent:
    if call.kind != "dependency":
        return "not-needed"
    caller = after.services.get(_ref(call.source))
    provider = after.services.get(_ref(call.target))
    offered = provider.interface(call.interface) if provider else None
    if caller is None or offered is None or not consents(offered, caller):
        return "missing"
    earlier = before.services.get(_ref(call.target))
    was = earlier.interface(call.interface) if earlier else None
    return "before" if was is not None and consents(was, caller) else "in-change"


def _waiting(before: Graph, after: Graph) -> list[Waiting]:
    """Dependencies rejected only for the provider's consent in ``after`` and not in ``before``."""
    old = {_waiting_key(r.source, r.dependency) for r in before.rejected if r.codes == ("TM210",)}
    found = []
    for rejected in after.rejected:
        dependency = rejected.dependency
        if rejected.codes != ("TM210",) or _waiting_key(rejected.source, dependency) in old:
            continue
        parts = parse_service_ref(dependency.service)
        target = f"{parts[1]}/{parts[2]}" if parts else dependency.service
        provider = after.services.get(_ref(target))
        interface = dependency.interface or (
            provider.interfaces[0].name if provider and len(provider.interfaces) == 1 else None
        )
        team = provider.team if provider else None
        found.append(
            Waiting(
                str(rejected.source),
                target,
                interface,
                team,
                _approvers(after, team),
                dependency.span,
            )
        )
    return sorted(found, key=lambda w: (w.source, w.target, w.interface or ""))


def _waiting_key(source: ServiceRef, dependency: Dependency) -> tuple[str, str, str]:
    return (str(source), dependency.service, dependency.interface or "")


def _ref(text: str) -> ServiceRef:
    namespace, _, name = text.partition("/")
    return ServiceRef(namespace, name)


def _findings(base: Side, head: Side) -> tuple[tuple[Diagnostic, ...], tuple[Diagnostic, ...]]:
    """Findings by code, file (relative to its side) and message: line numbers move freely."""
    old = {_finding_key(base.tree, d): d for d in base.graph.diagnostics}
    new = {_finding_key(head.tree, d): d for d in head.graph.diagnostics}
    introduced = tuple(d for k, d in new.items() if k not in old)
    fixed = tuple(d for k, d in old.items() if k not in new)
    return introduced, fixed


def _finding_key(tree: Tree, found: Diagnostic) -> tuple[str, str, str]:
    span = found.span or Span("")
    message = found.message.replace(tree.root, "") if tree.root else found.message
    return (found.code, tree.relative(span.file), message)
