"""Small echo servers behind the lab's proxies: one HTTP/1.1 server, one gRPC server.

Each answers every request it receives with success, so whatever the client sees besides success
was decided by the proxy in front. The HTTP server accepts any method name (``PURGE`` included);
the gRPC server accepts any ``/package.Service/Method`` and returns an empty message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["EchoServers"]


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str) -> Callable[[], None]:
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = f"{self.command} {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _QuietServer(ThreadingHTTPServer):
    """A peer that resets its connection (Envoy dropping an idle upstream connection) is no
    error worth a traceback on the lab's terminal."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None


class EchoServers:
    """Both echo servers on 127.0.0.1, on ports the kernel picks; a context manager."""

    def __init__(self) -> None:
        self.http_port = 0
        self.grpc_port = 0
        self._http: ThreadingHTTPServer | None = None
        self._grpc: Any = None

    def __enter__(self) -> EchoServers:
        self._http = _QuietServer(("127.0.0.1", 0), _Echo)
        self._http.daemon_threads = True
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self._grpc, self.grpc_port = _grpc_server()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=None)


def _grpc_server() -> tuple[Any, int]:
    import grpc

    class AnyMethod(grpc.GenericRpcHandler):  # type: ignore[misc]
        def service(self, details: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(lambda request, context: b"")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[AnyMethod()])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port
