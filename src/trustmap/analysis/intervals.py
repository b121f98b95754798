"""Sets of integers kept as sorted, disjoint, non-adjacent inclusive intervals.

Both port sets (1-65535 per protocol) and external address ranges (IPv4 as 32-bit integers) are
sets of this shape; one small algebra serves both, so neither needs per-port or per-address loops.
An interval set is a plain tuple of ``(low, high)`` pairs so that it hashes, compares and interns
cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "Intervals",
    "complement",
    "contains",
    "difference",
    "intersect",
    "normalize",
    "union",
]

Intervals = tuple[tuple[int, int], ...]
"""Sorted, disjoint, non-adjacent inclusive ``(low, high)`` pairs."""


def normalize(pairs: Iterable[tuple[int, int]]) -> Intervals:
    """Sort and merge overlapping or adjacent pairs; pairs with ``low > high`` are dropped."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(p for p in pairs if p[0] <= p[1]):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return tuple(merged)


def union(a: Intervals, b: Intervals) -> Intervals:
    """All values in ``a`` or ``b``."""
    if not a:
        return b
    if not b or a == b:
        return a
    return normalize(a + b)


def intersect(a: Intervals, b: Intervals) -> Intervals:
    """Values in both ``a`` and ``b`` (a linear merge of the two sorted lists)."""
    if not a or not b:
        return ()
    if a == b:
        return a
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        low = max(a[i][0], b[j][0])
        high = min(a[i][1], b[j][1])
        if low <= high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def complement(a: Intervals, low: int, high: int) -> Intervals:
    """Values of ``[low, high]`` that are not in ``a``."""
    out: list[tuple[int, int]] = []
    cursor = low
    for start, end in a:
        if end < low or start > high:
            continue
        if start > cursor:
            out.append((cursor, start - 1))
        cursor = max(cursor, end + 1)
    if cursor <= high:
        out.append((cursor, high))
    return tuple(out)


def difference(a: Intervals, b: Intervals) -> Intervals:
    """Values in ``a`` but not in ``b``."""
    if not a or not b:
        return a
    return intersect(a, complement(b, a[0][0], a[-1][1]))


def contains(a: Intervals, value: int) -> bool:
    """Whether ``value`` lies in one of the intervals."""
    return any(low <= value <= high for low, high in a)
