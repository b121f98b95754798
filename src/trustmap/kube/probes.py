"""Container probes: what the kubelet connects to (or runs) to check a container.

Enforcement must never cut the kubelet's probes off, so compilers and verifiers need each probe's
port as a number. A named port is resolved the way the kubelet resolves it
(``pkg/kubelet/prober/prober.go``, ``extractPort``/``findPortByName`` in kubernetes/kubernetes):
the first ``ports`` entry of the same container with that name; failing that, a name made of
digits is read as a number; anything else cannot be probed and is reported (TM621).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from trustmap.diagnostics import Span
from trustmap.kube.fields import Here, Place

if TYPE_CHECKING:
    from trustmap.kube.workloads import KubeContainerPort

__all__ = ["PROBE_KINDS", "KubeProbe", "ProbeAction", "ProbeKind", "read_probes"]

ProbeKind = Literal["liveness", "readiness", "startup"]
ProbeAction = Literal["httpGet", "grpc", "tcpSocket", "exec"]
PROBE_KINDS: tuple[ProbeKind, ...] = ("liveness", "readiness", "startup")
_ACTIONS: tuple[ProbeAction, ...] = ("httpGet", "grpc", "tcpSocket", "exec")


@dataclass(frozen=True, slots=True)
class KubeProbe:
    """One liveness, readiness or startup probe of a container."""

    kind: ProbeKind
    action: ProbeAction
    port: int | None
    """The port probed, named ports resolved; ``None`` for ``exec`` or a port that cannot be
    resolved (reported)."""
    port_name: str | None
    """The port's name as written, when it was written as a name."""
    path: str | None
    """``httpGet`` path (``/`` when omitted); ``None`` for other actions."""
    scheme: Literal["HTTP", "HTTPS"] | None
    """``httpGet`` scheme (``HTTP`` when omitted); ``None`` for other actions."""
    host: str | None
    """``httpGet.host`` or ``tcpSocket.host`` when written (the pod's address otherwise)."""
    grpc_service: str | None
    """``grpc.service`` when written."""
    place: Place = field(compare=False, repr=False)
    """Where the probe (``livenessProbe: ...``) is written."""

    @property
    def span(self) -> Span:
        """Where the probe is written."""
        return self.place.span


def read_probes(
    container: dict[str, Any], here: Here, ports: tuple[KubeContainerPort, ...]
) -> tuple[KubeProbe, ...]:
    """The probes of one container, in liveness, readiness, startup order."""
    found = []
    for kind in PROBE_KINDS:
        raw = container.get(f"{kind}Probe")
        if isinstance(raw, dict):
            probe = _probe(kind, raw, here.at(f"{kind}Probe"), ports)
            if probe is not None:
                found.append(probe)
    return tuple(found)


def _probe(
    kind: ProbeKind, raw: dict[str, Any], here: Here, ports: tuple[KubeContainerPort, ...]
) -> KubeProbe | None:
    actions = [a for a in _ACTIONS if isinstance(raw.get(a), dict)]
    if len(actions) != 1:
        what = "no handler" if not actions else f"{len(actions)} handlers ({', '.join(actions)})"
        here.report(
            "TM620",
            f"{here.where} has {what}",
            "give the probe exactly one of httpGet, grpc, tcpSocket or exec",
        )
        return None
    action = actions[0]
    spec: dict[str, Any] = raw[action]
    there = here.at(action)
    written = spec.get("port")
    port = None if action == "exec" else _port(written, there.at("port"), ports)
    return KubeProbe(
        kind=kind,
        action=action,
        port=port,
        port_name=written if isinstance(written, str) and action != "exec" else None,
        path=_text(spec.get("path")) or "/" if action == "httpGet" else None,
        scheme=("HTTPS" if spec.get("scheme") == "HTTPS" else "HTTP")
        if action == "httpGet"
        else None,
        host=_text(spec.get("host")) if action in ("httpGet", "tcpSocket") else None,
        grpc_service=_text(spec.get("service")) if action == "grpc" else None,
        place=here.place,
    )


def _port(value: Any, here: Here, ports: tuple[KubeContainerPort, ...]) -> int | None:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        named = [p.port for p in ports if p.name == value]
        number = named[0] if named else int(value) if value.isascii() and value.isdigit() else None
        if number is None:
            here.report(
                "TM621",
                f"probe port {value!r} names no port of this container",
                "name one of the container's ports, or write the port number",
            )
            return None
    if number is None or not 1 <= number <= 65535:
        here.report("TM607", f"probe port {value!r} is not a port number", "use 1-65535")
        return None
    return number


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
