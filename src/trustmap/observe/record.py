"""One observed flow, the same shape whatever tool recorded it.

Every format parser turns its lines into :class:`FlowRecord` values oriented **client → server**:
a reply (an L7 response, a TCP SYN-ACK, any packet Hubble marks ``is_reply``) is swapped back
so that ``src`` is the side that opened the connection, and ``direction`` says what was seen.
Records are plain values; :mod:`trustmap.observe.store` owns how they are kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "DIRECTIONS",
    "VERDICTS",
    "Direction",
    "FlowRecord",
    "Peer",
    "parse_time",
    "split_host_port",
]

Direction = Literal["request", "reply", "unknown"]
"""``request``: seen going client → server; ``reply``: server → client (already swapped back);
``unknown``: the source did not say, the record keeps the orientation it was observed in."""

DIRECTIONS: Final[tuple[Direction, ...]] = ("request", "reply", "unknown")

VERDICTS: Final = (
    "FORWARDED",
    "DROPPED",
    "AUDIT",
    "REDIRECTED",
    "ERROR",
    "TRACED",
    "TRANSLATED",
)
"""Hubble's verdict names, used for every format; ``REDIRECTED`` (sent to the L7 proxy) is not
final, the L7 record of the same connection carries the final verdict."""


@dataclass(frozen=True, slots=True)
class Peer:
    """One end of a flow, with whatever identity the source recorded (``None`` = not recorded)."""

    ip: str | None = None
    """IPv4 or IPv6 address, without brackets."""
    port: int | None = None
    """Transport port; ``None`` for ICMP or when not recorded."""
    cluster: str | None = None
    """Cluster name (multi-cluster meshes)."""
    namespace: str | None = None
    """Kubernetes namespace of the pod."""
    pod: str | None = None
    """Pod name."""
    workload: str | None = None
    """Owning workload name, e.g. a Deployment."""
    workload_kind: str | None = None
    """Owning workload kind: Deployment, StatefulSet, DaemonSet, ..."""
    service_account: str | None = None
    """Kubernetes service account (the mesh identity)."""
    labels: tuple[str, ...] = ()
    """Pod labels as sorted ``key=value`` strings (source prefixes such as ``k8s:`` removed)."""
    entity: str | None = None
    """Non-pod peer kind: ``world``, ``host``, ``remote-node``, ``kube-apiserver``, ... (Cilium
    reserved identities, comma-joined when several)."""


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """One flow observation, oriented client → server."""

    time: dt.datetime | None
    """When it was observed, UTC without tzinfo; ``None`` for sources without time."""
    src: Peer
    """The client (the side that opened the connection, when known)."""
    dst: Peer
    """The server."""
    protocol: str | None
    """TCP, UDP, SCTP, ICMPv4, ICMPv6, ...; ``None`` when not recorded."""
    verdict: str | None
    """One of :data:`VERDICTS`, or ``None`` when the source has no verdict."""
    direction: Direction
    """What was seen; see :data:`Direction`."""
    drop_reason: str | None = None
    """Why it was dropped: a Hubble DropReason name or the proxy's denial detail."""
    l7_protocol: str | None = None
    """http, grpc, dns or kafka."""
    l7_method: str | None = None
    """HTTP method, DNS query types (comma-joined) or Kafka API key."""
    l7_path: str | None = None
    """HTTP path without query string, gRPC ``/pkg.Service/Method``, DNS query name, Kafka topic."""
    l7_status: int | None = None
    """HTTP status, gRPC status code, DNS rcode or Kafka error code."""
    dst_names: tuple[str, ...] = ()
    """DNS names the destination is known by (Hubble destination_names, HTTP authority)."""
    dst_service_namespace: str | None = None
    """Namespace of the Kubernetes Service the client addressed."""
    dst_service_name: str | None = None
    """Name of that Service."""
    dst_service_port: int | None = None
    """Service port the client dialled (``dst.port`` is the target/container port)."""
    mtls: bool | None = None
    """Whether the connection was mutually authenticated, when the source says."""
    reporter: str | None = None
    """Who wrote the record: a node name (Hubble) or ``namespace/pod`` of the proxy."""
    count: int = 1
    """How many raw observations this record stands for (Hubble aggregation counters)."""


def parse_time(text: str) -> dt.datetime:
    """RFC 3339 / ISO 8601 text → naive UTC datetime, nanoseconds truncated to microseconds.

    Raises:
        ValueError: when ``text`` is not such a timestamp.
    """
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def split_host_port(text: str) -> tuple[str, int | None]:
    """``10.0.0.1:80`` / ``[ff01::1]:80`` / ``tcp://10.0.0.1:80`` / ``10.0.0.1`` → (host, port).

    Raises:
        ValueError: when the port is not a number in 0-65535.
    """
    if "://" in text:
        text = text.split("://", 1)[1]
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, _port(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, _port(port)
    return text, None


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")
    return port
