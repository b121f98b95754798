"""Ports and methods from an API definition: OpenAPI (2 and 3) and gRPC protobuf.

Facts relied on: OpenAPI 3 (spec.openapis.org/oas/v3.1.0, "Server Object", "Paths Object")
lists ``servers[].url`` and ``paths`` whose keys are templates with ``{name}`` parameters and whose
operations are keyed ``get``, ``put``, ``post``, ``delete``, ``options``, ``head``, ``patch``,
``trace``; Swagger 2 (spec.openapis.org/oas/v2.0) says ``host`` (``name[:port]``) and
``schemes``; a URL without a port uses its scheme's (80 for http, 443 for https). Protocol
buffers (protobuf.dev, "Language Guide (proto 3)") declare ``package a.b;`` and
``service S { rpc M (...) returns (...); }``, and gRPC names a method ``/a.b.S/M`` on the wire
(grpc.io, "gRPC over HTTP2": ``:path`` is ``/Service-Name/{method name}`` with the package).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

__all__ = ["Offer", "openapi_offer", "proto_offer"]

_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True, slots=True)
class Offer:
    """What a definition says about an interface."""

    port: int | None
    """The port of its first server, when it names one."""
    methods: tuple[str, ...]
    """``GET /pets/*`` routes or ``pkg.Service/Method`` names, sorted."""
    problem: str | None = None
    """Why nothing could be read, when so."""


def openapi_offer(text: str) -> Offer:
    """Port and routes of an OpenAPI 2 or 3 document (YAML or JSON)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return Offer(None, (), f"definition is not YAML or JSON ({error.__class__.__name__})")
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        return Offer(None, (), "definition has no OpenAPI paths")
    routes = sorted(
        f"{op.upper()} {_route(path)}"
        for path, item in document["paths"].items()
        if isinstance(item, dict)
        for op in item
        if op in _OPERATIONS
    )
    return Offer(_port(document), tuple(routes))


def _route(template: Any) -> str:
    return re.sub(r"\{[^}/]*\}", "*", str(template))


def _port(document: dict[str, Any]) -> int | None:
    servers = document.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        return _url_port(str(servers[0].get("url", "")))
    if "host" in document:
        schemes = document.get("schemes") or ["https"]
        return _url_port(f"{schemes[0]}://{document['host']}")
    return None


def _url_port(url: str) -> int | None:
    parts = urlsplit(url)
    try:
        if parts.port:
            return parts.port
    except ValueError:
        return None
    return {"http": 80, "https": 443}.get(parts.scheme)


_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.M)
_SERVICE = re.compile(r"\bservice\s+(\w+)\s*\{")
_RPC = re.compile(r"\brpc\s+(\w+)\s*\(")


def proto_offer(text: str) -> Offer:
    """The ``pkg.Service/Method`` names of a protobuf file (no port: protos name none)."""
    body = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    package = _PACKAGE.search(body)
    prefix = f"{package.group(1)}." if package else ""
    methods = []
    for service in _SERVICE.finditer(body):
        block = _block(body, service.end())
        methods += [f"{prefix}{service.group(1)}/{rpc}" for rpc in _RPC.findall(block)]
    if not methods:
        return Offer(None, (), "definition declares no gRPC service")
    return Offer(None, tuple(sorted(methods)))


def _block(text: str, start: int) -> str:
    """The text up to the ``}`` closing the block opened just before ``start``."""
    depth = 1
    for at in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[at], 0)
        if depth == 0:
            return text[start:at]
    return text[start:]
