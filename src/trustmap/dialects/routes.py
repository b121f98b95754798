"""Methods as declared (``pkg.Service/Method``, ``GET /api/*``) → what L7 policies match on.

A gRPC method is an HTTP/2 ``POST`` to ``/pkg.Service/Method``; an HTTP route is an optional method
and a path glob where ``*`` matches any run of characters. Each target matches paths differently
(Cilium and Linkerd: regular expressions; Istio: exact, prefix ``a*`` or suffix ``*a``), so the
glob is translated per target here, in one place.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = [
    "HTTP_PROTOCOLS",
    "Route",
    "carries_requests",
    "glob_regex",
    "istio_path",
    "parse_route",
    "speaks_http",
]

HTTP_PROTOCOLS = frozenset({"http", "http2", "https", "grpc", "grpc-web", "h2c"})
"""Application protocols whose requests carry a method and a path."""

_REGEX_SPECIAL = frozenset("\\.^$+?()[]{}|")


@dataclass(frozen=True, slots=True)
class Route:
    """One declared method, as an HTTP request pattern."""

    path: str
    """Path glob; ``*`` matches any run of characters."""
    method: str | None
    """HTTP method (upper case); ``None`` = any method."""
    grpc: bool
    """Whether it was declared as a gRPC method."""

    @property
    def exact(self) -> bool:
        """Whether the path has no wildcard."""
        return "*" not in self.path


@functools.lru_cache(maxsize=65536)
def parse_route(text: str) -> Route:
    """``GET /cart`` → (GET, /cart); ``/static/*`` → (any, /static/*); ``pkg.S/M`` → (POST, /pkg.S/M)."""
    text = text.strip()
    if " " in text:
        method, path = text.split(None, 1)
        return Route(path.strip(), None if method == "*" else method.upper(), grpc=False)
    if text.startswith("/"):
        return Route(text, None, grpc=False)
    return Route("/" + text, "POST", grpc=True)


def speaks_http(app_protocol: str | None) -> bool:
    """Whether L7 rules can apply: HTTP-family protocols, or none declared (methods imply HTTP)."""
    return app_protocol is None or app_protocol.lower() in HTTP_PROTOCOLS


def carries_requests(app_protocol: str | None, has_methods: bool) -> bool:
    """Whether calls to an interface are HTTP requests (a method and a path): its appProtocol is of
    the HTTP family, or it names none and declares methods (docs/format.md: methods imply HTTP)."""
    return speaks_http(app_protocol) and (app_protocol is not None or has_methods)


@functools.lru_cache(maxsize=65536)
def glob_regex(path: str) -> str:
    """The glob as a regular expression matching the whole path (RE2 and POSIX alike)."""
    return "".join(".*" if c == "*" else f"\\{c}" if c in _REGEX_SPECIAL else c for c in path)


def istio_path(path: str) -> tuple[str, bool]:
    """The glob as an Istio path pattern, and whether it is exact (not widened).

    Istio matches a path exactly, by prefix (``/a/*``), by suffix (``*/a``) or any (``*``). A glob
    with a wildcard elsewhere is widened to the prefix before its first ``*``.
    """
    stars = path.count("*")
    if stars == 0 or path == "*":
        return path, True
    if stars == 1 and (path.endswith("*") or path.startswith("*")):
        return path, True
    return path[: path.index("*")] + "*", False
