"""Helpers shared by the Envoy and Istio access log parsers: tokens, HTTP fields, addresses."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Final

from trustmap.observe.formats.base import Bad
from trustmap.observe.record import parse_time, split_host_port

__all__ = ["address", "as_int", "http_fields", "is_ip", "names", "start_time", "tokens"]

_TOKEN: Final = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')


def tokens(text: str) -> list[str | None]:
    """Split a text access log line into fields; ``[...]`` and ``"..."`` lose their delimiters,
    the request line ``"GET /p HTTP/1.1"`` stays one field, ``-`` becomes ``None``.

    Raises:
        Bad: when the line does not start with ``[START_TIME]``.
    """
    if not text.startswith("["):
        raise Bad("an access log line starts with '[START_TIME]'")
    values: list[str | None] = []
    for token in _TOKEN.findall(text):
        if token[0] in '["' and len(token) >= 2:
            token = token[1:-1]
        values.append(None if token in ("-", "") else token)
    return values


def http_fields(
    values: dict[str, str | None],
) -> tuple[str | None, str | None, str | None, int | None]:
    """(l7 protocol, method, path, status) from a ``request`` field or method/path/protocol.

    TCP-proxied lines (protocol ``-``) have no L7 part.

    Raises:
        Bad: when the request field or the response code is malformed.
    """
    method, path, protocol = values.get("method"), values.get("path"), values.get("protocol")
    if "request" in values:
        parts = (values["request"] or "- - -").split(" ")
        if len(parts) != 3:
            raise Bad(f"request field must be 'METHOD PATH PROTOCOL', got {values['request']!r}")
        method, path, protocol = (None if p == "-" else p for p in parts)
    status = as_int(values.get("response_code"), "response code")
    if not protocol or not protocol.upper().startswith("HTTP"):
        return None, None, None, None
    path = path.split("?", 1)[0] if path else None
    return "http", method, path, status or None


def start_time(text: str | None) -> dt.datetime:
    """The ``START_TIME`` field as naive UTC.

    Raises:
        Bad: when missing or not ISO 8601.
    """
    if not text:
        raise Bad("missing start time")
    try:
        return parse_time(text)
    except ValueError as err:
        raise Bad(f"bad start time {text!r}") from err


def address(text: str | None, what: str) -> tuple[str | None, int | None]:
    """``ip:port`` (or ``tcp://ip:port``) → (ip, port); ``None`` → (None, None).

    Raises:
        Bad: when the port is not a number.
    """
    if not text:
        return None, None
    try:
        return split_host_port(text)
    except ValueError as err:
        raise Bad(f"bad {what} {text!r}: {err}") from err


def as_int(value: object, what: str) -> int | None:
    """A number given as JSON number or digits; ``None`` for null/``-``.

    Raises:
        Bad: for anything else.
    """
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if value == "-":
        return None
    raise Bad(f"bad {what} {value!r}")


def names(authority: str | None) -> tuple[str, ...]:
    """The host of an HTTP authority as a destination name, unless it is an IP literal."""
    if not authority:
        return ()
    host = authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
    return () if is_ip(host) else (host,)


def is_ip(text: str) -> bool:
    """Whether ``text`` is an IPv4/IPv6 literal (brackets allowed)."""
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True
