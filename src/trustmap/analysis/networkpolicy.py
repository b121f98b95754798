"""Parsing and validating NetworkPolicy objects into :class:`NetworkPolicy` values.

Validation follows the Kubernetes API server (selectors, ports, protocols, ipBlock CIDRs and
excepts, policyTypes) plus np-guard's extra rules (a named port cannot apply to an ipBlock
destination). A policy with any error is reported and left out of the analysis.
"""

from __future__ import annotations

import re
from typing import Any, cast

from trustmap.analysis import intervals
from trustmap.analysis.ipranges import parse_cidr
from trustmap.analysis.objects import (
    IPBlockPeer,
    NetpolPolicy,
    Origin,
    Peer,
    PodPeer,
    PortSpec,
    Rule,
)
from trustmap.analysis.ports import MAX_PORT, MIN_PORT, PROTOCOLS, Protocol
from trustmap.analysis.selectors import Selector, parse_selector
from trustmap.kube.fields import Here, mapping, not_a, sequence, suggest, type_name, unknown_fields

__all__ = ["parse_network_policy"]

_SPEC_FIELDS = ("podSelector", "ingress", "egress", "policyTypes")
_PEER_FIELDS = ("podSelector", "namespaceSelector", "ipBlock")
_PORT_FIELDS = ("protocol", "port", "endPort")
_IPBLOCK_FIELDS = ("cidr", "except")
_POLICY_TYPES = ("Ingress", "Egress")
_IPV6 = (-1, -1)
"""Stand-in range for an IPv6 block (not modelled)."""
_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")


def parse_network_policy(
    raw: dict[str, Any], name: str, namespace: str, origin: Origin, cur: Here
) -> NetpolPolicy | None:
    """Build a policy from a raw object; ``None`` (with problems reported) when it is invalid."""
    mark = cur.mark()
    spec_cur = cur.at("spec")
    spec = mapping(raw, "spec", cur) or {}
    unknown_fields(spec, _SPEC_FIELDS, spec_cur)
    selector = parse_selector(spec.get("podSelector"), spec_cur.at("podSelector"))
    ingress = _rules(spec, "ingress", spec_cur)
    egress = _rules(spec, "egress", spec_cur)
    types = _policy_types(spec, egress, spec_cur)
    if cur.errors_since(mark) or selector is None:
        return None
    return NetpolPolicy(
        namespace,
        name,
        selector,
        ingress,
        egress,
        isolates_ingress="Ingress" in types,
        isolates_egress="Egress" in types,
        origin=origin,
    )


def _policy_types(spec: dict[str, Any], egress: tuple[Rule, ...], cur: Here) -> set[str]:
    listed = sequence(spec, "policyTypes", cur)
    if not listed:
        return {"Ingress", "Egress"} if egress else {"Ingress"}
    found = set()
    for i, value in enumerate(listed):
        if value in _POLICY_TYPES:
            found.add(cast(str, value))
        else:
            cur.at("policyTypes", i).report(
                "TM609",
                f"invalid policy type {value!r}{suggest(value, _POLICY_TYPES)}",
                "policyTypes may hold only Ingress and Egress",
            )
    return found


def _rules(spec: dict[str, Any], direction: str, cur: Here) -> tuple[Rule, ...]:
    rules = []
    for i, raw in enumerate(sequence(spec, direction, cur) or []):
        rule = _rule(raw, i, direction, cur.at(direction, i))
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _rule(raw: Any, index: int, direction: str, cur: Here) -> Rule | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        not_a(cur, "mapping", raw)
        return None
    peer_key = "from" if direction == "ingress" else "to"
    unknown_fields(raw, (peer_key, "ports"), cur)
    raw_peers = sequence(raw, peer_key, cur)
    raw_ports = sequence(raw, "ports", cur)
    peers = tuple(_peer(p, cur.at(peer_key, i)) for i, p in enumerate(raw_peers or []))
    ports = tuple(_port(p, cur.at("ports", i)) for i, p in enumerate(raw_ports or []))
    if any(p is None for p in peers) or any(p is None for p in ports):
        return None
    rule = Rule(
        cast(tuple[Peer, ...], peers) if peers else None,
        cast(tuple[PortSpec, ...], ports) if ports else None,
        index,
    )
    if direction == "egress":
        _check_named_ports_to_ipblock(rule, cur)
    return rule


def _check_named_ports_to_ipblock(rule: Rule, cur: Here) -> None:
    named = [p.port for p in rule.ports or () if isinstance(p.port, str)]
    if named and any(isinstance(p, IPBlockPeer) for p in rule.peers or ()):
        cur.report(
            "TM603",
            f"named port {named[0]!r} in a rule whose destination is an ipBlock",
            "an IP address has no container port names: give the port number instead",
        )


def _peer(raw: Any, cur: Here) -> Peer | None:
    if not isinstance(raw, dict):
        not_a(cur, "mapping", raw)
        return None
    unknown_fields(raw, _PEER_FIELDS, cur)
    has_selector = raw.get("podSelector") is not None or raw.get("namespaceSelector") is not None
    if raw.get("ipBlock") is not None:
        if has_selector:
            cur.report(
                "TM602",
                "a peer may not combine ipBlock with podSelector or namespaceSelector",
                "split it into two peers of the list",
            )
            return None
        return _ip_block(raw["ipBlock"], cur.at("ipBlock"))
    if not has_selector:
        cur.report(
            "TM612",
            "peer has none of podSelector, namespaceSelector, ipBlock",
            "give a selector or an ipBlock; to allow every peer omit the whole from/to list",
        )
        return None
    return _pod_peer(raw, cur)


def _pod_peer(raw: dict[str, Any], cur: Here) -> PodPeer | None:
    ns_sel: Selector | None = None
    pod_sel: Selector | None = None
    if raw.get("namespaceSelector") is not None:
        ns_sel = parse_selector(raw["namespaceSelector"], cur.at("namespaceSelector"))
        if ns_sel is None:
            return None
    if raw.get("podSelector") is not None:
        pod_sel = parse_selector(raw["podSelector"], cur.at("podSelector"))
        if pod_sel is None:
            return None
    return PodPeer(ns_sel, pod_sel)


def _ip_block(raw: Any, cur: Here) -> IPBlockPeer | None:
    if not isinstance(raw, dict):
        not_a(cur, "mapping", raw)
        return None
    unknown_fields(raw, _IPBLOCK_FIELDS, cur)
    cidr = raw.get("cidr")
    block = _cidr(cidr, cur.at("cidr"))
    excepts = sequence(raw, "except", cur) or []
    if block is None:
        return None
    removed = []
    for i, text in enumerate(excepts):
        hole = _except(text, block, str(cidr), cur.at("except", i))
        if hole is None:
            return None
        removed.append(hole)
    if block == _IPV6:
        cur.report("TM614", f"IPv6 ipBlock {cidr} is not modelled", "only IPv4 ranges are analysed")
        return IPBlockPeer(str(cidr), tuple(map(str, excepts)), ())
    addresses = intervals.difference((block,), intervals.normalize(removed))
    return IPBlockPeer(str(cidr), tuple(map(str, excepts)), addresses)


def _cidr(text: Any, cur: Here) -> tuple[int, int] | None:
    if not isinstance(text, str):
        cur.report(
            "TM601",
            f"ipBlock cidr must be a CIDR string, got {type_name(text)}",
            "write an IPv4 CIDR such as 10.0.0.0/8",
        )
        return None
    try:
        block = parse_cidr(text)
    except ValueError as exc:
        cur.report(
            "TM601", f"invalid CIDR {text!r}: {exc}", "write an IPv4 CIDR such as 10.0.0.0/8"
        )
        return None
    return _IPV6 if block is None else block


def _except(text: Any, block: tuple[int, int], cidr: str, cur: Here) -> tuple[int, int] | None:
    hole = _cidr(text, cur)
    if hole is None:
        return None
    if (hole == _IPV6) != (block == _IPV6):
        cur.report(
            "TM601",
            "ipBlock mixes IPv4 and IPv6 in cidr and except",
            "keep cidr and its except ranges in one address family",
        )
        return None
    if block != _IPV6 and (not (block[0] <= hole[0] and hole[1] <= block[1]) or hole == block):
        cur.report(
            "TM611",
            f"except {text!r} is not a strict subset of cidr {cidr!r}",
            "each except range must lie inside the cidr and be smaller than it",
        )
        return None
    return hole


def _port(raw: Any, cur: Here) -> PortSpec | None:
    if not isinstance(raw, dict):
        not_a(cur, "mapping", raw)
        return None
    unknown_fields(raw, _PORT_FIELDS, cur)
    protocol = _protocol(raw.get("protocol", "TCP"), cur.at("protocol"))
    valid, port = _port_value(raw.get("port"), cur.at("port"))
    end = raw.get("endPort")
    if protocol is None or not valid:
        return None
    if end is None:
        return PortSpec(protocol, port)
    return _port_range(protocol, port, end, cur.at("endPort"))


def _port_range(protocol: Protocol, port: int | str | None, end: Any, cur: Here) -> PortSpec | None:
    if not isinstance(port, int):
        what = f"the named port {port!r}" if port is not None else "no port"
        cur.report(
            "TM605",
            f"endPort is given with {what}",
            "endPort needs a numeric port: give the first port number of the range",
        )
        return None
    if isinstance(end, bool) or not isinstance(end, int) or not port <= end <= MAX_PORT:
        cur.report(
            "TM607",
            f"endPort {end!r} must be a number from port ({port}) to {MAX_PORT}",
            "endPort is the last port of the range: at least port, at most 65535",
        )
        return None
    return PortSpec(protocol, port, end)


def _protocol(value: Any, cur: Here) -> Protocol | None:
    if value in PROTOCOLS:
        return cast(Protocol, value)
    cur.report(
        "TM608",
        f"unknown protocol {value!r}{suggest(value, PROTOCOLS)}",
        "use TCP, UDP or SCTP (upper case)",
    )
    return None


def _port_value(value: Any, cur: Here) -> tuple[bool, int | str | None]:
    """Whether the port is valid (problems are reported), and the port."""
    if value is None:
        return True, None
    if isinstance(value, bool) or not isinstance(value, int | str):
        cur.report(
            "TM607",
            f"port must be a number or a port name, got {type_name(value)}",
            "write a port number such as 8080 or a container port name such as http",
        )
        return False, None
    if isinstance(value, int):
        if MIN_PORT <= value <= MAX_PORT:
            return True, value
        cur.report("TM607", f"port {value} is out of range", f"use {MIN_PORT}-{MAX_PORT}")
        return False, None
    if _SVC_NAME.match(value) and "--" not in value and any(c.isalpha() for c in value):
        return True, value
    cur.report(
        "TM607",
        f"invalid port name {value!r}",
        "a port name has 1-15 characters a-z, 0-9 and '-' with at least one letter; "
        "write numbers without quotes",
    )
    return False, None
