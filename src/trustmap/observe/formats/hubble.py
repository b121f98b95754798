"""Hubble flows as JSON lines: ``hubble observe -o json`` (jsonpb) and the flow exporter's file.

Each line is a ``GetFlowsResponse`` envelope ``{"flow": {...}, "node_name", "time"}``; lines
carrying ``node_status``, ``lost_events`` or agent/debug events hold no flow and are skipped
(lost events are counted: the capture is incomplete). A bare ``Flow`` object per line (older
``-o json``) is accepted too. Field meanings follow Cilium's ``flow.proto``; see
``docs/observe.md`` for the mapping. :mod:`trustmap.observe.formats.hubble_sql` does the same
mapping in DuckDB for speed and must stay in step with this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import orjson

from trustmap.observe.formats.base import (
    Bad,
    Lines,
    ParseContext,
    as_dict,
    as_int,
    as_str,
    as_strs,
)
from trustmap.observe.record import Direction, FlowRecord, Peer, parse_time

__all__ = ["DROP_REASONS", "endpoint_peer", "hubble_record", "parse", "split_labels", "split_url"]

_NO_FLOW_KEYS: Final = ("node_status", "lost_events", "agent_event", "debug_event")
_FLOW_KEYS: Final = ("verdict", "IP", "l4", "source", "destination", "Type")
_PORTED: Final = ("TCP", "UDP", "SCTP")
_PORTLESS: Final = ("ICMPv4", "ICMPv6", "VRRP", "IGMP")

DROP_REASONS: Final[dict[int, str]] = {
    130: "INVALID_SOURCE_MAC",
    131: "INVALID_DESTINATION_MAC",
    132: "INVALID_SOURCE_IP",
    133: "POLICY_DENIED",
    134: "INVALID_PACKET_DROPPED",
    135: "CT_TRUNCATED_OR_INVALID_HEADER",
    136: "CT_MISSING_TCP_ACK_FLAG",
    137: "CT_UNKNOWN_L4_PROTOCOL",
    138: "CT_CANNOT_CREATE_ENTRY_FROM_PACKET",
    139: "UNSUPPORTED_L3_PROTOCOL",
    140: "MISSED_TAIL_CALL",
    141: "ERROR_WRITING_TO_PACKET",
    142: "UNKNOWN_L4_PROTOCOL",
    150: "UNKNOWN_L3_TARGET_ADDRESS",
    151: "STALE_OR_UNROUTABLE_IP",
    152: "NO_MATCHING_LOCAL_CONTAINER_FOUND",
    158: "SERVICE_BACKEND_NOT_FOUND",
    165: "NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION",
    171: "INVALID_IDENTITY",
    172: "UNKNOWN_SENDER",
    181: "POLICY_DENY",
    189: "AUTH_REQUIRED",
    195: "UNENCRYPTED_TRAFFIC",
}
"""Numeric (deprecated ``drop_reason``) → name, for the reasons that matter to policy; any
other number is kept as its decimal text. Names from Cilium's DropReason enum."""

_Labels = tuple[tuple[str, ...], str | None, str | None, str | None, str | None]
"""(kept labels, service account, cluster, namespace, entity)."""

_LABEL_CACHE: dict[tuple[str, ...], _Labels] = {}
_LABEL_CACHE_MAX = 65536


def parse(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    """Hubble JSON lines → records; bad lines are reported to ``ctx``."""
    for number, line in lines:
        if not line.strip():
            continue
        try:
            record = hubble_record(orjson.loads(line), ctx)
        except orjson.JSONDecodeError as err:
            ctx.malformed(number, f"invalid JSON: {err}", "each line must be one JSON object")
            continue
        except Bad as err:
            ctx.malformed(number, str(err))
            continue
        if record is None:
            ctx.skip()
        else:
            yield record


def hubble_record(obj: object, ctx: ParseContext) -> FlowRecord | None:
    """One decoded line → a record, or ``None`` when it holds no flow.

    Raises:
        Bad: when the line is not a Hubble response or a field has the wrong type.
    """
    envelope = as_dict(obj, "line") if obj is not None else None
    if envelope is None:
        raise Bad("expected a JSON object, got null")
    flow = envelope.get("flow")
    if flow is None:
        lost = envelope.get("lost_events")
        if lost is not None:
            counts = as_dict(lost, "lost_events")
            ctx.lost_events += as_int(counts.get("num_events_lost"), "num_events_lost") or 0
            return None
        if any(key in envelope for key in _NO_FLOW_KEYS):
            return None
        if not any(key in envelope for key in _FLOW_KEYS):
            raise Bad(
                "not a Hubble flow: expected a 'flow' key "
                "(or 'node_status' / 'lost_events'), as written by 'hubble observe -o json'"
            )
        flow = envelope
    return _flow(as_dict(flow, "flow"), envelope)


def _flow(flow: dict[str, object], envelope: dict[str, object]) -> FlowRecord:
    stamp = as_str(flow.get("time"), "flow.time") or as_str(envelope.get("time"), "time")
    if stamp is None:
        raise Bad("flow has no 'time'")
    try:
        time = parse_time(stamp)
    except ValueError as err:
        raise Bad(f"'flow.time' is not an RFC 3339 timestamp: {stamp!r}") from err
    protocol, sport, dport, syn, ack = _l4(as_dict(flow.get("l4"), "flow.l4"))
    ip = as_dict(flow.get("IP"), "flow.IP")
    src = _peer(as_dict(flow.get("source"), "flow.source"), ip.get("source"), sport, "source")
    dst = _peer(
        as_dict(flow.get("destination"), "flow.destination"),
        ip.get("destination"),
        dport,
        "destination",
    )
    l7 = as_dict(flow.get("l7"), "flow.l7")
    direction = _direction(flow, as_str(l7.get("type"), "flow.l7.type"), syn, ack)
    names, service = "destination_names", "destination_service"
    if direction == "reply":
        src, dst = dst, src
        names, service = "source_names", "source_service"
    svc = as_dict(flow.get(service), f"flow.{service}")
    l7_protocol, method, path, status = _l7(l7)
    return FlowRecord(
        time=time,
        src=src,
        dst=dst,
        protocol=protocol,
        verdict=_verdict(flow.get("verdict")),
        direction=direction,
        drop_reason=_drop_reason(flow),
        l7_protocol=l7_protocol,
        l7_method=method,
        l7_path=path,
        l7_status=status,
        dst_names=tuple(as_strs(flow.get(names), f"flow.{names}")),
        dst_service_namespace=as_str(svc.get("namespace"), f"flow.{service}.namespace"),
        dst_service_name=as_str(svc.get("name"), f"flow.{service}.name"),
        reporter=as_str(flow.get("node_name"), "flow.node_name")
        or as_str(envelope.get("node_name"), "node_name"),
        count=_count(flow),
    )


def _l4(l4: dict[str, object]) -> tuple[str | None, int | None, int | None, bool, bool]:
    for name in _PORTED:
        if l4.get(name) is not None:
            ports = as_dict(l4[name], f"flow.l4.{name}")
            flags = as_dict(ports.get("flags"), f"flow.l4.{name}.flags")
            return (
                name,
                _port(ports.get("source_port"), f"flow.l4.{name}.source_port"),
                _port(ports.get("destination_port"), f"flow.l4.{name}.destination_port"),
                flags.get("SYN") is True,
                flags.get("ACK") is True,
            )
    for name in _PORTLESS:
        if l4.get(name) is not None:
            return name, None, None, False, False
    return None, None, None, False, False


def _port(value: object, where: str) -> int | None:
    port = as_int(value, where)
    if port is not None and not 0 <= port <= 65535:
        raise Bad(f"'{where}' must be a port number 0-65535, got {port}")
    return port or None


def _status(value: object, where: str) -> int | None:
    status = as_int(value, where)
    if status is not None and not -(2**31) <= status < 2**31:
        raise Bad(f"'{where}' must be a 32-bit status code, got {status}")
    return status


def _peer(ep: dict[str, object], ip: object, port: int | None, where: str) -> Peer:
    labels, account, cluster, namespace, entity = split_labels(
        as_strs(ep.get("labels"), f"flow.{where}.labels")
    )
    workload, kind = _workload(ep.get("workloads"), where)
    return Peer(
        ip=as_str(ip, f"flow.IP.{where}"),
        port=port,
        cluster=as_str(ep.get("cluster_name"), f"flow.{where}.cluster_name") or cluster,
        namespace=as_str(ep.get("namespace"), f"flow.{where}.namespace") or namespace,
        pod=as_str(ep.get("pod_name"), f"flow.{where}.pod_name"),
        workload=workload,
        workload_kind=kind,
        service_account=account,
        labels=labels,
        entity=entity,
    )


def endpoint_peer(ep: dict[str, object], where: str) -> Peer:
    """A ``source``/``destination`` object as a peer without address and port.

    Raises:
        Bad: when a field has the wrong type.
    """
    return _peer(ep, None, None, where)


def _workload(value: object, where: str) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, list):
        raise Bad(f"'flow.{where}.workloads' must be a list")
    if not value:
        return None, None
    first = as_dict(value[0], f"flow.{where}.workloads[0]")
    return (
        as_str(first.get("name"), f"flow.{where}.workloads[0].name"),
        as_str(first.get("kind"), f"flow.{where}.workloads[0].kind"),
    )


def split_labels(labels: list[str]) -> _Labels:
    """Cilium labels → (pod labels, service account, cluster, namespace, reserved entity).

    ``k8s:`` labels lose their prefix; Cilium's own ``io.cilium.k8s.*`` and
    ``io.kubernetes.pod.namespace`` labels become columns; ``reserved:`` labels become the
    entity; other sources (``cidr:``, ``fqdn:``...) are dropped.
    """
    key = tuple(labels)
    cached = _LABEL_CACHE.get(key)
    if cached is not None:
        return cached
    kept: list[str] = []
    reserved: list[str] = []
    meta: dict[str, str] = {}
    for label in labels:
        if label.startswith("reserved:"):
            reserved.append(label[9:])
            continue
        body = label[4:] if label.startswith("k8s:") else label
        if ":" in body.split("=", 1)[0]:
            continue
        if body.startswith(("io.cilium.k8s.", "io.kubernetes.pod.namespace=")):
            name, _, value = body.partition("=")
            meta[name] = value
            continue
        kept.append(body)
    result: _Labels = (
        tuple(sorted(kept)),
        meta.get("io.cilium.k8s.policy.serviceaccount") or None,
        meta.get("io.cilium.k8s.policy.cluster") or None,
        meta.get("io.kubernetes.pod.namespace") or None,
        ",".join(sorted(reserved)) or None,
    )
    if len(_LABEL_CACHE) >= _LABEL_CACHE_MAX:
        _LABEL_CACHE.clear()
    _LABEL_CACHE[key] = result
    return result


def _direction(flow: dict[str, object], l7_type: str | None, syn: bool, ack: bool) -> Direction:
    if l7_type == "RESPONSE":
        return "reply"
    if l7_type == "REQUEST":
        return "request"
    is_reply = flow.get("is_reply")
    if is_reply is None and flow.get("reply") is True:
        is_reply = True
    if isinstance(is_reply, bool):
        return "reply" if is_reply else "request"
    if syn:
        return "reply" if ack else "request"
    return "unknown"


def _l7(l7: dict[str, object]) -> tuple[str | None, str | None, str | None, int | None]:
    if (http := l7.get("http")) is not None:
        record = as_dict(http, "flow.l7.http")
        url = as_str(record.get("url"), "flow.l7.http.url")
        return (
            "http",
            as_str(record.get("method"), "flow.l7.http.method"),
            split_url(url)[1] if url else None,
            _status(record.get("code"), "flow.l7.http.code") or None,
        )
    if (dns := l7.get("dns")) is not None:
        record = as_dict(dns, "flow.l7.dns")
        qtypes = as_strs(record.get("qtypes"), "flow.l7.dns.qtypes")
        return (
            "dns",
            ",".join(qtypes) or None,
            as_str(record.get("query"), "flow.l7.dns.query"),
            _status(record.get("rcode"), "flow.l7.dns.rcode"),
        )
    if (kafka := l7.get("kafka")) is not None:
        record = as_dict(kafka, "flow.l7.kafka")
        return (
            "kafka",
            as_str(record.get("api_key"), "flow.l7.kafka.api_key"),
            as_str(record.get("topic"), "flow.l7.kafka.topic"),
            _status(record.get("error_code"), "flow.l7.kafka.error_code"),
        )
    return None, None, None, None


def split_url(url: str) -> tuple[str | None, str]:
    """``http://host:port/path?q`` → (``host:port``, ``/path``); a bare ``/path?q`` has no host."""
    host: str | None = None
    scheme, sep, rest = url.partition("://")
    if sep and scheme and "/" not in scheme:
        host, slash, tail = rest.partition("/")
        url = slash + tail
    path = url.split("?", 1)[0].split("#", 1)[0]
    return host or None, path or "/"


def _verdict(value: object) -> str | None:
    verdict = as_str(value, "flow.verdict")
    return None if verdict == "VERDICT_UNKNOWN" else verdict


def _drop_reason(flow: dict[str, object]) -> str | None:
    desc = as_str(flow.get("drop_reason_desc"), "flow.drop_reason_desc")
    if desc is not None:
        return None if desc == "DROP_REASON_UNKNOWN" else desc
    number = as_int(flow.get("drop_reason"), "flow.drop_reason")
    if not number:
        return None
    return DROP_REASONS.get(number, str(number))


def _count(flow: dict[str, object]) -> int:
    aggregate = as_dict(flow.get("aggregate"), "flow.aggregate")
    total = sum(
        as_int(aggregate.get(key), f"flow.aggregate.{key}") or 0
        for key in ("ingress_flow_count", "egress_flow_count", "unknown_direction_flow_count")
    )
    return total or 1
