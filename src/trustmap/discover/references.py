"""Finding the names of other services in configuration text, and reading them as Kubernetes
DNS names.

A value names another service when it holds a URL (``http://user-db:27017/x``), a ``host:port``
pair (``cartservice:7070``), an in-cluster DNS name (``zipkin.jaeger.svc.cluster.local``), or —
only under a variable whose name says it holds an address (``*_ADDR``, ``*_HOST``, ``*_URL``, …)
— a bare host name, whose port may come from the matching ``*_PORT`` variable. Nothing here knows
which Services exist: :mod:`trustmap.discover.frommanifests` resolves the hosts, and keeps the
ones that match nothing as unresolved.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "SCHEME_PORTS",
    "Reference",
    "expand",
    "is_ip",
    "redact",
    "references_in",
    "service_names",
]

_ADDRESS_SUFFIXES: Final = (
    "_ADDR",
    "_ADDRESS",
    "_HOST",
    "_HOSTNAME",
    "_URL",
    "_URI",
    "_ENDPOINT",
    "_SERVER",
)
_LOCAL: Final = frozenset({"localhost", "0.0.0.0", "127.0.0.1", "::", "::1", "[::]", "[::1]"})
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*"
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:[^\s/@'\"]*@)?(?P<hosts>[^\s/?#'\";]+)(?P<rest>[^\s'\";]*)"
)
_HOST_PORT = re.compile(rf"(?<![\w./:$-])(?P<host>{_HOST}):(?P<port>\d{{1,5}})(?![\w:])")
_IP_PORT = re.compile(r"(?<![\w.:/-])(?P<host>\d{1,3}(?:\.\d{1,3}){3}):(?P<port>\d{1,5})(?![\w:.])")
_CLUSTER_NAME = re.compile(rf"(?<![\w.@/:-])(?P<host>{_HOST}\.svc(?:\.{_HOST})?)(?![\w-])")
_BARE_HOST = re.compile(rf"^{_HOST}$")
_USERINFO = re.compile(r"(?<=://)[^\s/@'\"]+@")
_VARIABLE = re.compile(r"\$\((\w+)\)|\$\{(\w+)\}")

SCHEME_PORTS: Final = {
    "http": 80,
    "ws": 80,
    "https": 443,
    "wss": 443,
    "grpc": 80,
    "mongodb": 27017,
    "redis": 6379,
    "mysql": 3306,
    "postgres": 5432,
    "postgresql": 5432,
    "amqp": 5672,
    "nats": 4222,
}
"""The port a URL of this scheme dials when it names none."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A place a value names another host."""

    text: str
    """The matched text, e.g. ``cartservice:7070`` or ``http://user-db:27017/x``."""
    host: str
    port: int | None
    scheme: str | None = None


def expand(value: str, env: Mapping[str, str]) -> str:
    """Substitute ``$(NAME)`` (Kubernetes) and ``${NAME}`` (shell) with the container's literal
    environment values; unknown names stay as they are."""

    def sub(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        return env.get(name, match[0])

    return _VARIABLE.sub(sub, value)


def references_in(
    value: str, *, name: str | None = None, env: Mapping[str, str] | None = None
) -> list[Reference]:
    """Every host ``value`` names, in the order written; local addresses are left out.

    Args:
        value: the text (an env value, an argument, a ConfigMap value).
        name: the variable's name, when it is one: address-like names allow a bare host.
        env: the other variables of the container, for a bare ``X_HOST``'s ``X_PORT``.
    """
    found: list[tuple[int, Reference]] = []
    rest = value
    for match in _URL.finditer(value):
        for host, port in _hosts(match["hosts"]):
            text = redact(match[0])
            found.append((match.start(), Reference(text, host, port, match["scheme"].lower())))
        rest = rest[: match.start()] + " " * len(match[0]) + rest[match.end() :]
    for pattern in (_HOST_PORT, _IP_PORT):
        for match in pattern.finditer(rest):
            port = int(match["port"])
            if (pattern is _IP_PORT or _has_letter(match["host"])) and 0 < port < 65536:
                found.append((match.start(), Reference(match[0], match["host"], port)))
                rest = rest[: match.start()] + " " * len(match[0]) + rest[match.end() :]
    for match in _CLUSTER_NAME.finditer(rest):
        found.append((match.start(), Reference(match[0], match["host"], None)))
    if not found and name is not None and _address_like(name):
        bare = _bare(value.strip(), name, env or {})
        if bare is not None:
            found.append((0, bare))
    ordered = [ref for _, ref in sorted(found, key=lambda f: f[0])]
    return [ref for ref in ordered if not _local(ref.host)]


def redact(text: str) -> str:
    """``text`` with the user and password of any URL replaced by ``***`` (evidence is kept
    in git; configuration values may hold credentials)."""
    return _USERINFO.sub("***@", text)


def service_names(host: str, namespace: str) -> list[tuple[str, str]]:
    """``(namespace, service)`` pairs a host may name inside a cluster, most likely first;
    empty when it cannot be an in-cluster name.

    ``name`` is in the caller's namespace; ``name.ns``, ``name.ns.svc`` and
    ``name.ns.svc.<domain>`` are in ``ns``; ``pod.name.ns.svc.<domain>`` is a pod of the
    headless Service ``name``, as is ``pod.name`` (through the caller's DNS search path).
    """
    labels = host.lower().rstrip(".").split(".")
    if "svc" in labels:
        at = labels.index("svc")
        return [(labels[at - 1], labels[at - 2])] if at >= 2 else []
    if len(labels) == 1:
        return [(namespace, labels[0])]
    if len(labels) == 2:
        return [(labels[1], labels[0]), (namespace, labels[1])]
    return []


def is_ip(host: str) -> bool:
    """True for an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _hosts(text: str) -> Iterator[tuple[str, int | None]]:
    """``host[:port]`` entries of a URL authority (``a:1,b:2`` for MongoDB replica sets)."""
    for part in text.split(","):
        if part.startswith("["):
            host, _, tail = part[1:].partition("]")
            port_text = tail.removeprefix(":")
        else:
            host, _, port_text = part.partition(":")
        if not host:
            continue
        port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else None
        yield host, port


def _local(host: str) -> bool:
    lowered = host.lower()
    return lowered in _LOCAL or lowered.startswith("127.")


def _bare(value: str, name: str, env: Mapping[str, str]) -> Reference | None:
    if not _BARE_HOST.match(value) or not (_has_letter(value) or is_ip(value)):
        return None
    stem = name.upper()
    for suffix in _ADDRESS_SUFFIXES:
        if stem.endswith(suffix):
            stem = name[: -len(suffix)]
            break
    port_text = env.get(f"{stem}_PORT", "")
    port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else None
    return Reference(value, value, port)


def _address_like(name: str) -> bool:
    return name.upper().endswith(_ADDRESS_SUFFIXES)


def _has_letter(text: str) -> bool:
    return any(c.isalpha() for c in text)
