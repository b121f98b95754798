"""Renderings of a :class:`~trustmap.analysis.Connectivity` (``trustmap analyze``).

np-guard's connlist text, JSON (everything, with posture), CSV (the connlist lines plus the
policies behind each), DOT (a graph, namespaces as clusters) and a short posture text. All
outputs are deterministic: the same connectivity gives the same bytes. The connlist *lines*
themselves (:func:`trustmap.analysis.connlist_lines`) stay in ``analysis``: they are the
analysis's result in np-guard's notation, which ``verify`` and the tests compare line by line.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from trustmap.analysis.connectivity import Connectivity, IPFlow
from trustmap.analysis.connlist import connlist_lines, connlist_rows
from trustmap.analysis.ipranges import format_ip
from trustmap.analysis.objects import INGRESS_CONTROLLER
from trustmap.analysis.ports import PROTOCOLS, ConnSet
from trustmap.analysis.posture import NetpolExposure, Posture
from trustmap.bulk import building

__all__ = [
    "render_connlist",
    "render_csv",
    "render_dot",
    "render_json",
    "render_posture",
    "to_json_data",
]


def render_connlist(conn: Connectivity) -> str:
    """The whole connlist text (empty when nothing is allowed), one line per connection."""
    lines = connlist_lines(conn)
    return "\n".join(lines) + "\n" if lines else ""


def _ports(conns: ConnSet) -> dict[str, str]:
    """Protocol → ``80,8000-8090`` (inclusive ranges), for machines that skip the notation."""
    return {
        p: ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in conns.ports(p))
        for p in PROTOCOLS
        if conns.ports(p)
    }


@building()
def to_json_data(conn: Connectivity, posture: Posture | None = None) -> dict[str, Any]:
    """The connectivity (and posture) as plain JSON-ready data."""
    data: dict[str, Any] = {
        "workloads": [_workload(conn, w) for w in sorted(conn.workloads)],
        "connections": [
            {
                "src": src,
                "dst": dst,
                "conns": str(f.conns),
                "ports": _ports(f.conns),
                "egress_policies": list(f.egress_policies),
                "ingress_policies": list(f.ingress_policies),
                **({"backends": list(f.backends)} if f.backends else {}),
            }
            for (src, dst), f in sorted(conn.flows.items())
        ],
        "external": [_external(f) for f in conn.ip_flows],
    }
    if posture is not None:
        data["posture"] = _posture(posture)
    return data


def _workload(conn: Connectivity, wid: str) -> dict[str, Any]:
    w = conn.workloads[wid]
    return {
        "id": wid,
        "namespace": w.namespace,
        "name": w.name,
        "kind": w.kind,
        "labels": dict(w.labels),
        "ingress_policies": list(conn.ingress_policies.get(wid, ())),
        "egress_policies": list(conn.egress_policies.get(wid, ())),
    }


def _external(flow: IPFlow) -> dict[str, Any]:
    return {
        "direction": flow.direction,
        "workload": flow.workload,
        "first": format_ip(flow.first),
        "last": format_ip(flow.last),
        "conns": str(flow.conns),
        "ports": _ports(flow.conns),
        "policies": list(flow.policies),
    }


def _exposure(e: NetpolExposure) -> dict[str, Any]:
    return {"workload": e.workload, "conns": str(e.conns), "policies": list(e.policies)}


def _posture(p: Posture) -> dict[str, Any]:
    return {
        "workloads": p.workloads,
        "findings": p.findings,
        "ingress_unisolated": list(p.ingress_unisolated),
        "egress_unisolated": list(p.egress_unisolated),
        "namespaces_without_default_deny": [
            {
                "namespace": n.namespace,
                "default_deny_ingress": n.default_deny_ingress,
                "default_deny_egress": n.default_deny_egress,
            }
            for n in p.namespaces
        ],
        "cluster_wide_ingress": [_exposure(e) for e in p.cluster_wide],
        "internet_ingress": [_exposure(e) for e in p.internet_ingress],
        "internet_egress": [_exposure(e) for e in p.internet_egress],
    }


def render_json(conn: Connectivity, posture: Posture | None = None) -> str:
    """Indented JSON with sorted keys: workloads, connections, external ranges, posture."""
    return json.dumps(to_json_data(conn, posture), indent=2, sort_keys=True) + "\n"


def render_csv(conn: Connectivity) -> str:
    """The connlist lines as CSV: src, dst, conns, egress_policies, ingress_policies."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["src", "dst", "conns", "egress_policies", "ingress_policies"])
    for row in connlist_rows(conn):
        writer.writerow(
            [
                row.src,
                row.dst,
                str(row.conns),
                " ".join(row.egress_policies),
                " ".join(row.ingress_policies),
            ]
        )
    return out.getvalue()


def render_dot(conn: Connectivity) -> str:
    """A Graphviz digraph: one cluster per namespace, edges labelled with the connections."""
    rows = connlist_rows(conn)
    peers = sorted({r.src for r in rows} | {r.dst for r in rows} | set(conn.workloads))
    lines = ["digraph connectivity {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    by_ns: dict[str, list[str]] = {}
    for peer in peers:
        workload = conn.workloads.get(peer)
        if workload is not None:
            by_ns.setdefault(workload.namespace, []).append(peer)
    for i, (namespace, members) in enumerate(sorted(by_ns.items())):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label={_quote(namespace)};")
        lines.extend(f"    {_quote(m)} [label={_quote(conn.workloads[m].name)}];" for m in members)
        lines.append("  }")
    for peer in peers:
        if peer not in conn.workloads:
            shape = "ellipse" if peer == INGRESS_CONTROLLER else "octagon"
            lines.append(f"  {_quote(peer)} [shape={shape}];")
    lines.extend(
        f"  {_quote(r.src)} -> {_quote(r.dst)} [label={_quote(str(r.conns))}];" for r in rows
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_posture(p: Posture) -> str:
    """A short human report of the posture gaps."""
    lines = [f"posture: {p.workloads} workloads, {p.findings} findings"]
    sections: list[tuple[str, list[str]]] = [
        ("not isolated for ingress (anything may connect in)", list(p.ingress_unisolated)),
        ("not isolated for egress (may connect anywhere)", list(p.egress_unisolated)),
        (
            "namespaces without default deny",
            [_ns(n.namespace, n.default_deny_ingress, n.default_deny_egress) for n in p.namespaces],
        ),
        ("ingress open to every pod of every namespace", [_exp(e) for e in p.cluster_wide]),
        ("ingress open to all of 0.0.0.0/0", [_exp(e) for e in p.internet_ingress]),
        ("egress open to all of 0.0.0.0/0", [_exp(e) for e in p.internet_egress]),
    ]
    for title, items in sections:
        lines.append(f"{title}: {len(items)}")
        lines.extend(f"  {item}" for item in items)
    return "\n".join(lines) + "\n"


def _ns(name: str, ingress: bool, egress: bool) -> str:
    missing = [d for d, ok in (("ingress", ingress), ("egress", egress)) if not ok]
    return f"{name} (no default deny for {' and '.join(missing)})"


def _exp(e: NetpolExposure) -> str:
    why = f" via {', '.join(e.policies)}" if e.policies else " (not isolated)"
    return f"{e.workload} : {e.conns}{why}"
