"""Which routes a Linkerd Server needs, and who may use each: declared methods and kubelet probes.

Linkerd sends each request down one route of its Server, the most specific that matches, and
checks only that route's authorisations; a Server with routes refuses a request no route matches
(404), and gets no probe route from Linkerd. The route plan (:func:`route_groups`) therefore gives
every route the grants whose declared routes cover it, and the kubelet's probe requests a route of
their own (:class:`ServerPlan`, :func:`probe_checks`), kept apart from the object writing in
:mod:`trustmap.dialects.linkerd`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from trustmap.dialects.plan import Grant
from trustmap.dialects.pods import Probe, probe_route
from trustmap.dialects.provenance import Source
from trustmap.dialects.routes import Route, glob_regex, parse_route

__all__ = ["EVERYTHING", "ServerPlan", "covers", "probe_checks", "route_groups"]

EVERYTHING = Route("/*", None, grpc=False)
"""The catch-all route."""


@dataclass(frozen=True, slots=True)
class ServerPlan:
    """One Server to write: a port of a service, who may use it, which probes it authorises."""

    parts: tuple[str, ...]
    """Parts of its name: the service and the interface (or ``probe-<port>``)."""
    port: int
    """Container port."""
    protocol: str
    """``proxyProtocol``."""
    grants: tuple[Grant, ...]
    """Declared callers, grouped."""
    checks: tuple[Route, ...]
    """Probe requests authorised on routes of their own (empty: Linkerd's own probe routes do)."""
    probe_sources: tuple[Source, ...]
    """Where the probes of ``checks`` are written."""

    @property
    def routed(self) -> bool:
        """Whether the Server gets routes (then every request needs a route to be served)."""
        return bool(self.checks) or any(g.methods for g in self.grants)


def route_groups(
    grants: Sequence[Grant], checks: Sequence[Route] = (), *, catch_all: bool = False
) -> list[tuple[tuple[Route, ...], tuple[int, ...]]]:
    """Routes grouped by who may use them (indexes into ``grants``; ``len(grants)`` stands for
    the kubelet's probe requests ``checks``, when there are any), in order.

    Linkerd sends each request down one route, the most specific that matches, and checks only
    that route's policies. So every route must admit every grant whose declared routes cover it,
    and callers allowed everything (no methods) are admitted on every route plus a catch-all.
    ``catch_all`` adds the catch-all route even when nobody is allowed everything (audit mode:
    a request no route matches would get 404 instead of being allowed and reported).
    """
    parsed = [tuple(parse_route(m) for m in g.methods) for g in grants]
    if checks:
        parsed.append(tuple(checks))
    everyone = catch_all or any(not g.methods for g in grants)
    unique = {r for rs in parsed for r in rs} | ({EVERYTHING} if everyone else set())
    routes = sorted(unique, key=lambda r: (r.path, r.method or "", r.grpc))
    by_members: dict[tuple[int, ...], list[Route]] = {}
    for route in routes:
        members = tuple(
            i for i, mine in enumerate(parsed) if not mine or any(covers(m, route) for m in mine)
        )
        by_members.setdefault(members, []).append(route)
    return [(tuple(rs), members) for members, rs in by_members.items()]


def covers(wide: Route, narrow: Route) -> bool:
    """Whether every request ``narrow`` matches is also matched by ``wide``."""
    if wide.method is not None and wide.method != narrow.method:
        return False
    if wide.exact:
        return wide.path == narrow.path
    return re.fullmatch(glob_regex(wide.path), narrow.path) is not None


def probe_checks(
    probes: Sequence[tuple[Probe, Source]], routed: bool
) -> tuple[tuple[Route, ...], tuple[Source, ...]]:
    """The probe requests a Server must route itself, and where those probes are written.

    Linkerd routes and authorises ``httpGet`` probes itself on a Server without routes, but
    never gRPC probes; and a Server with routes gets no probe route from Linkerd at all.
    """
    grpc = any(p.action == "grpc" for p, _ in probes)
    if not (routed or grpc):
        return (), ()
    routes = {r: None for p, _ in probes if (r := probe_route(p)) is not None}
    places = tuple(dict.fromkeys(s for p, s in probes if probe_route(p) is not None))
    return tuple(sorted(routes, key=lambda r: (r.path, r.method or ""))), places
