"""The lab's clients: HTTP/1.1, HTTP/2 and gRPC requests with the request target sent as written.

Ordinary HTTP clients normalise URLs (dot segments, percent-encoding), which would hide exactly
what the lab probes, so requests are written here: HTTP/1.1 as bytes on a socket, HTTP/2 and gRPC
with the ``h2`` protocol library. A sender's identity is its client certificate (Istio) or its
loopback source address (Cilium). A refused connection or a reset is an answer too: the proxy
decided before HTTP.
"""

from __future__ import annotations

import functools
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Answer", "Sender", "send"]

_TIMEOUT = 5.0
_GRPC_EMPTY_MESSAGE = b"\x00\x00\x00\x00\x00"


@dataclass(frozen=True, slots=True)
class Sender:
    """How to connect as one identity."""

    source: str = "127.0.0.1"
    """Loopback address to send from."""
    cert: Path | None = None
    """Client certificate (mTLS); None for plaintext."""
    key: Path | None = None
    """Its key."""
    ca: Path | None = None
    """CA that signed the server's certificate (mTLS)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back."""

    allowed: bool
    """The upstream answered (2xx and, for gRPC, status OK)."""
    detail: str
    """Status line, gRPC status, or the connection error."""


def send(sender: Sender, port: int, wire: str, method: str, path: str) -> Answer:
    """Send one request to 127.0.0.1:``port`` as ``sender`` over ``wire`` (http1, http2, grpc)."""
    try:
        with _connect(sender, port, h2=wire != "http1") as sock:
            if wire == "http1":
                return _http1(sock, method, path)
            return _http2(sock, method, path, grpc=wire == "grpc", tls=sender.cert is not None)
    except (OSError, ssl.SSLError, _H2Closed) as exc:
        return Answer(False, f"connection: {type(exc).__name__}")


class _H2Closed(Exception):
    """The server closed the HTTP/2 connection before answering."""


def _connect(sender: Sender, port: int, *, h2: bool) -> socket.socket:
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.settimeout(_TIMEOUT)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle/delayed-ACK stall
    raw.bind((sender.source, 0))
    raw.connect(("127.0.0.1", port))
    if sender.cert is None:
        return raw
    return _context(sender, h2).wrap_socket(raw, server_hostname="localhost")


@functools.lru_cache(maxsize=1024)
def _context(sender: Sender, h2: bool) -> ssl.SSLContext:
    """One TLS client context per identity and protocol (loading keys costs more than a request)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # the lab's server certificate names SPIFFE IDs, not 127.0.0.1
    context.load_verify_locations(str(sender.ca))
    context.load_cert_chain(str(sender.cert), str(sender.key))
    context.set_alpn_protocols(["h2"] if h2 else ["http/1.1"])
    return context


def _http1(sock: socket.socket, method: str, path: str) -> Answer:
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: lab\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(request.encode("ascii"))
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return Answer(False, "connection closed")
        data += chunk
    status = data.split(b"\r\n", 1)[0].decode("latin-1")
    code = int(status.split()[1]) if len(status.split()) > 1 and status.split()[1].isdigit() else 0
    return Answer(200 <= code < 300, status)


def _http2(sock: socket.socket, method: str, path: str, *, grpc: bool, tls: bool) -> Answer:
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    conn.initiate_connection()
    headers = [
        (b":method", method.encode()),
        (b":path", path.encode()),
        (b":scheme", b"https" if tls else b"http"),
        (b":authority", b"lab"),
    ]
    if grpc:
        headers += [(b"content-type", b"application/grpc"), (b"te", b"trailers")]
    conn.send_headers(1, headers, end_stream=not grpc)
    if grpc:
        conn.send_data(1, _GRPC_EMPTY_MESSAGE, end_stream=True)
    sock.sendall(conn.data_to_send())
    found: dict[bytes, bytes] = {}
    while True:
        data = sock.recv(65536)
        if not data:
            raise _H2Closed
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                found.update(dict(event.headers))
            elif isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                return _h2_answer(found, grpc)
            elif isinstance(event, h2.events.ConnectionTerminated):
                raise _H2Closed
        sock.sendall(conn.data_to_send())


def _h2_answer(headers: dict[bytes, bytes], grpc: bool) -> Answer:
    status = headers.get(b":status", b"0").decode()
    if not grpc:
        return Answer(status.startswith("2"), f"HTTP/2 {status}")
    code = headers.get(b"grpc-status", b"").decode()
    return Answer(status == "200" and code == "0", f"HTTP/2 {status} grpc-status {code or '-'}")
