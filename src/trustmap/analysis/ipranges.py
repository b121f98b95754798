"""External IPv4 address ranges: CIDR parsing, the elementary partition, dotted-range printing.

``ipBlock`` peers only ever match addresses outside the cluster. np-guard reports them per
*elementary* range: the address space ``0.0.0.0/0`` cut at every boundary of every ipBlock of one
direction. A :class:`Partition` holds those cuts and maps any aligned interval set to index spans,
so per-workload work is proportional to the number of rules, not of addresses or ranges.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from trustmap.analysis.intervals import Intervals

__all__ = [
    "IPV4_MAX",
    "IPV4_UNIVERSE",
    "Partition",
    "format_ip",
    "format_range",
    "parse_cidr",
]

IPV4_MAX = 2**32 - 1
IPV4_UNIVERSE: Intervals = ((0, IPV4_MAX),)
"""``0.0.0.0/0`` as an interval set."""


def parse_cidr(text: str) -> tuple[int, int] | None:
    """``(first, last)`` address of an IPv4 CIDR; ``None`` for an IPv6 one.

    Host bits are allowed and ignored, as the Kubernetes API does.

    Raises:
        ValueError: the text is not a CIDR (``a.b.c.d/n``).
    """
    if "/" not in text:
        raise ValueError("expected an address and a prefix length such as 10.0.0.0/8")
    network = ipaddress.ip_network(text.strip(), strict=False)
    if network.version != 4:
        return None
    return int(network.network_address), int(network.broadcast_address)


def format_ip(value: int) -> str:
    """Dotted-quad text of a 32-bit address."""
    return str(ipaddress.IPv4Address(value))


def format_range(low: int, high: int) -> str:
    """np-guard's ``A.B.C.D-E.F.G.H`` for an inclusive range."""
    return f"{format_ip(low)}-{format_ip(high)}"


@dataclass(frozen=True, slots=True)
class Partition:
    """The address space cut into elementary ranges; ``starts[i]`` opens range ``i``."""

    starts: tuple[int, ...]
    """Sorted first addresses; ``starts[0] == 0``."""

    @staticmethod
    def of(blocks: Iterable[Intervals]) -> Partition:
        """Cut ``0.0.0.0/0`` at every boundary of every interval of every block."""
        cuts = {0}
        for block in blocks:
            for low, high in block:
                cuts.add(low)
                if high < IPV4_MAX:
                    cuts.add(high + 1)
        return Partition(tuple(sorted(cuts)))

    def __len__(self) -> int:
        return len(self.starts)

    def bounds(self, index: int) -> tuple[int, int]:
        """First and last address of elementary range ``index``."""
        last = self.starts[index + 1] - 1 if index + 1 < len(self.starts) else IPV4_MAX
        return self.starts[index], last

    def index_of(self, address: int) -> int:
        """Index of the elementary range holding ``address``."""
        return bisect_right(self.starts, address) - 1

    def index_spans(self, block: Intervals) -> list[tuple[int, int]]:
        """Elementary index spans ``(first, last)`` covering an aligned interval set."""
        spans = []
        for low, high in block:
            first = bisect_right(self.starts, low) - 1
            last = bisect_right(self.starts, high) - 1
            spans.append((first, last))
        return spans
