"""Hubble's default ``compact`` text output (``hubble observe`` without ``-o``).

::

    May  4 13:23:40.501: default/tiefighter:42690 -> default/deathstar-c74d84667-cx5kp:80 \
        http-request FORWARDED (HTTP/1.1 POST http://deathstar.default.svc.cluster.local/v1/x)

Newer Hubble versions add ``[node]`` after the time and the security identity after each peer
(``(ID:1234)``, or a reserved name such as ``(world)``). The printer already swaps replies
(``<-``): the left peer is the client. ``<>`` means the direction is unknown, so the peers are in
packet order and a SYN-ACK is swapped like in the JSON parser. The text has no labels, service
accounts or year: timestamps take ``ctx.year``. Prefer JSON when you can.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterator
from typing import Final

from trustmap.observe.formats.base import Bad, Lines, ParseContext, decode
from trustmap.observe.formats.hubble import split_url
from trustmap.observe.record import VERDICTS, Direction, FlowRecord, Peer, parse_time

__all__ = ["parse"]

_LINE: Final = re.compile(
    r"^(?P<time>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+)"
    r"(?: \[(?P<node>[^\]]+)\])?: "
    r"(?P<src>\S+)(?: \((?P<src_id>[^)]*)\))? (?P<arrow>->|<-|<>) "
    r"(?P<dst>\S+)(?: \((?P<dst_id>[^)]*)\))? "
    r"(?P<type>.+?) (?P<verdict>[A-Z_]+) \((?P<summary>.*)\)$"
)
_POLICY_VERDICTS: Final = {"ALLOWED": "FORWARDED", "DENIED": "DROPPED", "AUDITED": "AUDIT"}
_DROP_TEXT: Final = {
    "Policy denied by denylist": "POLICY_DENY",
    "Authentication required": "AUTH_REQUIRED",
    "Invalid source ip": "INVALID_SOURCE_IP",
}
_HTTP_REQUEST: Final = re.compile(r"^HTTP/\S+ (?P<method>[A-Z]+) (?P<url>\S+)")
_HTTP_RESPONSE: Final = re.compile(
    r"^HTTP/\S+ (?P<code>\d{3}) \S+ \((?P<method>[A-Z]+) (?P<url>\S+)\)"
)
_DNS_QUERY: Final = re.compile(r"^DNS Query (?P<query>\S+) (?P<qtypes>\S+)")
_DNS_ANSWER: Final = re.compile(r"\(Proxy (?P<query>\S+) (?P<qtypes>\S+)\)$")
_L4: Final = re.compile(r"^(?P<proto>TCP|UDP|SCTP|ICMPv4|ICMPv6)\b(?: Flags: (?P<flags>.*))?")
_HINT: Final = "expected 'TIME: SRC -> DST TYPE VERDICT (SUMMARY)' as printed by 'hubble observe'"


def parse(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    """Hubble compact lines → records; bad lines are reported to ``ctx``."""
    for number, raw in lines:
        try:
            text = decode(raw)
            if not text.strip():
                continue
            yield _record(text, ctx)
        except Bad as err:
            ctx.malformed(number, str(err), _HINT)


def _record(text: str, ctx: ParseContext) -> FlowRecord:
    match = _LINE.match(text)
    if match is None:
        raise Bad("not a Hubble compact flow line")
    kind = match["type"]
    verdict = _POLICY_VERDICTS.get(match["verdict"], match["verdict"])
    if verdict not in VERDICTS:
        raise Bad(f"unknown verdict {match['verdict']!r}")
    summary = match["summary"]
    protocol, syn, ack = _l4(kind, summary)
    src = _peer(match["src"], match["src_id"])
    dst = _peer(match["dst"], match["dst_id"])
    direction, swap = _direction(kind, match["arrow"], syn, ack)
    if swap:
        src, dst = dst, src
    l7_protocol, method, path, status = _l7(kind, summary)
    return FlowRecord(
        time=_time(match["time"], ctx.year),
        src=src,
        dst=dst,
        protocol=protocol,
        verdict=verdict,
        direction=direction,
        drop_reason=_drop_reason(kind, verdict),
        l7_protocol=l7_protocol,
        l7_method=method,
        l7_path=path,
        l7_status=status,
        reporter=match["node"],
    )


def _time(text: str, year: int) -> dt.datetime:
    try:
        if "T" in text:
            return parse_time(text)
        stamp = dt.datetime.strptime(f"{year} {text}", "%Y %b %d %H:%M:%S.%f")
    except ValueError as err:
        raise Bad(f"bad timestamp {text!r}") from err
    return stamp


def _peer(text: str, identity: str | None) -> Peer:
    host, port = _host_port(text)
    entity = identity if identity and not identity.startswith("ID:") else None
    if "/" in host:
        namespace, _, pod = host.partition("/")
        return Peer(port=port, namespace=namespace or None, pod=pod or None, entity=entity)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return Peer(port=port, entity=entity)
    return Peer(ip=host, port=port, entity=entity)


def _host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, _int_port(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, _int_port(port)
    return text, None


def _int_port(text: str) -> int | None:
    if not text.isdigit() or int(text) > 65535:
        raise Bad(f"bad port {text!r}")
    return int(text) or None


def _l4(kind: str, summary: str) -> tuple[str | None, bool, bool]:
    match = _L4.match(summary)
    if match is None:
        return ("TCP" if kind.startswith(("http-", "kafka-")) else None), False, False
    flags = {flag.strip() for flag in (match["flags"] or "").split(",")}
    return match["proto"], "SYN" in flags, "ACK" in flags


def _direction(kind: str, arrow: str, syn: bool, ack: bool) -> tuple[Direction, bool]:
    """Direction, and whether the printed peers must be swapped to put the client first."""
    if kind.endswith("-response") or kind.startswith(("dns-response", "l7-response")):
        return "reply", False
    if arrow == "->":
        return "request", False
    if arrow == "<-":
        return "reply", False
    if syn:
        return ("reply", True) if ack else ("request", False)
    return "unknown", False


def _l7(kind: str, summary: str) -> tuple[str | None, str | None, str | None, int | None]:
    if kind.startswith("http-"):
        request = _HTTP_REQUEST.match(summary)
        if request:
            return "http", request["method"], split_url(request["url"])[1], None
        response = _HTTP_RESPONSE.match(summary)
        if response:
            path = split_url(response["url"])[1]
            return "http", response["method"], path, int(response["code"])
        return "http", None, None, None
    if kind.startswith("dns-"):
        dns = _DNS_QUERY.match(summary) or _DNS_ANSWER.search(summary)
        if dns:
            return "dns", dns["qtypes"], dns["query"], None
        return "dns", None, None, None
    if kind.startswith("kafka-"):
        return "kafka", None, None, None
    return None, None, None, None


def _drop_reason(kind: str, verdict: str) -> str | None:
    if verdict != "DROPPED" or "-" in kind.split(" ")[0] or kind.startswith("policy-verdict"):
        return None
    return _DROP_TEXT.get(kind) or re.sub(r"[^A-Za-z0-9]+", "_", kind).strip("_").upper()
