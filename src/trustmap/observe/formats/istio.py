"""Istio sidecar (Envoy) access logs: the default TEXT format and the JSON encoding.

Which pod wrote a line is not in the line: pass it as ``reporter`` (``namespace/pod``, the pod
whose ``istio-proxy`` log you read). ``upstream_cluster`` tells the side:

* ``outbound|<svc port>|<subset>|<svc FQDN>`` (or ``PassthroughCluster`` / ``BlackHoleCluster``):
  the **client** sidecar; the reporter is the source, the destination is ``upstream_host`` (the
  chosen pod) or, when none was chosen, ``downstream_local_address`` (the address dialled);
* ``inbound|<target port>||``: the **server** sidecar; the reporter is the destination, the
  source is ``downstream_remote_address`` and the SNI names the Service the client dialled.

The client's ``upstream_local_address`` is the server's ``downstream_remote_address``, so both
lines of one request share a 5-tuple and collapse into one flow when ingested together.
An AuthorizationPolicy denial (``rbac_access_denied_matched_policy[...]`` in the response code
details or, for TCP, the connection termination details), ``UAEX`` (ext-authz / CUSTOM) and
``BlackHoleCluster`` become ``DROPPED`` with that text as the drop reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final, NamedTuple

import orjson

from trustmap.observe.formats.access import address, http_fields, names, start_time, tokens
from trustmap.observe.formats.base import Bad, Lines, ParseContext, decode
from trustmap.observe.record import FlowRecord, Peer

__all__ = ["ISTIO_FIELDS", "access_record", "parse_json", "parse_text"]

ISTIO_FIELDS: Final = (
    "start_time",
    "request",
    "response_code",
    "response_flags",
    "response_code_details",
    "connection_termination_details",
    "upstream_transport_failure_reason",
    "bytes_received",
    "bytes_sent",
    "duration",
    "upstream_service_time",
    "x_forwarded_for",
    "user_agent",
    "request_id",
    "authority",
    "upstream_host",
    "upstream_cluster",
    "upstream_local_address",
    "downstream_local_address",
    "downstream_remote_address",
    "requested_server_name",
    "route_name",
)
"""Fields of Istio's default text format in order, named by Istio's JSON keys."""

_SNI: Final = re.compile(r"^outbound_\.(?P<port>\d+)_\.[^_]*_\.(?P<fqdn>.+)$")
_DENIED: Final = "rbac_access_denied"


def parse_text(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    """Istio default TEXT lines → records; bad lines are reported to ``ctx``."""
    for number, raw in lines:
        try:
            text = decode(raw)
            if not text.strip():
                continue
            values = tokens(text)
            if len(values) != len(ISTIO_FIELDS):
                raise Bad(f"expected {len(ISTIO_FIELDS)} fields, found {len(values)}")
            yield access_record(dict(zip(ISTIO_FIELDS, values, strict=True)), ctx)
        except Bad as err:
            ctx.malformed(number, str(err), "expected Istio's default access log format")


def parse_json(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    """Istio JSON-encoded lines (``accessLogEncoding: JSON``) → records."""
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
            if not isinstance(obj, dict):
                raise Bad("expected a JSON object")
            yield access_record({key: _scalar(key, value) for key, value in obj.items()}, ctx)
        except orjson.JSONDecodeError as err:
            ctx.malformed(number, f"invalid JSON: {err}", "each line must be one JSON object")
        except Bad as err:
            ctx.malformed(number, str(err), "expected Istio's JSON access log keys")


def _scalar(key: str, value: object) -> str | None:
    if value is None or value in ("", "-"):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Bad(f"'{key}' must be a string or a number")


class _Sides(NamedTuple):
    src: Peer
    dst: Peer
    names: tuple[str, ...]
    service: tuple[str | None, str | None, int | None]
    mtls: bool | None


def access_record(values: dict[str, str | None], ctx: ParseContext) -> FlowRecord:
    """One access log entry (fields named by Istio's JSON keys) → a record.

    Raises:
        Bad: when a field that must parse does not.
    """
    if values.get("start_time") is None:
        raise Bad("no 'start_time': not an Istio access log entry")
    l7_protocol, method, path, status = http_fields(values)
    cluster = values.get("upstream_cluster") or ""
    verdict, reason = _verdict(values, cluster)
    namespace, pod = _reporter(ctx.reporter)
    if cluster.startswith("inbound|"):
        sides = _server_side(values, namespace, pod)
    else:
        sides = _client_side(values, cluster, namespace, pod)
    return FlowRecord(
        time=start_time(values.get("start_time")),
        src=sides.src,
        dst=sides.dst,
        protocol="TCP",
        verdict=verdict,
        direction="request",
        drop_reason=reason,
        l7_protocol=l7_protocol,
        l7_method=method,
        l7_path=path,
        l7_status=status,
        dst_names=sides.names,
        dst_service_namespace=sides.service[0],
        dst_service_name=sides.service[1],
        dst_service_port=sides.service[2],
        mtls=sides.mtls,
        reporter=ctx.reporter,
    )


def _server_side(values: dict[str, str | None], namespace: str | None, pod: str | None) -> _Sides:
    src_ip, src_port = address(values.get("downstream_remote_address"), "downstream remote")
    dst_ip, dst_port = address(values.get("downstream_local_address"), "downstream local")
    sni = _SNI.match(values.get("requested_server_name") or "")
    ns, name, hosts = _service(sni["fqdn"]) if sni else (None, None, ())
    return _Sides(
        Peer(ip=src_ip, port=src_port),
        Peer(ip=dst_ip, port=dst_port, namespace=namespace, pod=pod),
        tuple(sorted({*names(values.get("authority")), *hosts})),
        (ns, name, int(sni["port"]) if sni else None),
        True if sni else None,
    )


def _client_side(
    values: dict[str, str | None], cluster: str, namespace: str | None, pod: str | None
) -> _Sides:
    src = values.get("upstream_local_address") or values.get("downstream_remote_address")
    src_ip, src_port = address(src, "source address")
    dst = values.get("upstream_host") or values.get("downstream_local_address")
    dst_ip, dst_port = address(dst, "destination address")
    parts = cluster.split("|")
    outbound = len(parts) == 4 and parts[0] == "outbound"
    ns, name, hosts = _service(parts[3]) if outbound else (None, None, ())
    port = int(parts[1]) if outbound and parts[1].isdigit() else None
    return _Sides(
        Peer(ip=src_ip, port=src_port, namespace=namespace, pod=pod),
        Peer(ip=dst_ip, port=dst_port),
        tuple(sorted({*names(values.get("authority")), *hosts})),
        (ns, name, port),
        None,
    )


def _service(fqdn: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """``name.ns.svc.<domain>`` → (ns, name, ()); any other host → (None, None, (host,))."""
    labels = fqdn.split(".")
    if len(labels) >= 3 and labels[2] == "svc":
        return labels[1], labels[0], ()
    return None, None, (fqdn,) if fqdn else ()


def _verdict(values: dict[str, str | None], cluster: str) -> tuple[str, str | None]:
    for key in ("response_code_details", "connection_termination_details"):
        detail = values.get(key) or ""
        if detail.startswith(_DENIED):
            return "DROPPED", detail
    if "UAEX" in (values.get("response_flags") or "").split(","):
        return "DROPPED", "UAEX"
    if cluster == "BlackHoleCluster":
        return "DROPPED", "BlackHoleCluster"
    return "FORWARDED", None


def _reporter(reporter: str | None) -> tuple[str | None, str | None]:
    if not reporter:
        return None, None
    namespace, _, pod = reporter.partition("/")
    return namespace or None, pod or None
