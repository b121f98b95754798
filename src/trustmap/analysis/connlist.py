"""np-guard's connlist text: one ``SRC => DST : CONNS`` line per allowed connection, sorted.

Flows with external addresses are printed per elementary range of the direction's partition
(adjacent ranges with equal connections are *not* merged), exactly as np-guard does, so the
output can be compared line for line with its connlist output. :func:`connlist_rows` gives the
same lines as records (with the policies behind each) for the CSV and JSON renderers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from trustmap.analysis.connectivity import Connectivity, IPFlow
from trustmap.analysis.ipranges import format_range
from trustmap.analysis.ports import ConnSet
from trustmap.bulk import building

__all__ = ["ConnRow", "connlist_lines", "connlist_rows"]


@dataclass(frozen=True, slots=True, order=True)
class ConnRow:
    """One connlist line as a record."""

    src: str
    dst: str
    conns: ConnSet
    egress_policies: tuple[str, ...] = ()
    ingress_policies: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.src} => {self.dst} : {self.conns}"


def _external(conn: Connectivity) -> Iterator[tuple[str, str, IPFlow]]:
    """``(src, dst, flow)`` per elementary range of each external flow."""
    for flow in conn.ip_flows:
        cuts = conn.ingress_partition if flow.direction == "ingress" else conn.egress_partition
        for index in range(cuts.index_of(flow.first), cuts.index_of(flow.last) + 1):
            peer = f"{format_range(*cuts.bounds(index))}[External]"
            if flow.direction == "ingress":
                yield peer, flow.workload, flow
            else:
                yield flow.workload, peer, flow


@building()
def connlist_rows(conn: Connectivity) -> list[ConnRow]:
    """Every connlist line as a record, sorted by source then destination."""
    rows = [
        ConnRow(src, dst, f.conns, f.egress_policies, f.ingress_policies)
        for (src, dst), f in conn.flows.items()
    ]
    for src, dst, flow in _external(conn):
        ingress = flow.direction == "ingress"
        rows.append(
            ConnRow(
                src,
                dst,
                flow.conns,
                () if ingress else flow.policies,
                flow.policies if ingress else (),
            )
        )
    rows.sort(key=lambda r: (r.src, r.dst))
    return rows


@building()
def connlist_lines(conn: Connectivity) -> list[str]:
    """The connlist lines, sorted by source then destination."""
    rows = [(src, dst, flow.conns) for (src, dst), flow in conn.flows.items()]
    rows.extend((src, dst, flow.conns) for src, dst, flow in _external(conn))
    rows.sort(key=lambda r: (r[0], r[1]))
    texts: dict[ConnSet, str] = {}
    lines = []
    for src, dst, conns in rows:
        text = texts.get(conns)
        if text is None:
            text = texts[conns] = str(conns)
        lines.append(f"{src} => {dst} : {text}")
    return lines
