"""Resolve each ``dependsOn`` entry and decide whether it is an effective edge.

A dependency becomes an allowed flow only when the target service and interface exist, the
provider consents, a reason is given (when required), it has not expired (nor runs past the
organisation's cap), and the methods asked for are offered. Every failed condition is a
diagnostic *and* a line in :class:`~trustmap.model.RejectedDependency`, so ``explain`` can say why.

The rule lives in :func:`resolve_dependency` and its ``_check_*`` parts; that is what decides
what enforcement allows. :func:`plain_edge` beside it exists only for speed: loading 10,000
services resolves ~50,000 dependencies, nearly all of which meet every condition, and checking
them with a few lookups and one expression instead of a :class:`Resolution`, a list of findings
and six calls each takes this stage from 0.85 to 0.65 s (``benchmarks/RESULTS.md``). It may only say
*yes, with this exact edge* or *look in full* (``None``) — never *no* — so it cannot reject what
the rule allows; that it never allows what the rule rejects, and builds the very edge the rule
builds, is proved on every test run by ``tests/graph/test_plain_edge.py`` (hypothesis over every
condition's boundary, plus whole organisations built with and without it). A new condition in
the rule must make :func:`plain_edge` return ``None`` for the cases it rejects or flags.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.graph.consent import consumer_entries
from trustmap.model import (
    Dependency,
    Edge,
    EdgeKind,
    Endpoint,
    Interface,
    Rules,
    Service,
    ServiceRef,
    Team,
    new_edge,
)
from trustmap.names import closest, did_you_mean, parse_service_ref

__all__ = ["Context", "Offer", "Resolution", "endpoint_of", "plain_edge", "resolve_dependency"]

SOON_DAYS = 30
_BLOCKING = frozenset(
    {"TM118", "TM203", "TM204", "TM210", "TM211", "TM212", "TM213", "TM214", "TM218"}
)


@dataclass(slots=True)
class Resolution:
    """The outcome for one dependency: its edge, or the reasons it has none.

    The lists start as shared empty tuples: most dependencies have no finding, and there are
    tens of thousands of them.
    """

    edge: Edge | None = None
    target: ServiceRef | None = None
    interface: Interface | None = None
    failed: Sequence[str] = ()
    codes: Sequence[str] = ()
    diagnostics: Sequence[Diagnostic] = ()

    def add(self, found: Diagnostic, condition: str) -> None:
        self.diagnostics = [*self.diagnostics, found]
        if found.code in _BLOCKING:
            self.failed = [*self.failed, condition]
            self.codes = [*self.codes, found.code]


Offer = tuple[Service, Interface, frozenset[str], frozenset[str]]
"""A target service, the interface a dependency names on it, and that interface's consumers and
methods as sets."""


@dataclass(frozen=True, slots=True)
class Context:
    """What resolving needs to know about the whole organisation, plus memos of derived values.

    An organisation has tens of thousands of dependencies on far fewer services and interfaces,
    so what depends only on a target, an interface or a caller is computed once.
    """

    services: Mapping[ServiceRef, Service]
    by_namespace: Mapping[str, tuple[str, ...]]
    teams: Mapping[str, Team]
    rules: Rules
    today: dt.date
    targets: dict[str, Service | None] = field(default_factory=dict)
    """The declared service each ``service:`` text names."""
    offers: dict[int, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    """Consumers and methods of each interface (keyed by identity) as sets."""
    callers: dict[ServiceRef, tuple[Endpoint, tuple[str, ...]]] = field(default_factory=dict)
    """Each caller's edge endpoint and the ``consumers`` entries that admit it."""
    named: dict[tuple[str, str | None], Offer | None] = field(default_factory=dict)
    """What each ``(service, interface)`` pair written in a dependency names, when it exists."""
    unexpired: tuple[dt.date, dt.date] = (dt.date.max, dt.date.min)
    """Expiry dates strictly after the first and up to the second need no finding."""
    failed: Mapping[str, Span] = field(default_factory=dict)
    """``namespace/name`` of services whose documents failed, and where each document starts."""

    @classmethod
    def of(
        cls,
        services: Mapping[ServiceRef, Service],
        teams: Mapping[str, Team],
        rules: Rules,
        today: dt.date,
        failed: Mapping[str, Span] | None = None,
    ) -> Context:
        """A context for ``services``, with the names of each namespace and the plain expiry range."""
        by_namespace: dict[str, list[str]] = {}
        for ref in services:
            by_namespace.setdefault(ref.namespace, []).append(ref.name)
        names = {k: tuple(v) for k, v in by_namespace.items()}
        return cls(
            services,
            names,
            teams,
            rules,
            today,
            unexpired=_unexpired(rules, today),
            failed=failed or {},
        )

    def target(self, text: str) -> Service | None:
        """The declared service that a ``service:`` reference names, if any."""
        if text in self.targets:
            return self.targets[text]
        parts = parse_service_ref(text)
        found = self.services.get(ServiceRef(parts[1], parts[2])) if parts else None
        self.targets[text] = found
        return found

    def offer(self, interface: Interface) -> tuple[frozenset[str], frozenset[str]]:
        """``(consumers, methods)`` of ``interface`` as sets."""
        found = self.offers.get(id(interface))
        if found is None:
            found = (frozenset(interface.consumers), frozenset(interface.methods))
            self.offers[id(interface)] = found
        return found

    def caller(self, service: Service) -> tuple[Endpoint, tuple[str, ...]]:
        """The endpoint edges from ``service`` start at, and the entries that consent to it."""
        found = self.callers.get(service.ref)
        if found is None:
            found = self.callers[service.ref] = (endpoint_of(service), consumer_entries(service))
        return found

    def offered(self, service: str, interface: str | None) -> Offer | None:
        """The service and interface a dependency names, when both exist (memoised)."""
        key = (service, interface)
        if key in self.named:
            return self.named[key]
        target = self.target(service)
        found = None if target is None else _named_interface(target, interface)
        offer: Offer | None = None
        if target is not None and found is not None:
            consumers, methods = self.offer(found)
            offer = (target, found, consumers, methods)
        self.named[key] = offer
        return offer


def _unexpired(rules: Rules, today: dt.date) -> tuple[dt.date, dt.date]:
    """Dates after which an expiry is not soon, and up to which it is within the cap."""
    try:
        soon = today + dt.timedelta(days=SOON_DAYS)
        latest = dt.date.max
        if rules.max_expiry_days is not None:
            latest = today + dt.timedelta(days=rules.max_expiry_days)
    except OverflowError:  # absurd dates or caps: leave every expiry to the full check
        return dt.date.max, dt.date.min
    return soon, latest


def _named_interface(target: Service, name: str | None) -> Interface | None:
    """The interface a dependency names, or the only one when it names none."""
    if name is not None:
        return target.interface(name)
    return target.interfaces[0] if len(target.interfaces) == 1 else None


def endpoint_of(service: Service) -> Endpoint:
    """The caller side of an edge for a declared service."""
    ref, workload = service.ref, service.workload
    return Endpoint(ref.namespace, ref.name, workload.pod_labels, workload.service_account)


def plain_edge(
    endpoint: Endpoint, entries: tuple[str, ...], dep: Dependency, ctx: Context
) -> Edge | None:
    """The edge of a dependency that meets every condition with no finding at all, else ``None``.

    Nearly every dependency is such a one; this checks it with a few lookups. ``None`` says
    nothing is wrong, only that :func:`resolve_dependency` must look at it in full. Each test
    below is the fast form of one of the rule's parts (``_check_consent``, ``_check_reason``,
    ``_check_expiry``, ``_check_methods``, ``_named_interface``); why a second form exists and
    what proves them equal: the module docstring.
    ``endpoint`` and ``entries`` are the caller's, from :meth:`Context.caller`.
    """
    offer = ctx.named.get((dep.service, dep.interface)) or ctx.offered(dep.service, dep.interface)
    if offer is None:
        return None
    target, interface, consumers, offered = offer
    reason, expires, methods = dep.reason, dep.expires, dep.methods
    if (
        consumers.isdisjoint(entries)
        or not reason
        or reason[:4].upper().startswith("TODO")  # as reason.upper(), which never shortens
        or (expires is not None and not ctx.unexpired[0] < expires <= ctx.unexpired[1])
        or len(methods) != 1
        or (offered and methods[0] not in offered)
    ):
        return None
    # Built here rather than by _edge: one call less for each of tens of thousands of edges.
    return new_edge(
        endpoint,
        target.ref,
        interface.name,
        interface.port,
        interface.protocol,
        methods,
        EdgeKind.DEPENDENCY,
        reason,
        dep.span,
        interface.span,
        dep.approved_by,
        expires,
    )


def resolve_dependency(caller: Service, dep: Dependency, ctx: Context) -> Resolution:
    """Check every condition of one dependency and build its edge when all hold."""
    result = Resolution()
    target = _target(caller, dep, ctx, result)
    if target is None:
        return result
    interface = _interface(target, dep, result)
    if interface is None:
        return result
    result.target, result.interface = target.ref, interface
    endpoint, entries = ctx.caller(caller)
    consumers, offered = ctx.offer(interface)
    if consumers.isdisjoint(entries):
        _check_consent(caller, target, interface, dep, ctx, result)
    _check_reason(dep, ctx, result)
    if dep.expires is not None:
        _check_expiry(dep, ctx, result)
    methods = dep.methods
    if len(methods) != 1 or (interface.methods and methods[0] not in offered):
        methods = _check_methods(interface, dep, result, ctx)
    if not result.failed:
        result.edge = _edge(endpoint, target, interface, dep, methods)
    return result


def _target(caller: Service, dep: Dependency, ctx: Context, result: Resolution) -> Service | None:
    target = ctx.target(dep.service)
    if target is None:
        parts = parse_service_ref(dep.service)
        ref = ServiceRef(parts[1], parts[2]) if parts else None
        broken = ctx.failed.get(f"{ref.namespace}/{ref.name}") if ref else None
        if broken is not None:
            result.add(_not_checked(dep, broken), f"target service {dep.service} failed validation")
            return None
        result.add(
            diagnostic(
                "TM203",
                dep.at("service"),
                f"unknown service '{dep.service}'{_suggest(ref, ctx)}",
                "declare the service, or fix the reference (namespace/name)",
            ),
            f"target service {dep.service} is not declared",
        )
    return target


def _not_checked(dep: Dependency, broken: Span) -> Diagnostic:
    return diagnostic(
        "TM118",
        dep.at("service"),
        f"dependency on '{dep.service}' not checked: its declaration at {broken} has an error",
        "fix the error reported for that document first",
    )


def _suggest(ref: ServiceRef | None, ctx: Context) -> str:
    """ " (did you mean 'ns/x'?)": a close name in the same namespace, else the same or a close
    name in the closest namespace; only services that exist are suggested."""
    if ref is None:
        return ""
    same = ctx.by_namespace.get(ref.namespace)
    if same:
        name = closest(ref.name, same)
        return f" (did you mean '{ref.namespace}/{name}'?)" if name else ""
    homes = [ns for ns, names in ctx.by_namespace.items() if ref.name in names]
    namespace = closest(ref.namespace, homes) or closest(ref.namespace, ctx.by_namespace)
    if namespace is None:
        return ""
    name = (
        ref.name
        if ref.name in ctx.by_namespace[namespace]
        else closest(ref.name, ctx.by_namespace[namespace])
    )
    return f" (did you mean '{namespace}/{name}'?)" if name else ""


def _interface(target: Service, dep: Dependency, result: Resolution) -> Interface | None:
    if dep.interface is not None:
        found = target.interface(dep.interface)
        if found is None:
            names = [i.name for i in target.interfaces]
            result.add(
                diagnostic(
                    "TM204",
                    dep.at("interface"),
                    f"service {target.ref} has no interface '{dep.interface}'"
                    f"{did_you_mean(dep.interface, names)}",
                    f"interfaces of {target.ref}: {', '.join(names) or 'none'}",
                ),
                f"interface {dep.interface} is not offered by {target.ref}",
            )
        return found
    if len(target.interfaces) == 1:
        return target.interfaces[0]
    names = [i.name for i in target.interfaces]
    if not target.interfaces:
        result.add(
            diagnostic(
                "TM204",
                dep.at("service"),
                f"service {target.ref} offers no interface",
                "depend on a service that declares an interface",
            ),
            f"{target.ref} offers no interface",
        )
        return None
    result.add(
        diagnostic(
            "TM218",
            dep.at("service"),
            f"service {target.ref} offers {len(names)} interfaces; name one",
            f"add 'interface:' with one of: {', '.join(names)}",
        ),
        "interface not named and the target offers several",
    )
    return None


def _check_consent(
    caller: Service,
    target: Service,
    interface: Interface,
    dep: Dependency,
    ctx: Context,
    result: Resolution,
) -> None:
    if not ctx.rules.require_provider_consent or interface.exposure == "world":
        return
    if not ctx.offer(interface)[0].isdisjoint(ctx.caller(caller)[1]):
        return
    owners = ctx.teams.get(target.team)
    who = f"the owners of team {target.team}" + (f" ({', '.join(owners.owners)})" if owners else "")
    result.add(
        diagnostic(
            "TM210",
            dep.at("service"),
            f"{target.ref} does not list {caller.ref} among the consumers of interface "
            f"'{interface.name}'",
            f"ask {who} to add '{caller.ref}' to consumers at {interface.consumers_span or interface.span}",
        ),
        f"provider {target.ref} has not consented ({caller.ref} is not in consumers of "
        f"'{interface.name}')",
    )


def _check_reason(dep: Dependency, ctx: Context, result: Resolution) -> None:
    if not ctx.rules.require_reason:
        return
    if not dep.reason:
        result.add(
            diagnostic(
                "TM212",
                dep.span,
                f"dependency on {dep.service} has no reason",
                "add 'reason:' saying why the call is needed; reviewers and auditors read it",
            ),
            "no reason given",
        )
    elif dep.reason.upper().startswith("TODO"):
        result.add(
            diagnostic(
                "TM212",
                dep.at("reason"),
                f"dependency on {dep.service} has a placeholder reason: '{dep.reason}'",
                "replace the TODO with the real reason once a person has reviewed the draft",
            ),
            "reason is a TODO placeholder",
        )


def _check_expiry(dep: Dependency, ctx: Context, result: Resolution) -> None:
    if dep.expires is None:
        return
    days = (dep.expires - ctx.today).days
    if days < 0:
        result.add(
            diagnostic(
                "TM211",
                dep.at("expires"),
                f"dependency on {dep.service} expired on {dep.expires} ({-days} days ago)",
                "renew it with a new 'expires' date, or remove the dependency",
            ),
            f"expired on {dep.expires}",
        )
        return
    cap = ctx.rules.max_expiry_days
    if cap is not None and days > cap:
        result.add(
            diagnostic(
                "TM213",
                dep.at("expires"),
                f"expiry {dep.expires} is {days} days away; the organisation allows at most {cap}",
                f"choose a date on or before {ctx.today + dt.timedelta(days=cap)}",
            ),
            f"expiry {dep.expires} is beyond the {cap}-day cap",
        )
    elif days <= SOON_DAYS:
        result.add(
            diagnostic(
                "TM220",
                dep.at("expires"),
                f"dependency on {dep.service} expires in {days} days ({dep.expires})",
                "renew it before it lapses, or let it go if the call is no longer needed",
            ),
            "expires soon",
        )


def _check_methods(
    interface: Interface, dep: Dependency, result: Resolution, ctx: Context
) -> tuple[str, ...]:
    if not dep.methods:
        return interface.methods
    if not interface.methods:
        return tuple(sorted(set(dep.methods)))
    offered = ctx.offer(interface)[1]
    missing = [m for m in dep.methods if m not in offered]
    if missing:
        first = missing[0]
        result.add(
            diagnostic(
                "TM214",
                dep.at("methods"),
                f"interface '{interface.name}' does not offer {', '.join(missing)}"
                f"{did_you_mean(first, offered)}",
                f"offered: {', '.join(interface.methods)}",
            ),
            f"methods not offered: {', '.join(missing)}",
        )
    return tuple(sorted(set(dep.methods)))


def _edge(
    source: Endpoint,
    target: Service,
    interface: Interface,
    dep: Dependency,
    methods: tuple[str, ...],
) -> Edge:
    return new_edge(
        source,  # source
        target.ref,  # target
        interface.name,  # interface
        interface.port,  # port
        interface.protocol,  # protocol
        methods,  # methods
        EdgeKind.DEPENDENCY,  # kind
        dep.reason,  # reason
        dep.span,  # declared_at
        interface.span,  # offered_at
        dep.approved_by,  # approved_by
        dep.expires,  # expires
    )
