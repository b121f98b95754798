"""Union of overlapping rules, done once per group of identically-selected pods.

The allowed connections into a pod are the union of the rules that select it; rules overlap, so
the peers are split into *regions* (disjoint class bitsets) that each get one connection set and
the policies that contributed to it. The same is done along the address axis as *segments* of
elementary ranges, with a sweep over rule boundaries instead of a walk over every range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from trustmap.analysis.ports import ConnSet

__all__ = ["Contribution", "Region", "Segment", "refine", "sweep"]

Contribution = tuple[tuple[int, ConnSet], ...]
"""Per contributing policy index, the connections its rules allow (sorted by policy)."""


@dataclass(frozen=True, slots=True)
class Region:
    """Peers (class bitset) that get the same connections from the same policies."""

    bits: int
    conns: ConnSet
    contribution: Contribution


@dataclass(frozen=True, slots=True)
class Segment:
    """Elementary address ranges ``first..last`` (indices) with one outcome."""

    first: int
    last: int
    conns: ConnSet
    contribution: Contribution


def merge(a: Contribution, b: Contribution) -> Contribution:
    """Union of two contributions, per policy."""
    if not a:
        return b
    if not b or a == b:
        return a
    table = dict(a)
    for policy, conns in b:
        table[policy] = table[policy] | conns if policy in table else conns
    return tuple(sorted(table.items(), key=lambda item: item[0]))


def refine(rules: Iterable[tuple[int, ConnSet, int]]) -> list[Region]:
    """Disjoint regions from ``(peers bitset, conns, policy index)`` contributions."""
    regions: list[Region] = []
    for bits, conns, policy in rules:
        if bits and conns:
            regions = _add(regions, bits, conns, ((policy, conns),))
    return _compact(regions)


def _add(regions: list[Region], bits: int, conns: ConnSet, contrib: Contribution) -> list[Region]:
    out: list[Region] = []
    rest = bits
    for region in regions:
        inter = region.bits & bits
        if not inter:
            out.append(region)
            continue
        out.append(Region(inter, region.conns | conns, merge(region.contribution, contrib)))
        outside = region.bits & ~bits
        if outside:
            out.append(Region(outside, region.conns, region.contribution))
        rest &= ~region.bits
    if rest:
        out.append(Region(rest, conns, contrib))
    return out


def _compact(regions: list[Region]) -> list[Region]:
    by_outcome: dict[tuple[ConnSet, Contribution], int] = {}
    for region in regions:
        key = (region.conns, region.contribution)
        by_outcome[key] = by_outcome.get(key, 0) | region.bits
    return [Region(bits, conns, contrib) for (conns, contrib), bits in by_outcome.items()]


def sweep(spans: Sequence[tuple[int, int, ConnSet, Contribution]]) -> list[Segment]:
    """Union of index spans ``(first, last, conns, contribution)`` as maximal segments."""
    events: dict[int, list[tuple[int, int]]] = {}
    for k, (first, last, conns, _) in enumerate(spans):
        if conns:
            events.setdefault(first, []).append((1, k))
            events.setdefault(last + 1, []).append((-1, k))
    active: dict[int, int] = {}
    segments: list[Segment] = []
    points = sorted(events)
    for position, following in pairwise(points):
        for delta, k in events[position]:
            active[k] = active.get(k, 0) + delta
            if not active[k]:
                del active[k]
        if active:
            _append(segments, position, following - 1, [spans[k] for k in sorted(active)])
    return segments


def _append(
    segments: list[Segment],
    first: int,
    last: int,
    spans: list[tuple[int, int, ConnSet, Contribution]],
) -> None:
    conns, contrib = spans[0][2], spans[0][3]
    for span in spans[1:]:
        conns, contrib = conns | span[2], merge(contrib, span[3])
    previous = segments[-1] if segments else None
    if (
        previous is not None
        and previous.last + 1 == first
        and previous.conns == conns
        and previous.contribution == contrib
    ):
        segments[-1] = Segment(previous.first, last, conns, contrib)
    else:
        segments.append(Segment(first, last, conns, contrib))
