"""How verify findings print connections and address ranges: ``8080/TCP``, ``0.0.0.0/0``."""

from __future__ import annotations

import ipaddress

from trustmap.analysis import ConnSet
from trustmap.analysis.ports import ALL_PORTS, PROTOCOLS

__all__ = ["conns_text", "range_text"]

_MAX_BLOCKS = 4


def conns_text(conns: ConnSet) -> str:
    """``8080/TCP``, ``53/UDP, 53/TCP``, ``all TCP ports`` or ``all ports``."""
    if conns.is_all():
        return "all ports"
    parts = []
    for protocol in PROTOCOLS:
        ports = conns.ports(protocol)
        if ports == ALL_PORTS:
            parts.append(f"all {protocol} ports")
        else:
            parts += [_interval(low, high, protocol) for low, high in ports]
    return ", ".join(parts)


def _interval(low: int, high: int, protocol: str) -> str:
    return f"{low}/{protocol}" if low == high else f"{low}-{high}/{protocol}"


def range_text(first: int, last: int) -> str:
    """An IPv4 range as CIDR blocks, e.g. ``0.0.0.0/0`` or ``10.0.0.0/8, 11.0.0.0/8``."""
    blocks = [
        str(net)
        for net in ipaddress.summarize_address_range(
            ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)
        )
    ]
    if len(blocks) > _MAX_BLOCKS:
        shown = ", ".join(blocks[:_MAX_BLOCKS])
        return f"{shown} and {len(blocks) - _MAX_BLOCKS} more blocks"
    return ", ".join(blocks)
