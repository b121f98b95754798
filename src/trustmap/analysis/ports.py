"""Connection sets: for each protocol (SCTP, TCP, UDP) the set of allowed ports as intervals.

NetworkPolicy rules, named-port resolution, Service target ports and the final allowed
connectivity are all values of :class:`ConnSet`; union and intersection work on whole port
ranges, so ``endPort`` ranges and "all ports" cost no more than a single port.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from trustmap.analysis import intervals
from trustmap.analysis.intervals import Intervals

__all__ = [
    "ALL_CONNS",
    "ALL_PORTS",
    "MAX_PORT",
    "MIN_PORT",
    "NO_CONNS",
    "PROTOCOLS",
    "ConnSet",
    "Protocol",
]

Protocol = Literal["SCTP", "TCP", "UDP"]
PROTOCOLS: tuple[Protocol, ...] = ("SCTP", "TCP", "UDP")
"""The modelled protocols in np-guard's print order (ICMP is not modelled)."""
MIN_PORT = 1
MAX_PORT = 65535
ALL_PORTS: Intervals = ((MIN_PORT, MAX_PORT),)

_GROUP = re.compile(r"^(SCTP|TCP|UDP) (.+)$")


@dataclass(frozen=True, slots=True)
class ConnSet:
    """Allowed ports per protocol; the empty set means no connection."""

    sctp: Intervals = ()
    """SCTP ports."""
    tcp: Intervals = ()
    """TCP ports."""
    udp: Intervals = ()
    """UDP ports."""

    @staticmethod
    def of(protocol: Protocol, low: int = MIN_PORT, high: int = MAX_PORT) -> ConnSet:
        """The ports ``low..high`` of one protocol (all its ports by default)."""
        return ConnSet(**{protocol.lower(): intervals.normalize([(low, high)])})

    def ports(self, protocol: Protocol) -> Intervals:
        """The port intervals allowed for ``protocol``."""
        return {"SCTP": self.sctp, "TCP": self.tcp, "UDP": self.udp}[protocol]

    def __bool__(self) -> bool:
        return bool(self.sctp or self.tcp or self.udp)

    def __or__(self, other: ConnSet) -> ConnSet:
        return _union(self, other)

    def __and__(self, other: ConnSet) -> ConnSet:
        return _intersect(self, other)

    def __sub__(self, other: ConnSet) -> ConnSet:
        return ConnSet(
            intervals.difference(self.sctp, other.sctp),
            intervals.difference(self.tcp, other.tcp),
            intervals.difference(self.udp, other.udp),
        )

    def is_all(self) -> bool:
        """Whether every port of every modelled protocol is allowed."""
        return self.sctp == ALL_PORTS and self.tcp == ALL_PORTS and self.udp == ALL_PORTS

    def allows(self, protocol: Protocol, port: int) -> bool:
        """Whether one port of one protocol is allowed."""
        return intervals.contains(self.ports(protocol), port)

    def __str__(self) -> str:
        """np-guard's notation: ``All Connections`` or ``TCP 80,8000-8090,UDP 53``."""
        if self.is_all():
            return "All Connections"
        if not self:
            return "No Connections"
        groups = []
        for protocol in PROTOCOLS:
            ports = self.ports(protocol)
            if ports:
                groups.append(f"{protocol} {_format_ports(ports)}")
        return ",".join(groups)

    @staticmethod
    def parse(text: str) -> ConnSet:
        """Read np-guard's notation back (the inverse of ``str``).

        Raises:
            ValueError: the text is not in that notation.
        """
        text = text.strip()
        if text == "All Connections":
            return ALL_CONNS
        if text == "No Connections":
            return NO_CONNS
        found: dict[str, list[tuple[int, int]]] = {}
        current: str | None = None
        for token in text.split(","):
            match = _GROUP.match(token)
            if match:
                current, token = match.group(1), match.group(2)
            if current is None:
                raise ValueError(f"port list {text!r} does not start with a protocol")
            found.setdefault(current, []).append(_parse_range(token))
        return ConnSet(
            **{proto.lower(): intervals.normalize(pairs) for proto, pairs in found.items()}
        )


def _format_ports(ports: Intervals) -> str:
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in ports)


def _parse_range(token: str) -> tuple[int, int]:
    low, _, high = token.strip().partition("-")
    return int(low), int(high or low)


@lru_cache(maxsize=65536)
def _union(a: ConnSet, b: ConnSet) -> ConnSet:
    return ConnSet(
        intervals.union(a.sctp, b.sctp),
        intervals.union(a.tcp, b.tcp),
        intervals.union(a.udp, b.udp),
    )


@lru_cache(maxsize=65536)
def _intersect(a: ConnSet, b: ConnSet) -> ConnSet:
    return ConnSet(
        intervals.intersect(a.sctp, b.sctp),
        intervals.intersect(a.tcp, b.tcp),
        intervals.intersect(a.udp, b.udp),
    )


ALL_CONNS = ConnSet(ALL_PORTS, ALL_PORTS, ALL_PORTS)
"""Every port of every modelled protocol."""
NO_CONNS = ConnSet()
"""Nothing allowed."""
