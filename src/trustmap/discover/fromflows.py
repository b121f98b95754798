"""``discover_flows``: draft declarations from the flow database, without any declarations.

Requests are aggregated per endpoint pair, port, protocol, verdict and direction with one Ibis
expression (run on DuckDB). An endpoint becomes a draft service by its namespace and the name its
flows carry — a conventional name label (``app``, ``k8s-app``, …), else Hubble's ``workloads``,
else its pod name without the controller's hash suffix. Destinations' ports become interfaces,
requests between two drafts become dependencies with their counts and first/last seen as
evidence. DNS (declared once in the Organization), peers outside the cluster and anything whose
identity was not recorded are reported, never drafted.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import ibis

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.discover.assemble import ServiceBuilder, finish
from trustmap.discover.draft import Discovery, Evidence, FlowStats, Unresolved
from trustmap.discover.flowpeers import FlowEndpoint, Identity, identify
from trustmap.discover.interfaces import InterfaceBuilder, Interfaces
from trustmap.observe.observed import flows_table, open_flow_db

__all__ = ["discover_flows"]

_SIDE: Final = ("namespace", "workload", "pod", "service_account", "labels", "entity", "ip")
_KEYS: Final = (
    *(f"src_{c}" for c in _SIDE),
    *(f"dst_{c}" for c in _SIDE),
    "dst_names",
    "dst_port",
    "protocol",
    "verdict",
    "direction",
    "l7_protocol",
)
_EPHEMERAL: Final = 32768
"""Start of Linux's ephemeral port range: a flow of unknown direction *to* such a port is most
likely a reply seen without its request."""
_L7_NAMES: Final = ("grpc", "http", "kafka")


@dataclass(frozen=True, slots=True)
class _Row:
    src: FlowEndpoint
    dst: FlowEndpoint
    port: int | None
    protocol: str
    verdict: str
    direction: str
    l7: str | None
    count: int
    first: dt.datetime | None
    last: dt.datetime | None


@dataclass(slots=True)
class _Stats:
    count: int = 0
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    verdicts: Counter[str] = field(default_factory=Counter)

    def add(self, row: _Row) -> None:
        self.count += row.count
        self.verdicts[row.verdict or "UNKNOWN"] += row.count
        if row.first is not None and (self.first is None or row.first < self.first):
            self.first = row.first
        if row.last is not None and (self.last is None or row.last > self.last):
            self.last = row.last

    def frozen(self) -> FlowStats:
        return FlowStats(self.count, self.first, self.last, tuple(sorted(self.verdicts.items())))


@dataclass(slots=True)
class _Collected:
    """Requests sorted into what discovery makes of them."""

    edges: dict[tuple[str, str, int, str], _Stats] = field(default_factory=dict)
    """(caller, target, port, protocol) → requests."""
    ports: dict[tuple[str, int, str], tuple[_Stats, set[str]]] = field(default_factory=dict)
    """(target, port, protocol) → requests and L7 protocols seen."""
    outside: dict[tuple[str, str, str], _Stats] = field(default_factory=dict)
    """(caller, peer:port/protocol, why) → requests to peers that are not drafted."""
    from_outside: dict[tuple[str, int, str], _Stats] = field(default_factory=dict)
    """(target, port, protocol) → requests from outside the cluster."""
    skipped: Counter[str] = field(default_factory=Counter)
    used: set[str] = field(default_factory=set)
    """Refs of the drafts that kept requests involve."""


def discover_flows(db_path: Path, start: dt.datetime | None = None) -> Discovery:
    """Draft declarations from the requests in the flow database at ``db_path``.

    Args:
        db_path: database written by ``trustmap observe ingest``.
        start: only flows observed at or after this time (UTC); ``None`` for all.

    Raises:
        InputError: when the file is missing or is not a flow database.
    """
    rows = _rows(db_path, start)
    identities = identify([end for row in rows for end in (row.src, row.dst)])
    found = _Collected()
    for row in rows:
        why = _skip(row, identities)
        if why:
            found.skipped[why] += row.count
        else:
            _collect(row, identities, found)
    builders = _builders(identities, found)
    _depend(builders, found.edges)
    unresolved = _outside(found.outside)
    problems = [] if builders else [_nothing(db_path)]
    skipped = tuple(sorted(found.skipped.items()))
    return finish("flows", (str(db_path),), list(builders.values()), unresolved, skipped, problems)


def _skip(row: _Row, identities: dict[FlowEndpoint, Identity]) -> str | None:
    if row.port is None:
        return "no port (ICMP and other portless protocols)"
    if row.port == 53 and (row.dst.namespace == "kube-system" or row.l7 == "dns"):
        return "DNS (declare it once in the Organization's spec.dns)"
    if row.direction == "unknown" and row.port >= _EPHEMERAL:
        return "unknown direction to an ephemeral port (most likely a reply)"
    src = identities[row.src]
    if src.ref is None and not src.world:
        return "from a peer that is not a workload (host, node, health checks, unknown)"
    return None


def _collect(row: _Row, identities: dict[FlowEndpoint, Identity], found: _Collected) -> None:
    assert row.port is not None
    src, dst = identities[row.src], identities[row.dst]
    if dst.ref is None:
        if src.ref is None:
            found.skipped["from outside the cluster to a peer that is not a workload"] += row.count
            return
        found.used.add(src.ref)
        key = (src.ref, f"{dst.label}:{row.port}/{row.protocol}", dst.why)
        found.outside.setdefault(key, _Stats()).add(row)
        return
    if src.ref == dst.ref:
        found.skipped["within one service"] += row.count
        return
    stats, l7 = found.ports.setdefault((dst.ref, row.port, row.protocol), (_Stats(), set()))
    stats.add(row)
    if row.l7:
        l7.add(row.l7)
    found.used.add(dst.ref)
    if src.ref is None:
        found.from_outside.setdefault((dst.ref, row.port, row.protocol), _Stats()).add(row)
        return
    found.used.add(src.ref)
    found.edges.setdefault((src.ref, dst.ref, row.port, row.protocol), _Stats()).add(row)


def _builders(
    identities: dict[FlowEndpoint, Identity], found: _Collected
) -> dict[str, ServiceBuilder]:
    builders: dict[str, ServiceBuilder] = {}
    drafted = {i for i in identities.values() if i.ref in found.used}
    for ident in sorted(drafted, key=lambda i: i.ref or ""):
        builders[ident.ref or ""] = ServiceBuilder(
            namespace=ident.namespace,
            name=ident.name,
            pod_labels=ident.pod_labels,
            service_account=ident.service_account,
            interfaces=Interfaces(),
            evidence=[Evidence(f"observed {ident.seen}")],
            review=list(ident.review),
        )
    for (ref, port, protocol), (stats, l7) in sorted(found.ports.items()):
        app = next((name for name in _L7_NAMES if name in l7), None)
        iface = InterfaceBuilder(f"{app or protocol.lower()}-{port}", port, protocol, None, app)
        iface.evidence.append(
            Evidence(f"observed requests to {ref} port {port}/{protocol}", None, stats.frozen())
        )
        outside_calls = found.from_outside.get((ref, port, protocol))
        if outside_calls is not None:
            iface.review.append(
                f"called from outside the cluster ({outside_calls.count:,} requests): "
                "set exposure: world (or ingress) if that is intended"
            )
        builders[ref].interfaces.by_port[port, protocol] = iface
    return builders


def _depend(
    builders: dict[str, ServiceBuilder], edges: dict[tuple[str, str, int, str], _Stats]
) -> None:
    """Every edge a dependency of its caller and a consumer of its target's interface."""
    for (src, dst, port, protocol), stats in sorted(edges.items()):
        caller, target = builders[src], builders[dst]
        text = f"observed requests {src} → {dst} port {port}/{protocol}"
        iface = target.interfaces.by_port[port, protocol]
        caller.depend(target.ref, iface, Evidence(text, None, stats.frozen()))
        iface.consumers.add(caller.ref)


def _outside(outside: dict[tuple[str, str, str], _Stats]) -> list[Unresolved]:
    found = []
    for (src, reference, why), stats in sorted(outside.items()):
        evidence = Evidence(f"observed requests {src} → {reference}", None, stats.frozen())
        found.append(Unresolved(src, reference, evidence, why))
    return found


def _nothing(db_path: Path) -> Diagnostic:
    return diagnostic(
        "TM523",
        Span(str(db_path)),
        "no requests between identifiable workloads in the flow database, so there is nothing "
        "to draft",
        "ingest flows that carry pod identity (Hubble, Linkerd, CSV with namespaces and "
        "workloads), or widen the window",
    )


def _rows(db_path: Path, start: dt.datetime | None) -> list[_Row]:
    flows = flows_table()
    rows = flows.filter(flows.direction.isnull() | (flows.direction != "reply"))
    if start is not None:
        rows = rows.filter(rows.time >= start)
    expr = rows.group_by(list(_KEYS)).aggregate(
        count=rows["count"].sum(), first_seen=rows.time.min(), last_seen=rows.last_time.max()
    )
    sql = ibis.to_sql(expr, dialect="duckdb")
    with open_flow_db(db_path) as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        records = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    return sorted((_row(r) for r in records), key=_order)


def _endpoint(record: dict[str, Any], side: str, names: tuple[str, ...] = ()) -> FlowEndpoint:
    return FlowEndpoint(
        namespace=record[f"{side}_namespace"],
        workload=record[f"{side}_workload"],
        pod=record[f"{side}_pod"],
        service_account=record[f"{side}_service_account"],
        labels=tuple(sorted(record[f"{side}_labels"] or ())),
        entity=record[f"{side}_entity"],
        ip=record[f"{side}_ip"],
        names=names,
    )


def _row(record: dict[str, Any]) -> _Row:
    return _Row(
        src=_endpoint(record, "src"),
        dst=_endpoint(record, "dst", tuple(sorted(record["dst_names"] or ()))),
        port=record["dst_port"],
        protocol=record["protocol"] or "",
        verdict=record["verdict"] or "",
        direction=record["direction"] or "request",
        l7=record["l7_protocol"],
        count=int(record["count"] or 0),
        first=record["first_seen"],
        last=record["last_seen"] or record["first_seen"],
    )


def _order(row: _Row) -> tuple[str, ...]:
    return tuple(
        "" if value is None else str(value)
        for value in (row.src, row.dst, row.port, row.protocol, row.verdict, row.direction,
                      row.l7, row.first, row.last, row.count)
    )  # fmt: skip
