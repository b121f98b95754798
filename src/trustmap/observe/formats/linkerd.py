"""Linkerd's views of traffic: ``linkerd viz tap`` and ``linkerd viz edges``.

The layout is recognised from the first non-blank line:

* ``req|rsp|end id=... proxy=in|out src=IP:PORT dst=IP:PORT tls=...`` — tap text (``-o wide``
  adds ``src_ns=``, ``dst_res=deploy/web``, ``dst_pod=`` ...);
* ``{`` — tap ``-o json``: pretty-printed objects back to back (not JSON lines);
* ``SRC  DST  SRC_NS  DST_NS  SECURED`` — the edges table;
* ``[`` — edges ``-o json``: one array of ``{src, src_namespace, dst, ..., client_id}``.

Tap has no timestamps, and edges no addresses or ports: their records have ``time`` (and for
edges ``ip``/``port``) ``None``. A request is a ``request`` record; a response status or a gRPC
status at end of stream is a ``reply`` record (tap prints the stream's client → server peers on
every event). End events without a gRPC status hold nothing new and are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from itertools import chain
from typing import Final

from trustmap.observe.formats.access import address, names
from trustmap.observe.formats.base import Bad, Lines, ParseContext, as_dict, decode
from trustmap.observe.record import Direction, FlowRecord, Peer

__all__ = ["json_values", "parse"]

_KINDS: Final = {
    "deploy": "Deployment",
    "deployment": "Deployment",
    "sts": "StatefulSet",
    "statefulset": "StatefulSet",
    "ds": "DaemonSet",
    "daemonset": "DaemonSet",
    "rs": "ReplicaSet",
    "replicaset": "ReplicaSet",
    "job": "Job",
    "cronjob": "CronJob",
}
_MAX_OBJECT: Final = 16 * 1024 * 1024
_DECODER: Final = json.JSONDecoder()
_SEPARATORS: Final = " \t\r\n[,]"


def parse(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    """Linkerd tap or edges output (any of the four layouts) → records."""
    stream = iter(lines)
    for number, raw in stream:
        try:
            first = decode(raw).strip()
        except Bad as err:
            ctx.malformed(number, str(err))
            continue
        if not first:
            continue
        rest = chain([(number, raw)], stream)
        if first.startswith(("{", "[")):
            yield from _json_records(rest, ctx)
        elif first.split()[:2] == ["SRC", "DST"]:
            yield from _edges_table(rest, ctx)
        else:
            yield from _tap_text(rest, ctx)
        return


# tap text ---------------------------------------------------------------------------------


def _tap_text(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    for number, raw in lines:
        try:
            text = decode(raw).strip()
            if not text:
                continue
            record = _tap_line(text)
        except Bad as err:
            ctx.malformed(number, str(err), "expected 'linkerd viz tap' output")
            continue
        if record is None:
            ctx.skip()
        else:
            yield record


def _tap_line(text: str) -> FlowRecord | None:
    event, *pairs = text.split(" ")
    if event not in ("req", "rsp", "end"):
        raise Bad(f"a tap line starts with req, rsp or end, not {event!r}")
    fields = dict(pair.partition("=")[::2] for pair in pairs if "=" in pair)
    if "src" not in fields or "dst" not in fields:
        raise Bad("tap line without src= and dst=")
    src = _tap_peer(fields, "src")
    dst = _tap_peer(fields, "dst")
    tls = fields.get("tls")
    mtls = None if not tls else tls == "true"
    if event == "req":
        return _tap_record(src, dst, "request", "http", fields.get(":method"),
                           fields.get(":path"), None, fields.get(":authority"), mtls)  # fmt: skip
    if event == "rsp":
        status = _number(fields.get(":status"), ":status")
        return _tap_record(src, dst, "reply", "http", None, None, status, None, mtls)
    grpc = fields.get("grpc-status")
    if not grpc:
        return None
    code = _number(grpc.removeprefix("Code(").removesuffix(")"), "grpc-status")
    return _tap_record(src, dst, "reply", "grpc", None, None, code, None, mtls)


def _tap_peer(fields: dict[str, str], side: str) -> Peer:
    ip, port = address(fields[side], f"{side} address")
    workload, kind = None, None
    resource = fields.get(f"{side}_res")
    if resource and "/" in resource:
        short, _, workload = resource.partition("/")
        kind = _KINDS.get(short.lower())
        if short.lower() in ("po", "pod"):
            fields.setdefault(f"{side}_pod", workload)
            workload = None
    return Peer(
        ip=ip,
        port=port or None,
        namespace=fields.get(f"{side}_ns") or fields.get(f"{side}_namespace") or None,
        pod=fields.get(f"{side}_pod") or None,
        workload=workload or None,
        workload_kind=kind,
        service_account=fields.get(f"{side}_serviceaccount") or None,
    )


def _tap_record(
    src: Peer,
    dst: Peer,
    direction: Direction,
    l7_protocol: str,
    method: str | None,
    path: str | None,
    status: int | None,
    authority: str | None,
    mtls: bool | None,
) -> FlowRecord:
    return FlowRecord(
        time=None,
        src=src,
        dst=dst,
        protocol="TCP",
        verdict="FORWARDED",
        direction=direction,
        l7_protocol=l7_protocol,
        l7_method=method or None,
        l7_path=path.split("?", 1)[0] if path else None,
        l7_status=status,
        dst_names=names(authority),
        mtls=mtls,
    )


def _number(text: object, what: str) -> int | None:
    if text is None or text == "":
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if isinstance(text, str) and text.isdigit():
        return int(text)
    raise Bad(f"'{what}' must be a number, got {text!r}")


# JSON (tap objects, edges array) ----------------------------------------------------------


def json_values(lines: Lines) -> Iterator[tuple[int, object]]:
    """Concatenated (pretty-printed) JSON values, or the elements of one top-level array,
    each with the line it starts on; a value that cannot be decoded comes out as :class:`Bad`.
    """
    buffer, start = "", 0
    for number, raw in lines:
        try:
            text = decode(raw)
        except Bad as err:
            yield number, err
            continue
        if not buffer.strip(_SEPARATORS):
            buffer, start = "", number
        buffer += text + "\n"
        if text.rstrip().rstrip(",")[-1:] in ("}", "]") or len(buffer) >= _MAX_OBJECT:
            buffer = yield from _decoded(buffer, start)
    if buffer.strip(_SEPARATORS):
        yield start, Bad("unterminated JSON value at end of file")


def _decoded(buffer: str, start: int) -> Generator[tuple[int, object], None, str]:
    """Yield every complete value at the front of ``buffer``; return what is left."""
    while body := buffer.lstrip(_SEPARATORS):
        try:
            value, end = _DECODER.raw_decode(body)
        except json.JSONDecodeError as err:
            if err.pos >= len(body.rstrip()) and len(buffer) < _MAX_OBJECT:
                return buffer
            yield start, Bad(f"invalid JSON: {err.msg} (line {start + err.lineno - 1})")
            return ""
        yield start, value
        buffer = body[end:]
    return ""


def _json_records(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    for number, value in json_values(lines):
        try:
            if isinstance(value, Bad):
                raise value
            record = _json_record(as_dict(value, "value"))
        except Bad as err:
            ctx.malformed(number, str(err), "expected 'linkerd viz tap -o json' or 'edges -o json'")
            continue
        if record is None:
            ctx.skip()
        else:
            yield record


def _json_record(obj: dict[str, object]) -> FlowRecord | None:
    if "src" in obj and "dst" in obj:
        return _edge({key: value if isinstance(value, str) else "" for key, value in obj.items()})
    src = _json_peer(as_dict(obj.get("source"), "source"), "source")
    dst = _json_peer(as_dict(obj.get("destination"), "destination"), "destination")
    tls = as_dict(as_dict(obj.get("destination"), "destination").get("metadata"), "metadata")
    mtls = None if "tls" not in tls else tls.get("tls") == "true"
    if (request := obj.get("requestInitEvent")) is not None:
        req = as_dict(request, "requestInitEvent")
        return _tap_record(src, dst, "request", "http", _text(req.get("method")),
                           _text(req.get("path")), None, _text(req.get("authority")), mtls)  # fmt: skip
    if (response := obj.get("responseInitEvent")) is not None:
        status = _number(as_dict(response, "responseInitEvent").get("httpStatus"), "httpStatus")
        return _tap_record(src, dst, "reply", "http", None, None, status, None, mtls)
    if (end := obj.get("responseEndEvent")) is not None:
        grpc = as_dict(end, "responseEndEvent").get("grpcStatusCode")
        if grpc is None:
            return None
        code = _number(grpc, "grpcStatusCode")
        return _tap_record(src, dst, "reply", "grpc", None, None, code, None, mtls)
    raise Bad("neither a tap event (requestInitEvent, ...) nor an edge (src, dst)")


def _json_peer(endpoint: dict[str, object], where: str) -> Peer:
    meta = {
        key: value
        for key, value in as_dict(endpoint.get("metadata"), f"{where}.metadata").items()
        if isinstance(value, str) and value
    }
    workload, kind = None, None
    for key, kind_name in (
        ("deployment", "Deployment"),
        ("statefulset", "StatefulSet"),
        ("daemonset", "DaemonSet"),
    ):
        if key in meta:
            workload, kind = meta[key], kind_name
            break
    port = _number(endpoint.get("port"), f"{where}.port")
    return Peer(
        ip=_text(endpoint.get("ip")),
        port=port or None,
        namespace=meta.get("namespace"),
        pod=meta.get("pod"),
        workload=workload,
        workload_kind=kind,
        service_account=meta.get("serviceaccount"),
    )


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise Bad(f"expected a string, got {value!r}")


# edges ------------------------------------------------------------------------------------


def _edges_table(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    header: list[str] = []
    for number, raw in lines:
        try:
            cells = decode(raw).split()
            if not cells:
                continue
            if not header:
                header = [cell.lower() for cell in cells]
                continue
            if len(cells) < 4:
                raise Bad(f"expected at least SRC DST SRC_NS DST_NS, found {len(cells)} columns")
            row = dict(zip(header, cells, strict=False))
            yield _edge({
                "src": row.get("src", ""), "dst": row.get("dst", ""),
                "src_namespace": row.get("src_ns", ""), "dst_namespace": row.get("dst_ns", ""),
                "client_id": row.get("client_id", ""), "server_id": row.get("server_id", ""),
                "secured": row.get("secured", ""),
            })  # fmt: skip
        except Bad as err:
            ctx.malformed(number, str(err), "expected 'linkerd viz edges' output")


def _edge(row: dict[str, str]) -> FlowRecord:
    client, server = row.get("client_id", ""), row.get("server_id", "")
    if "secured" in row:
        mtls: bool | None = row["secured"] == "√"
    elif client or server or row.get("no_tls_reason"):
        mtls = bool(client and server)
    else:
        mtls = None
    if not row.get("src") or not row.get("dst"):
        raise Bad("an edge needs both src and dst")
    return FlowRecord(
        time=None,
        src=Peer(namespace=row.get("src_namespace") or None, workload=row["src"],
                 service_account=client.split(".")[0] or None),
        dst=Peer(namespace=row.get("dst_namespace") or None, workload=row["dst"],
                 service_account=server.split(".")[0] or None),
        protocol="TCP",
        verdict="FORWARDED",
        direction="request",
        mtls=mtls,
    )  # fmt: skip
