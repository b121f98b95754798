"""Draft interfaces of one group: every Service port (target-port aware) and every container
port, keyed by the container port that enforcement names.

A Service port ``80 → targetPort 8080`` becomes interface port 8080 with ``servicePort: 80``; a
named ``targetPort`` is resolved through the group's container ports. The index from Service
ports (and target ports) to interfaces is what reference resolution looks ports up in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from trustmap.diagnostics import Diagnostic, diagnostic
from trustmap.discover.draft import Evidence
from trustmap.discover.grouping import Group
from trustmap.kube import KubeService, KubeServicePort
from trustmap.names import label_name

__all__ = ["InterfaceBuilder", "Interfaces", "build_interfaces"]

_APP_PROTOCOLS: Final = frozenset(
    {"http", "http2", "https", "grpc", "grpc-web", "mongo", "mysql", "redis", "tcp", "tls", "udp"}
)
"""Istio's protocol-selection prefixes of port names (``grpc``, ``http-web``, ``tcp-redis``)."""
_OUTSIDE: Final = frozenset({"LoadBalancer", "NodePort"})


@dataclass(slots=True)
class InterfaceBuilder:
    """An interface being drafted."""

    name: str
    port: int
    protocol: str
    service_port: int | None
    app_protocol: str | None
    evidence: list[Evidence] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    consumers: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Interfaces:
    """A group's interfaces and how clients' ports reach them."""

    by_port: dict[tuple[int, str], InterfaceBuilder] = field(default_factory=dict)
    """``(container port, protocol)`` → interface."""
    by_service_port: dict[tuple[str, int], list[InterfaceBuilder]] = field(default_factory=dict)
    """``(Service name, port dialled)`` → interfaces (one per protocol); target ports too."""

    def for_port(self, service: str, port: int) -> InterfaceBuilder | None:
        """The interface a client reaches dialling ``service:port`` (TCP preferred)."""
        found = self.by_service_port.get((service, port), [])
        return sorted(found, key=lambda i: i.protocol != "TCP")[0] if found else None


def build_interfaces(group: Group) -> tuple[Interfaces, list[Diagnostic]]:
    """Interfaces of ``group``: Service ports first (by Service name), then container ports."""
    result = Interfaces()
    problems: list[Diagnostic] = []
    named = _named_ports(group)
    for service in sorted(group.services, key=lambda s: s.name):
        for port in service.ports:
            target = _target(service, port, named, problems, bool(group.workloads))
            if target is not None:
                _add_service_port(result, service, port, target, named)
    for workload in sorted(group.workloads, key=lambda w: (w.kind, w.name)):
        for cport in workload.app_ports:
            key = (cport.port, cport.protocol)
            if key not in result.by_port:
                iface = _new(result, cport.name or "", cport.port, cport.protocol, None, None)
                iface.evidence.append(
                    Evidence(
                        f"container port {cport.port}/{cport.protocol} of {workload.title} "
                        "(no Service port: reachable pod to pod only)",
                        str(cport.span),
                    )
                )
    return result, problems


def _named_ports(group: Group) -> dict[str, set[int]]:
    """Container port name → the numbers it stands for in the group's workloads."""
    named: dict[str, set[int]] = {}
    for workload in group.workloads:
        for cport in workload.app_ports:
            if cport.name:
                named.setdefault(cport.name, set()).add(cport.port)
    return named


def _target(
    service: KubeService,
    port: KubeServicePort,
    named: dict[str, set[int]],
    problems: list[Diagnostic],
    has_workloads: bool,
) -> int | None:
    target = port.target_port
    if isinstance(target, int):
        return target
    numbers = sorted(named.get(target, set()))
    if numbers:
        return numbers[0]
    whose = "the workloads it selects" if has_workloads else "any workload (it selects none)"
    problems.append(
        diagnostic(
            "TM520",
            port.span,
            f"targetPort '{target}' of {service.title} port {port.port} names no "
            f"container port of {whose}",
            "name the container port in the pod template, or use the port number; "
            "no interface is drafted for this Service port",
        )
    )
    return None


def _add_service_port(
    result: Interfaces,
    service: KubeService,
    port: KubeServicePort,
    target: int,
    named: dict[str, set[int]],
) -> None:
    sp = port
    iface = result.by_port.get((target, sp.protocol))
    if iface is None:
        cname = next((name for name, numbers in named.items() if target in numbers), "")
        app = port.app_protocol or _app_protocol(sp.name or cname)
        dialled = sp.port if sp.port != target else None
        iface = _new(result, sp.name or cname, target, sp.protocol, dialled, app)
    arrow = f"{sp.port} → targetPort {sp.target_port}" + (
        f" ({target})" if isinstance(sp.target_port, str) else ""
    )
    label = f" '{sp.name}'" if sp.name else ""
    iface.evidence.append(Evidence(f"{service.title} port{label} {arrow}", str(port.span)))
    if sp.port not in _dialled(iface):
        iface.review.append(f"also dialled as {service.name}:{sp.port}")
    if service.type in _OUTSIDE:
        iface.review.append(
            f"{service.title} is type {service.type}: port {sp.port} is reachable from outside "
            "the cluster; set exposure: world (or ingress) if that is intended"
        )
    for dialled_port in {sp.port, target}:
        entries = result.by_service_port.setdefault((service.name, dialled_port), [])
        if iface not in entries:
            entries.append(iface)


def _dialled(iface: InterfaceBuilder) -> set[int]:
    return {iface.port} | ({iface.service_port} if iface.service_port else set())


def _new(
    result: Interfaces,
    name: str,
    port: int,
    protocol: str,
    service_port: int | None,
    app: str | None,
) -> InterfaceBuilder:
    fallback = f"{protocol.lower()}-{port}"
    wanted = label_name(name, fallback) if name and not name.isdigit() else fallback
    taken = {i.name for i in result.by_port.values()}
    for candidate in (wanted, f"{wanted}-{port}"[:63], fallback):
        if candidate not in taken:
            wanted = candidate
            break
    iface = InterfaceBuilder(wanted, port, protocol, service_port, app)
    result.by_port[port, protocol] = iface
    return iface


def _app_protocol(name: str) -> str | None:
    lowered = name.lower()
    if lowered == "grpc-web" or lowered.startswith("grpc-web-"):
        return "grpc-web"
    prefix = lowered.split("-", 1)[0]
    return prefix if prefix in _APP_PROTOCOLS else None
