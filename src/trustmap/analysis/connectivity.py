"""The result of an analysis: who may connect to whom, on which ports, and because of what.

:class:`Connectivity` is what ``analyze`` returns and what every renderer, ``posture`` and
``verify`` read. Workload-to-workload flows are keyed by peer names (``ns/name[Kind]`` and
``{ingress-controller}``); flows to and from external addresses are kept as maximal address
ranges with one connection set each, together with the elementary partitions that np-guard
prints them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from trustmap.analysis.ipranges import Partition
from trustmap.analysis.objects import Workload
from trustmap.analysis.ports import NO_CONNS, ConnSet

__all__ = ["Connectivity", "Direction", "Flow", "IPFlow"]

Direction = Literal["ingress", "egress"]
_WHOLE = Partition((0,))


@dataclass(frozen=True, slots=True)
class Flow:
    """What one peer may open to another, and why."""

    conns: ConnSet
    """Allowed protocols and ports (never empty)."""
    egress_policies: tuple[str, ...] = ()
    """``ns/name`` of the policies whose egress rules allow it; empty when the source is not
    isolated for egress (everything is allowed out)."""
    ingress_policies: tuple[str, ...] = ()
    """``ns/name`` of the policies whose ingress rules allow it; empty when the destination is
    not isolated for ingress."""
    backends: tuple[str, ...] = ()
    """For ``{ingress-controller}`` flows: the Ingress/Route objects that route to the target."""


@dataclass(frozen=True, slots=True)
class IPFlow:
    """Connections between a workload and one range of external addresses."""

    direction: Direction
    """``ingress``: from the range into the workload; ``egress``: from the workload to it."""
    workload: str
    """Workload id ``ns/name[Kind]``."""
    first: int
    """First address of the range (IPv4 as an integer)."""
    last: int
    """Last address of the range, inclusive."""
    conns: ConnSet
    policies: tuple[str, ...] = ()
    """Policies that allow it; empty when that side is not isolated."""


@dataclass(frozen=True, slots=True)
class Connectivity:
    """Allowed connectivity between workloads and with external address ranges."""

    workloads: Mapping[str, Workload] = field(default_factory=dict)
    """Every workload by id (``{ingress-controller}`` is a peer name, not a workload)."""
    flows: Mapping[tuple[str, str], Flow] = field(default_factory=dict)
    """``(source, destination)`` peer names → allowed flow; absent pairs allow nothing."""
    ip_flows: tuple[IPFlow, ...] = ()
    """Maximal ranges per (direction, workload) with one connection set and policy set each."""
    ingress_partition: Partition = _WHOLE
    """Elementary source ranges (cuts of all ingress ipBlocks), as np-guard prints them."""
    egress_partition: Partition = _WHOLE
    """Elementary destination ranges (cuts of all egress ipBlocks)."""
    ingress_policies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Workload id → policies selecting it for ingress (absent or empty: not isolated)."""
    egress_policies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Workload id → policies selecting it for egress (absent or empty: not isolated)."""

    def allowed(self, source: str, destination: str) -> ConnSet:
        """Connections allowed from one peer to another (empty when none)."""
        flow = self.flows.get((source, destination))
        return flow.conns if flow is not None else NO_CONNS

    def is_isolated(self, workload: str, direction: Direction) -> bool:
        """Whether some policy selects the workload for that direction."""
        table = self.ingress_policies if direction == "ingress" else self.egress_policies
        return bool(table.get(workload))
