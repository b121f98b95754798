"""Drift: where observed traffic and the declarations disagree.

Observed requests (aggregated by :mod:`trustmap.observe.observed`) are resolved to declared
services (:mod:`trustmap.observe.identity`) and compared with the graph's effective edges, its
rejected dependencies and its declared egress. Five categories, each entry naming source and
destination as ``namespace/name`` with port and protocol:

* ``undeclared`` — traffic between declared services that no effective edge allows;
* ``unused`` — effective dependency edges never observed in the window;
* ``dropped`` — declared edges whose flows were dropped (an enforcement bug);
* ``expired`` — traffic on a dependency rejected for expiry or missing consent;
* ``undeclaredEgress`` — traffic to the world that the source's egress does not declare.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from trustmap.diagnostics import Span
from trustmap.model import (
    Edge,
    EdgeKind,
    Egress,
    Graph,
    PortSpec,
    RejectedDependency,
    ServiceRef,
)
from trustmap.observe.coverage import Coverage, FlowVerdict, coverage, coverage_trend
from trustmap.observe.enrich import Enricher
from trustmap.observe.identity import Identity, ObservedEndpoint, Resolver
from trustmap.observe.observed import (
    BatchInfo,
    Identified,
    ObservedGroup,
    batches,
    observed_groups,
)
from trustmap.observe.snapshot import ClusterSnapshot

__all__ = [
    "CATEGORIES",
    "DriftEntry",
    "DriftReport",
    "drift",
    "drift_from_groups",
    "identified_by",
    "window_start",
]

CATEGORIES: Final = ("undeclared", "unused", "dropped", "expired", "undeclaredEgress")
"""Drift categories, in report order (also the JSON keys)."""

CODES: Final = {
    "undeclared": "TM510",
    "unused": "TM511",
    "dropped": "TM512",
    "expired": "TM513",
    "undeclaredEgress": "TM514",
}
"""The diagnostic code of each category (see docs/diagnostics.md)."""

_API_PORTS: Final = (PortSpec(443), PortSpec(6443))
"""API server ports when an ``apiServer`` egress names none."""

_LAPSED: Final = frozenset({"TM210", "TM211"})
"""Rejection codes that mean the grant lapsed: no consent, expired."""

Key = tuple[str, str, int | None, str]
"""source label, destination label, port, protocol."""


@dataclass(frozen=True, slots=True)
class DriftEntry:
    """One disagreement between observation and declaration."""

    category: str
    """One of :data:`CATEGORIES`."""
    source: str
    """``namespace/name`` of the caller."""
    destination: str
    """``namespace/name`` of the callee, ``world`` or the external name/address."""
    port: int | None
    """Destination port."""
    protocol: str
    """Transport protocol."""
    count: int
    """Observations (0 for ``unused``)."""
    first_seen: dt.datetime | None
    """Earliest observation."""
    last_seen: dt.datetime | None
    """Latest observation."""
    example: str | None
    """One concrete flow: ``pod/ip → pod/ip:port`` at its first time."""
    detail: str | None
    """Why it is drift: drop reason, failed conditions, declared location."""
    span: Span | None = None
    """The declaration it is about: the dependency entry (unused, dropped, expired) or the
    source service (undeclared, undeclaredEgress); ``None`` when not declared in a file."""

    @property
    def code(self) -> str:
        """Diagnostic code of the category."""
        return CODES[self.category]

    def to_json(self) -> dict[str, object]:
        """JSON-ready mapping (camelCase keys)."""
        return {
            "source": self.source,
            "destination": self.destination,
            "port": self.port,
            "protocol": self.protocol,
            "count": self.count,
            "firstSeen": _iso(self.first_seen),
            "lastSeen": _iso(self.last_seen),
            "example": self.example,
            "detail": self.detail,
            "code": self.code,
            "declaredAt": None if self.span is None else str(self.span),
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift of one window of observed flows against one graph."""

    entries: tuple[DriftEntry, ...]
    """Every entry, sorted by category (report order), source, destination, port."""
    coverage: Coverage
    """Declared share of observed flows and workloads."""
    start: dt.datetime | None
    """Window start (UTC), ``None`` = every flow in the database."""

    def category(self, name: str) -> tuple[DriftEntry, ...]:
        """Entries of one category."""
        return tuple(entry for entry in self.entries if entry.category == name)

    @property
    def has_drift(self) -> bool:
        """True when any category has an entry."""
        return bool(self.entries)

    def to_json(self) -> dict[str, object]:
        """One list per category, plus ``coverage`` and ``window``."""
        result: dict[str, object] = {
            name: [entry.to_json() for entry in self.category(name)] for name in CATEGORIES
        }
        result["coverage"] = self.coverage.to_json()
        result["window"] = {"since": _iso(self.start)}
        return result


def drift(
    graph: Graph,
    db_path: Path,
    since: dt.timedelta | None = None,
    now: dt.datetime | None = None,
    *,
    snapshot: ClusterSnapshot | None = None,
    trend: str | None = "batch",
) -> DriftReport:
    """Compare the flows of ``db_path`` in the last ``since`` before ``now`` with ``graph``.

    Args:
        snapshot: pods and Services to resolve endpoints recorded by address or pod name.
        trend: coverage per ``batch`` (ingest run) or per UTC ``day``; ``None`` for none.

    Raises:
        InputError: when ``db_path`` is missing or is not a flow database.
    """
    start = window_start(since, now)
    resolver = Resolver(graph)
    identified = identified_by(resolver, snapshot)
    groups = observed_groups(db_path, start, trend, identified=identified)
    runs = batches(db_path) if trend == "batch" else None
    return drift_from_groups(
        graph, groups, start, snapshot=snapshot, batches=runs, resolver=resolver
    )


def identified_by(resolver: Resolver, snapshot: ClusterSnapshot | None = None) -> Identified:
    """Endpoints that drift judges by their description alone: those that resolve to a declared
    service and that ``snapshot`` would not complete (it only completes endpoints without pod
    labels, see :mod:`trustmap.observe.enrich`). Their pods and addresses only matter for the
    example flow, so observed groups may merge across them."""

    def identified(endpoint: ObservedEndpoint) -> bool:
        if snapshot is not None and not endpoint.labels:
            return False
        return resolver.resolve(endpoint).resolved

    return identified


def window_start(since: dt.timedelta | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """Start (naive UTC) of the window ``since`` before ``now`` (default: the current time);
    ``None`` (every flow) when ``since`` is ``None``."""
    if since is None:
        return None
    return (now or dt.datetime.now(dt.UTC).replace(tzinfo=None)) - since


def drift_from_groups(
    graph: Graph,
    groups: Sequence[ObservedGroup],
    start: dt.datetime | None = None,
    *,
    snapshot: ClusterSnapshot | None = None,
    batches: Mapping[int, BatchInfo] | None = None,
    resolver: Resolver | None = None,
) -> DriftReport:
    """Drift of already aggregated observations (the pure part of :func:`drift`).

    Groups that carry a ``window`` also give the coverage trend (per batch when ``batches``
    is given, else per day). ``resolver`` (of ``graph``) may be shared with the caller."""
    judge = _Judge(graph)
    resolver = resolver or Resolver(graph)
    if snapshot is not None:
        enricher = Enricher(snapshot)
        groups = [enricher.group(group) for group in groups]
    entries: list[DriftEntry] = []
    verdicts: list[FlowVerdict] = []
    observed: set[Key] = set()
    for group in groups:
        src, dst = resolver.resolve(group.src), resolver.resolve(group.dst)
        observed.add((src.label, dst.label, group.port, group.protocol))
        entry = judge.classify(group, src, dst)
        if entry is not None:
            entries.append(entry)
        verdicts.append(FlowVerdict(group, src, dst, judge.covered(src, dst, group)))
    entries.extend(judge.unused(observed))
    whole = coverage(graph, verdicts)
    trend = coverage_trend(graph, verdicts, batches, whole.total)
    return DriftReport(_merge(entries), replace(whole, trend=trend), start)


class _Judge:
    """The declared side: effective edges, rejected dependencies and egress, indexed."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.edges: dict[Key, Edge] = {}
        self.open_ports: set[tuple[ServiceRef, int, str]] = set()
        for edge in graph.edges:
            if edge.source.ref is not None:
                key = (str(edge.source.ref), str(edge.target), edge.port, edge.protocol)
                self.edges.setdefault(key, edge)
            elif edge.kind is EdgeKind.WORLD:
                self.open_ports.add((edge.target, edge.port, edge.protocol))
        self.rejected = {k: r for k, r in _rejected_keys(graph) if k not in self.edges}

    def allowed(self, key: Key, dst: Identity) -> bool:
        _, _, port, protocol = key
        open_port = dst.ref is not None and (dst.ref, port, protocol) in self.open_ports
        return key in self.edges or open_port

    def covered(self, src: Identity, dst: Identity, group: ObservedGroup) -> bool:
        if src.ref is None or dst.ref is None:
            return src.ref is not None and _external(dst, group) and self.egress_ok(src.ref, group)
        return self.allowed((src.label, dst.label, group.port, group.protocol), dst)

    def classify(self, group: ObservedGroup, src: Identity, dst: Identity) -> DriftEntry | None:
        key = (src.label, dst.label, group.port, group.protocol)
        if src.ref is not None and dst.ref is None and _external(dst, group):
            if self.egress_ok(src.ref, group):
                return None
            destination = _egress_destination(dst, group)
            return _entry("undeclaredEgress", key, group, destination, None, self.span(src))
        if src.ref is None or dst.ref is None:
            return None
        if self.allowed(key, dst):
            if group.verdict == "DROPPED":
                reason = group.drop_reason or "dropped"
                edge = self.edges.get(key)
                span = edge.declared_at if edge is not None else self.span(dst)
                return _entry("dropped", key, group, None, reason, span)
            return None
        if key in self.rejected:
            rejected = self.rejected[key]
            failed = "; ".join(rejected.failed)
            return _entry("expired", key, group, None, failed, rejected.dependency.span)
        return _entry("undeclared", key, group, None, f"verdict {group.verdict}", self.span(src))

    def span(self, identity: Identity) -> Span | None:
        service = self.graph.services.get(identity.ref) if identity.ref else None
        return service.span if service is not None else None

    def egress_ok(self, ref: ServiceRef, group: ObservedGroup) -> bool:
        return any(
            external.source == ref and _egress_matches(external.egress, group)
            for external in self.graph.external
        )

    def unused(self, observed: set[Key]) -> Iterable[DriftEntry]:
        for key, edge in sorted(self.edges.items(), key=lambda item: _key_order(item[0])):
            if edge.kind is EdgeKind.DEPENDENCY and key not in observed:
                span = edge.declared_at
                where = f"declared at {span.file}:{span.line}" if span.file else None
                yield DriftEntry("unused", *key, 0, None, None, None, where, _located(span))


def _rejected_keys(graph: Graph) -> Iterable[tuple[Key, RejectedDependency]]:
    """Rejected dependencies that failed for expiry or consent, keyed like edges."""
    for rejected in graph.rejected:
        if not _LAPSED.intersection(rejected.codes):
            continue
        namespace, _, name = rejected.dependency.service.partition("/")
        target = graph.services.get(ServiceRef(namespace, name))
        if target is None:
            continue
        wanted = rejected.dependency.interface
        for interface in target.interfaces:
            if wanted is None or interface.name == wanted:
                key = (str(rejected.source), str(target.ref), interface.port, interface.protocol)
                yield key, rejected


def _external(dst: Identity, group: ObservedGroup) -> bool:
    return dst.is_world or (dst.ref is None and group.dst.entity == "kube-apiserver")


def _egress_matches(egress: Egress, group: ObservedGroup) -> bool:
    ports = egress.ports or (_API_PORTS if egress.api_server else ())
    if ports and not any(p.port == group.port and p.protocol == group.protocol for p in ports):
        return False
    if egress.api_server:
        return "kube-apiserver" in (group.dst.entity or "").split(",")
    if egress.host:
        return any(_host_matches(egress.host, name) for name in group.dst_names)
    if egress.cidr and group.dst.ip:
        return _in_cidr(group.dst.ip, egress.cidr)
    return False


def _host_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


def _in_cidr(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _egress_destination(dst: Identity, group: ObservedGroup) -> str:
    if group.dst_names:
        return sorted(group.dst_names)[0]
    return group.dst.ip or dst.label


def _example(group: ObservedGroup) -> str:
    src = group.src.pod or group.src.ip or group.src.entity or "?"
    service = f"service {group.dst.service} ({group.dst.ip})" if group.dst.service else None
    dst = group.dst.pod or service or group.dst.ip or group.dst.entity or "?"
    when = f" at {_iso(group.first_seen)}" if group.first_seen else ""
    return f"{src} -> {dst}:{group.port}/{group.protocol} {group.verdict}{when}"


def _entry(
    category: str,
    key: Key,
    group: ObservedGroup,
    destination: str | None,
    detail: str | None,
    span: Span | None,
) -> DriftEntry:
    source, target, port, protocol = key
    return DriftEntry(
        category, source, destination or target, port, protocol, group.count,
        group.first_seen, group.last_seen, _example(group), detail, _located(span),
    )  # fmt: skip


def _located(span: Span | None) -> Span | None:
    return span if span is not None and span.file else None


def _merge(entries: Iterable[DriftEntry]) -> tuple[DriftEntry, ...]:
    """One entry per category and key: counts summed, first/last widened, earliest example."""
    merged: dict[tuple[str, str, str, int | None, str], DriftEntry] = {}
    for entry in entries:
        key = (entry.category, entry.source, entry.destination, entry.port, entry.protocol)
        old = merged.get(key)
        merged[key] = entry if old is None else _combine(old, entry)
    order = {name: i for i, name in enumerate(CATEGORIES)}
    return tuple(merged[k] for k in sorted(merged, key=lambda k: (order[k[0]], *_key_order(k[1:]))))


def _combine(old: DriftEntry, new: DriftEntry) -> DriftEntry:
    firsts = [t for t in (old.first_seen, new.first_seen) if t is not None]
    lasts = [t for t in (old.last_seen, new.last_seen) if t is not None]
    earliest = (
        new
        if old.first_seen is None or (new.first_seen or old.first_seen) < old.first_seen
        else old
    )
    return DriftEntry(
        old.category, old.source, old.destination, old.port, old.protocol,
        old.count + new.count, min(firsts, default=None), max(lasts, default=None),
        earliest.example, _details(old.detail, new.detail), old.span or new.span,
    )  # fmt: skip


def _details(old: str | None, new: str | None) -> str | None:
    """Both details, each part (``; ``-separated) once, sorted; one detail as it is."""
    if old == new or not new:
        return old
    if not old:
        return new
    return "; ".join(sorted({*old.split("; "), *new.split("; ")}))


def _key_order(key: Sequence[object]) -> tuple[str, ...]:
    return tuple(f"{v:05d}" if isinstance(v, int) else str(v or "") for v in key)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"
