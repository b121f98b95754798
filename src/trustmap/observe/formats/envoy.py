"""Envoy access logs in Envoy's built-in default text format.

::

    [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
    %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
    "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%"
    "%UPSTREAM_HOST%"

The default format names no workload: the client is the first ``X-Forwarded-For`` address (when
set), the server is ``UPSTREAM_HOST`` and the authority is kept as the destination's name. The
proxy that wrote the log (``--reporter``) is kept as provenance only, since a plain Envoy can be
a front proxy as well as a sidecar. Istio sidecar logs have their own parser (``--format istio``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from trustmap.observe.formats.access import address, http_fields, names, start_time, tokens
from trustmap.observe.formats.base import Bad, Lines, ParseContext, decode
from trustmap.observe.record import FlowRecord, Peer

__all__ = ["ENVOY_FIELDS", "parse"]

ENVOY_FIELDS: Final = (
    "start_time",
    "request",
    "response_code",
    "response_flags",
    "bytes_received",
    "bytes_sent",
    "duration",
    "upstream_service_time",
    "x_forwarded_for",
    "user_agent",
    "request_id",
    "authority",
    "upstream_host",
)
"""Fields of the default format, in order (named like Istio's JSON keys)."""

_ISTIO_FIELD_COUNT: Final = 22


def parse(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    """Envoy default-format lines → records; bad lines are reported to ``ctx``."""
    for number, raw in lines:
        try:
            text = decode(raw)
            if not text.strip():
                continue
            yield _record(_fields(text), ctx)
        except Bad as err:
            ctx.malformed(number, str(err), "expected Envoy's default access log format")


def _fields(text: str) -> dict[str, str | None]:
    values = tokens(text)
    if len(values) == _ISTIO_FIELD_COUNT:
        raise Bad("this is Istio's default access log format: use --format istio")
    if len(values) != len(ENVOY_FIELDS):
        raise Bad(f"expected {len(ENVOY_FIELDS)} fields, found {len(values)}")
    return dict(zip(ENVOY_FIELDS, values, strict=True))


def _record(values: dict[str, str | None], ctx: ParseContext) -> FlowRecord:
    l7_protocol, method, path, status = http_fields(values)
    client = (values["x_forwarded_for"] or "").split(",")[0].strip() or None
    dst_ip, dst_port = address(values["upstream_host"], "upstream host")
    flags = (values["response_flags"] or "").split(",")
    denied = "UAEX" in flags
    return FlowRecord(
        time=start_time(values["start_time"]),
        src=Peer(ip=client),
        dst=Peer(ip=dst_ip, port=dst_port),
        protocol="TCP",
        verdict="DROPPED" if denied else "FORWARDED",
        direction="request",
        drop_reason="UAEX" if denied else None,
        l7_protocol=l7_protocol,
        l7_method=method,
        l7_path=path,
        l7_status=status,
        dst_names=names(values["authority"]),
        reporter=ctx.reporter,
    )
